package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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
}
