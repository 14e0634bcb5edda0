package dev.berth.server.wasm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.berth.server.settings.ConfigException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class ModuleRegistryTest {
  @TempDir Path dir;

  private static WasmConfig config(WasmConfig.ModuleEntry... modules) {
    return new WasmConfig(List.of(modules), Duration.ofMinutes(1));
  }

  private static WasmConfig.ModuleEntry entry(String name, Path path, String... exports) {
    return new WasmConfig.ModuleEntry(name, path, List.of(exports));
  }

  @Test
  void load_extractor_servesBytesDigestAndExports() throws IOException {
    Path path = TestModules.extractor();
    ModuleRegistry registry =
        ModuleRegistry.load(config(entry("extractor", path, "alloc", "extract")));

    WasmModule module = registry.find("extractor").orElseThrow();
    byte[] expected = Files.readAllBytes(path);
    ByteBuffer served = module.bytes();
    byte[] bytes = new byte[served.remaining()];
    served.get(bytes);
    assertThat(bytes).isEqualTo(expected);
    assertThat(module.digest()).isEqualTo(ModuleLoader.sha256(expected)).hasSize(64);
    assertThat(module.exports()).contains("memory", "alloc", "extract");
    assertThat(registry.isEmpty()).isFalse();
    assertThat(registry.idleTimeout()).isEqualTo(Duration.ofMinutes(1));
    assertThat(registry.find("other")).isEmpty();
  }

  @Test
  void load_noModules_warnsOnceThatWorkersFindNoneToRun() throws IOException {
    Logger logger = (Logger) LoggerFactory.getLogger(ModuleRegistry.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    try {
      assertThat(ModuleRegistry.load(config()).isEmpty()).isTrue();
      assertThat(logged.list).hasSize(1);
      assertThat(logged.list.get(0).getLevel()).isEqualTo(Level.WARN);
      assertThat(logged.list.get(0).getFormattedMessage())
          .startsWith("no WASM module is configured (wasm.modules): ")
          .contains("until a module is configured");

      logged.list.clear();
      ModuleRegistry.load(config(entry("extractor", TestModules.extractor(), "extract")));
      assertThat(logged.list).filteredOn(e -> e.getLevel() == Level.WARN).isEmpty();
    } finally {
      logger.detachAppender(logged);
    }
  }

  @Test
  void load_missingExport_namesFileAndExport() {
    Path path = TestModules.write(dir, "run.wasm", TestModules.RUN);

    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path, "run", "extract"))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining("wasm.modules['m']")
        .hasMessageContaining(path.toString())
        .hasMessageContaining("does not export 'extract'")
        .hasMessageContaining("it exports: run");
  }

  @Test
  void load_notWasm_namesFile() {
    Path path =
        TestModules.write(dir, "page.wasm", "<html></html>".getBytes(StandardCharsets.UTF_8));

    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining(path.toString())
        .hasMessageContaining("not a valid WebAssembly module");
  }

  @Test
  void load_truncatedModule_namesFile() throws IOException {
    byte[] whole = Files.readAllBytes(TestModules.extractor());
    Path path = TestModules.write(dir, "cut.wasm", java.util.Arrays.copyOf(whole, 200));

    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining(path.toString())
        .hasMessageContaining("not a valid WebAssembly module");
  }

  @Test
  void load_missingFile_saysSo() {
    Path path = dir.resolve("absent.wasm");

    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessage("wasm.modules['m']: " + path + ": no such file");
  }

  @Test
  void load_aDeviceOrADirectory_refusedUnreadAsNotARegularFile() {
    // /dev/zero would be read until the heap ran out; a FIFO would block the reload for good.
    for (Path path : List.of(Path.of("/dev/zero"), dir)) {
      assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path))))
          .isInstanceOf(ModuleLoadException.class)
          .hasMessage(
              "wasm.modules['m']: "
                  + path
                  + ": not a regular file (a directory, device or pipe); name a .wasm file");
    }
  }

  @Test
  void load_aFifo_refusedWithoutOpeningIt() throws Exception {
    Path fifo = dir.resolve("module.wasm");
    Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assertThat(mkfifo.waitFor()).isZero();

    // Opening it would block until a writer came: this returns at once, refused.
    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", fifo))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining("not a regular file");
  }

  @Test
  void load_moduleWithImports_isRefused() {
    Path path = TestModules.write(dir, "imports.wasm", TestModules.IMPORTS);

    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path, "run"))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining("imports env.log");
  }

  @Test
  void load_startFunctionTraps_isRefused() {
    Path path = TestModules.write(dir, "trap.wasm", TestModules.TRAPS_ON_START);

    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path, "run"))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining(path.toString())
        .hasMessageContaining("Chicory cannot instantiate it");
  }

  @Test
  void load_startFunctionLoops_isInterruptedAndRefused() {
    Path path = TestModules.write(dir, "loop.wasm", TestModules.LOOPS_ON_START);
    ModuleLoader loader = new ModuleLoader(Duration.ofMillis(200));

    assertThatThrownBy(() -> loader.load(entry("m", path, "run")))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining("took longer than 200 ms");
  }

  @Test
  void load_hugeInitialMemory_isRefused() {
    Path path = TestModules.write(dir, "huge.wasm", TestModules.HUGE_MEMORY);

    assertThatThrownBy(() -> ModuleRegistry.load(config(entry("m", path, "run"))))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining("5000 initial memory pages");
  }

  @Test
  void load_startFunctionGrowsMemoryPastTheBound_growFailsAndTheModuleIsRefused() {
    Path path = TestModules.write(dir, "grow.wasm", TestModules.GROWS_ON_START);

    // 8 pages allowed: growing from 1 to 9 fails, and this module traps then.
    assertThatThrownBy(
            () -> new ModuleLoader(Duration.ofSeconds(10), 8).load(entry("m", path, "run")))
        .isInstanceOf(ModuleLoadException.class)
        .hasMessageContaining("Chicory cannot instantiate it");
    // 9 pages allowed: it grows and loads.
    assertThat(new ModuleLoader(Duration.ofSeconds(10), 9).load(entry("m", path, "run")).name())
        .isEqualTo("m");
  }

  @Test
  void reload_badModule_keepsLastGoodSetAndNamesFile() {
    Path good = TestModules.extractor();
    Path bad = TestModules.write(dir, "bad.wasm", new byte[] {1, 2, 3});
    ModuleRegistry registry = ModuleRegistry.load(config(entry("extractor", good, "extract")));
    String digest = registry.find("extractor").orElseThrow().digest();

    ModuleRegistry.ReloadResult result =
        registry.reload(
            new WasmConfig(
                List.of(entry("extractor", good), entry("other", bad)), Duration.ofSeconds(5)));

    assertThat(result.applied()).isFalse();
    assertThat(result.errors()).singleElement().asString().contains(bad.toString());
    assertThat(registry.find("extractor").orElseThrow().digest()).isEqualTo(digest);
    assertThat(registry.find("other")).isEmpty();
    assertThat(registry.idleTimeout()).isEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void reload_goodSet_replacesModulesAndIdleTimeout() {
    Path run = TestModules.write(dir, "run.wasm", TestModules.RUN);
    ModuleRegistry registry =
        ModuleRegistry.load(config(entry("extractor", TestModules.extractor())));

    ModuleRegistry.ReloadResult result =
        registry.reload(new WasmConfig(List.of(entry("runner", run, "run")), Duration.ZERO));

    assertThat(result.applied()).isTrue();
    assertThat(result.errors()).isEmpty();
    assertThat(registry.find("extractor")).isEmpty();
    assertThat(registry.find("runner")).isPresent();
    assertThat(registry.idleTimeout()).isZero();
  }

  @Test
  void empty_hasNoModules() {
    ModuleRegistry registry = ModuleRegistry.empty();

    assertThat(registry.isEmpty()).isTrue();
    assertThat(registry.modules()).isEmpty();
    assertThat(registry.idleTimeout()).isEqualTo(WasmConfig.DEFAULT_IDLE_TIMEOUT);
  }

  @Test
  void config_duplicateName_namesKey() {
    Path path = TestModules.extractor();

    assertThatThrownBy(() -> config(entry("x", path), entry("x", path)))
        .isInstanceOf(ConfigException.class)
        .hasMessage("wasm.modules['x']: configured twice");
  }
}
