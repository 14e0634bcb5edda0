package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The committed {@code src/wasm/*.wasm} are what their {@code .wat} assemble to, with wabt's {@code
 * wat2wasm}: workers run the {@code .wasm}, people read the {@code .wat}.
 *
 * <p>Building the jars needs only Java and Maven, so this is a test, not a build step. Without
 * {@code wat2wasm} it is skipped on a developer's machine, but fails where the tools are promised:
 * under {@code bin/test} (which installs wabt and sets {@code BERTH_REQUIRE_TOOLS=1}) and in CI
 * ({@code CI} set).
 */
class ExtractorWasmTest {
  @TempDir Path tmp;

  private static Path wasmDir() {
    Path repo = Path.of(System.getProperty("berth.repo", "..")).toAbsolutePath().normalize();
    return repo.resolve("src/wasm");
  }

  private static boolean toolsRequired() {
    String required = System.getenv("BERTH_REQUIRE_TOOLS");
    String ci = System.getenv("CI");
    return "1".equals(required) || (ci != null && !ci.isBlank() && !ci.equals("false"));
  }

  private static Path onPath(String name) {
    String path = System.getenv("PATH");
    for (String dir : path == null ? new String[0] : path.split(":")) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, name);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  @Test
  void committedWasm_isWhatItsWatAssemblesTo() throws Exception {
    Path wat2wasm = onPath("wat2wasm");
    if (wat2wasm == null) {
      String why =
          "wat2wasm (Debian package wabt) is not on PATH, so src/wasm/*.wasm cannot be checked"
              + " against their .wat: apt-get install wabt";
      if (toolsRequired()) {
        fail(why + " (BERTH_REQUIRE_TOOLS=1 or CI is set: bin/test and CI promise the tools)");
      }
      Assumptions.abort(why);
    }
    List<Path> sources;
    try (Stream<Path> files = Files.list(wasmDir())) {
      sources = files.filter(f -> f.toString().endsWith(".wat")).sorted().toList();
    }
    assertThat(sources).as("the .wat modules in %s", wasmDir()).isNotEmpty();
    List<String> stale = new ArrayList<>();
    for (Path wat : sources) {
      String name = wat.getFileName().toString().replaceFirst("\\.wat$", "");
      Path committed = wat.resolveSibling(name + ".wasm");
      Path fresh = tmp.resolve(name + ".wasm");
      assemble(wat2wasm, wat, fresh);
      if (!Files.exists(committed)) {
        stale.add("src/wasm/" + name + ".wasm is missing");
      } else if (!java.util.Arrays.equals(
          Files.readAllBytes(committed), Files.readAllBytes(fresh))) {
        stale.add("src/wasm/" + name + ".wasm differs from an assembly of " + name + ".wat");
      }
    }
    assertThat(stale).as("run src/wasm/build.sh and commit the .wasm it writes").isEmpty();
  }

  private static void assemble(Path wat2wasm, Path wat, Path out)
      throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(wat2wasm.toString(), wat.toString(), "-o", out.toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("wat2wasm finished").isTrue();
    assertThat(p.exitValue()).as("wat2wasm %s:\n%s", wat.getFileName(), output).isZero();
  }
}
