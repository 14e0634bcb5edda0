package dev.berth.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code bin/bench --lock} end to end, in a JVM of its own: the lock's timing is fixed when its
 * class loads, so it cannot be switched on in the test's JVM.
 */
class BrokerLockRunTest {
  @Test
  void main_twoThreadsShortWindow_tableOfEveryCommandWithContention() throws Exception {
    Run run = run("--threads", "2", "--duration", "300ms", "--warmup", "200ms");

    assertThat(run.exit).as(run.output).isZero();
    assertThat(run.output)
        .contains("2 thread(s)")
        .contains("lock held")
        .contains("waited for it")
        .contains("| `Broker.acquire granted` |")
        .contains("| `Broker.acquire refused` |")
        .contains("| `Broker.release` |")
        .contains("| `Broker.heartbeat` |")
        .contains("| `Broker.status` |");
  }

  @Test
  void main_zeroThreads_exitsTwoNamingTheOption() throws Exception {
    Run run = run("--threads", "0");

    assertThat(run.exit).isEqualTo(2);
    assertThat(run.output).contains("--threads").contains("at least 1");
  }

  private record Run(int exit, String output) {}

  private static Run run(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(BrokerLockRun.class.getName());
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), output);
  }
}
