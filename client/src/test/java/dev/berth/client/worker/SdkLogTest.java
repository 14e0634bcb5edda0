package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The SDK's log records as {@code berth worker} prints them: one line each, in its style. */
class SdkLogTest {
  private static final System.Logger SDK =
      System.getLogger("dev.berth.client.internal.SessionConnection");

  private final ByteArrayOutputStream err = new ByteArrayOutputStream();

  private void logSome(boolean verbose) {
    SdkLog log = SdkLog.install(new PrintStream(err, true, StandardCharsets.UTF_8), verbose);
    try {
      SDK.log(Level.INFO, "session stream of {0} ended ({1}); reconnecting", "cw", "UNAVAILABLE");
      SDK.log(Level.WARNING, "release of {0} failed: {1}", "L1", "gone");
      SDK.log(Level.ERROR, "session task failed", new IllegalStateException("two\nlines"));
      SDK.log(Level.DEBUG, "not shown");
    } finally {
      log.close();
    }
  }

  @Test
  void quiet_warningsAndErrorsOnly_oneLineEach() {
    logSome(false);

    assertThat(err.toString(StandardCharsets.UTF_8))
        .isEqualTo(
            """
            berth worker: release of L1 failed: gone
            berth worker: session task failed: java.lang.IllegalStateException: two lines
            """);
  }

  @Test
  void verbose_infoToo() {
    logSome(true);

    assertThat(err.toString(StandardCharsets.UTF_8))
        .startsWith("berth worker: session stream of cw ended (UNAVAILABLE); reconnecting\n")
        .contains("berth worker: release of L1 failed: gone\n")
        .doesNotContain("not shown");
  }

  @Test
  void closed_theSdkLogsAsBeforeAgain() {
    logSome(false);
    err.reset();

    SDK.log(Level.WARNING, "after close");

    assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
  }
}
