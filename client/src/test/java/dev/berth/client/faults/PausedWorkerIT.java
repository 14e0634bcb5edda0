package dev.berth.client.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.WorkerSession;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.Signals;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker process stopped with SIGSTOP past its TTL and continued with SIGCONT (issue fault test
 * 2): its capacity is back at the broker while it sleeps; once running again its SDK reports the
 * leases invalid at once, and then the session lost, because the broker answers it that the session
 * expired.
 */
class PausedWorkerIT {
  /** A TTL of 3 s, heartbeats every 500 ms, sweeps every 100 ms and two RENDER slots. */
  static final String[] FAST_EXPIRY = {
    "--session-ttl",
    "3s",
    "--heartbeat-interval",
    "500ms",
    "--sweep-interval",
    "100ms",
    "--render-limit",
    "2"
  };

  @TempDir Path dir;

  private static String next(BlockingQueue<String> lines, Duration timeout) throws Exception {
    String line = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
    assertThat(line).as("worker output within %s", timeout).isNotNull();
    return line;
  }

  @Test
  @Timeout(90)
  void stoppedPastTtl_capacityBack_thenSdkReportsLeasesInvalidAndSessionLost() throws Exception {
    int port = DaemonProcess.freePort();
    try (DaemonProcess broker =
        DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
            .port(port)
            .flags(FAST_EXPIRY)
            .start()) {
      Process worker =
          new ProcessBuilder(
                  Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                  "-Xmx128m",
                  "-cp",
                  System.getProperty("java.class.path"),
                  SdkWorker.class.getName(),
                  "127.0.0.1:" + port,
                  "2")
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      BlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader out =
                    new BufferedReader(
                        new InputStreamReader(worker.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String l = out.readLine(); l != null; l = out.readLine()) {
                    lines.add(l);
                  }
                } catch (Exception e) {
                  // process ended
                }
              });
      reader.setDaemon(true);
      reader.start();
      try (BrokerClient client = BrokerClient.newBuilder().target("127.0.0.1:" + port).build();
          WorkerSession observer = client.openSession("observer")) {
        assertThat(next(lines, Duration.ofSeconds(30))).startsWith("HELD ");
        assertThat(next(lines, Duration.ofSeconds(10))).startsWith("HELD ");
        assertThat(next(lines, Duration.ofSeconds(10))).startsWith("READY ");
        assertThat(observer.acquire(AcquireOptions.render("https://x.example/")).isGranted())
            .as("pool full while the worker runs")
            .isFalse();

        Signals.send(worker.toHandle(), "STOP");
        long stoppedAt = System.nanoTime();
        AcquireResult granted =
            observer.acquireWithRetry(
                AcquireOptions.render("https://x.example/"), Duration.ofSeconds(15));
        assertThat(granted.isGranted()).as("capacity back: %s", granted).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - stoppedAt))
            .as("not before the TTL")
            .isGreaterThanOrEqualTo(Duration.ofMillis(2400));
        assertThat(lines).as("a stopped worker says nothing").isEmpty();

        Signals.send(worker.toHandle(), "CONT");
        List<String> said = new ArrayList<>();
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (System.nanoTime() < deadline
            && (said.stream().filter(l -> l.startsWith("INVALID ")).count() < 2
                || said.stream().noneMatch(l -> l.startsWith("LOST ")))) {
          String line = lines.poll(100, TimeUnit.MILLISECONDS);
          if (line != null) {
            said.add(line);
          }
        }
        assertThat(said.stream().filter(l -> l.startsWith("INVALID ")).count())
            .as("leases reported invalid: %s", said)
            .isEqualTo(2);
        assertThat(said)
            .as("session reported lost, saying it expired")
            .anySatisfy(l -> assertThat(l).startsWith("LOST ").containsIgnoringCase("expire"));
        assertThat(said).noneMatch(l -> l.startsWith("HELD "));
        assertThat(broker.logText()).doesNotContain("Exception");
      } finally {
        worker.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
