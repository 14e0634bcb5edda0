package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scripts in {@code bin/} find the repository also when run through a symlink (operators link
 * {@code bin/berth} into {@code ~/.local/bin}), and the Maven builds they start print no escape
 * sequences before the command's own output.
 */
class BinScriptsTest {
  private static Path bin() {
    Path repo = Path.of(System.getProperty("berth.repo", "..")).toAbsolutePath().normalize();
    return repo.resolve("bin");
  }

  private static List<Path> scripts() throws IOException {
    try (Stream<Path> files = Files.list(bin())) {
      return files.filter(Files::isRegularFile).sorted().toList();
    }
  }

  /** The line of {@code script} that sets {@code root}, the repository's directory. */
  private static String rootLine(Path script) throws IOException {
    return Files.readAllLines(script, StandardCharsets.UTF_8).stream()
        .filter(line -> line.startsWith("root="))
        .findFirst()
        .orElseThrow(() -> new AssertionError(script + " sets no root"));
  }

  @Test
  void everyScript_throughASymlink_findsTheRepositoryItLivesIn(@TempDir Path tmp) throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo/bin"));
    Path elsewhere = Files.createDirectories(tmp.resolve("home/.local/bin"));
    List<Path> scripts = scripts();
    assertThat(scripts).extracting(p -> p.getFileName().toString()).contains("berth", "test");

    for (Path script : scripts) {
      // The script's own line, in a script of the same name in a repository of our own.
      Path probe = repo.resolve(script.getFileName());
      Files.writeString(
          probe,
          "#!/usr/bin/env bash\nset -euo pipefail\n" + rootLine(script) + "\necho \"$root\"\n",
          StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(probe, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path link = Files.createSymbolicLink(elsewhere.resolve(script.getFileName()), probe);

      Process run = new ProcessBuilder(link.toString()).redirectErrorStream(true).start();
      String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(run.waitFor(30, TimeUnit.SECONDS)).isTrue();

      assertThat(out.strip())
          .as(script.toString())
          .isEqualTo(tmp.resolve("repo").toRealPath().toString());
    }
  }

  @Test
  void everyMavenBuild_printsNoColourCodes() throws IOException {
    for (Path script : scripts()) {
      String text = Files.readString(script, StandardCharsets.UTF_8);
      List<String> builds =
          text.lines().filter(line -> line.matches("\\s*(\\(cd .*&& )?mvn .*")).toList();
      if (builds.isEmpty()) {
        continue;
      }
      assertThat(text).as(script.toString()).contains("-Djansi.noreset=true");
      assertThat(builds)
          .as(script.toString())
          .allMatch(line -> line.contains("-Dstyle.color=never"));
    }
  }

  /**
   * {@code bin/berth serve &} and, at once, another {@code bin/berth} command on a fresh clone (as
   * docs/worker.md shows it) start two builds; run together, two Maven reactors over the same
   * {@code target/} directories failed the second half-way. Here Maven and Java are recorders in a
   * repository of our own (the builds take minutes for real): a build that starts while another
   * runs fails, as Maven did, and each builds what {@code -pl ... -am} would.
   */
  @Test
  void twoCommandsAtOnce_onAFreshClone_buildOneAfterTheOther(@TempDir Path tmp) throws Exception {
    Path repo = Files.createDirectories(tmp.resolve("repo"));
    Files.createDirectories(repo.resolve("bin"));
    Files.copy(bin().resolve("berth"), repo.resolve("bin/berth"));
    executable(repo.resolve("bin/berth"));
    Files.writeString(repo.resolve("pom.xml"), "<project/>\n", StandardCharsets.UTF_8);
    for (String module : List.of("proto", "common", "server", "client")) {
      Files.createDirectories(repo.resolve(module + "/src"));
      Files.writeString(repo.resolve(module + "/src/x"), module, StandardCharsets.UTF_8);
    }
    Path tools = Files.createDirectories(tmp.resolve("tools"));
    Path log = tmp.resolve("builds.log");
    // Maven: one reactor at a time (mkdir is atomic), about a second each; -pl client -am
    // packages the server too.
    Files.writeString(
        tools.resolve("mvn"),
        String.join(
            "\n",
            "#!/usr/bin/env bash",
            "mkdir \"$PWD/target-busy\" 2>/dev/null || { echo \"overlap: $*\" >> '"
                + log
                + "'; exit 1; }",
            "echo \"build: $*\" >> '" + log + "'",
            "sleep 1",
            "mkdir -p server/target client/target",
            "touch server/target/berth-server.jar",
            "case \"$*\" in *'-pl client'*) touch client/target/berth-client.jar ;; esac",
            "rmdir \"$PWD/target-busy\"",
            ""),
        StandardCharsets.UTF_8);
    Files.writeString(tools.resolve("java"), "#!/usr/bin/env bash\necho \"java $*\"\n");
    executable(tools.resolve("mvn"));
    executable(tools.resolve("java"));
    String path = tools + ":" + System.getenv("PATH");

    List<Process> runs = new ArrayList<>();
    for (List<String> args : List.of(List.of("serve"), List.of("--version"))) {
      List<String> command = new ArrayList<>(List.of(repo.resolve("bin/berth").toString()));
      command.addAll(args);
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
      builder.environment().put("PATH", path);
      runs.add(builder.start());
    }
    for (Process run : runs) {
      String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(run.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(run.exitValue()).as(out).isZero();
      assertThat(out).contains("java ");
    }

    List<String> builds = Files.readAllLines(log, StandardCharsets.UTF_8);
    assertThat(builds).noneMatch(line -> line.startsWith("overlap"));
    assertThat(builds).anyMatch(line -> line.contains("-pl client"));
  }

  private static void executable(Path file) throws IOException {
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
