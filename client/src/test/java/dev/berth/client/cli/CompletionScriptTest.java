package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The bash completion shipped in {@code src/dist/berth-completion.bash} is what picocli generates
 * from the {@code berth} command line as it is now, so it never goes stale: a new command or option
 * fails this test until the file is regenerated.
 */
class CompletionScriptTest {
  private static final String REGENERATE =
      "src/dist/berth-completion.bash is stale; regenerate it with:"
          + " bin/berth generate-completion > src/dist/berth-completion.bash";

  private static Path script() {
    Path repo = Path.of(System.getProperty("berth.repo", "..")).toAbsolutePath().normalize();
    return repo.resolve("src/dist/berth-completion.bash");
  }

  private static String generated() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream sink = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    int code =
        Main.run(
            List.of("generate-completion"),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            sink,
            Map.of(),
            Clock.systemUTC());
    assertThat(code).isZero();
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void committedScript_isWhatPicocliGeneratesNow() throws Exception {
    String generated = generated();

    assertThat(generated)
        .contains("status", "sessions", "limits", "worker", "--token-file", "--tls-ca")
        .contains("\"render\" \"pdf\" \"wasm\"")
        .doesNotContain("generate-completion", "--token ");
    assertThat(Files.readString(script(), StandardCharsets.UTF_8))
        .as(REGENERATE)
        .isEqualTo(generated);
  }

  @Test
  void committedScript_registersCompletionForBerthInBash() throws Exception {
    Process bash =
        new ProcessBuilder(
                "bash", "-c", "source \"$1\" && complete -p berth", "check", script().toString())
            .redirectErrorStream(true)
            .start();
    String output = new String(bash.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    assertThat(bash.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(bash.exitValue()).as(output).isZero();
    assertThat(output).contains("_complete_berth").contains("berth");
  }
}
