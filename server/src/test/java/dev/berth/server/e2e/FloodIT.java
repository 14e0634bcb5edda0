package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.Signals;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault test 6: one principal floods the real daemon from its own process — thousands of sessions,
 * then Acquire for one host with many calls in flight and no pause — and is capped with
 * RESOURCE_EXHAUSTED naming the cap, while another principal's Acquire/Release p99, measured in the
 * same run before and during the flood, stays within twice its unloaded value.
 */
class FloodIT {
  private static final String FLEET_TOKEN = "flood-it-fleet-token-5d1e";
  private static final String FLOODER_TOKEN = "flood-it-flooder-token-9a0c";
  private static final int SESSION_CAP = 200;
  private static final int QUEUED_CAP = 20;
  private static final int SESSION_ATTEMPTS = 3000;
  private static final int FLOOD_IN_FLIGHT = 64;
  private static final int WORKERS = 2;
  private static final int CALL_RATE_CAP = 400;
  private static final int WINDOWS = 4;
  private static final int ROUNDS_PER_WINDOW = 150;

  /** The fleet's pace: under 300 calls a second from two workers, below the call-rate cap. */
  private static final long PAUSE_MILLIS = 12;

  @TempDir Path dir;

  @Test
  @Timeout(90)
  void oneClientFloods_cappedResourceExhausted_othersP99WithinTwiceUnloaded() throws Exception {
    String tokens =
        Bearer.tokensFlag(
            Map.of(
                "fleet", Map.entry(FLEET_TOKEN, "worker"),
                "flooder", Map.entry(FLOODER_TOKEN, "worker")));
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"),
            dir.resolve("daemon.log"),
            "--auth.tokens",
            tokens,
            "--caps.sessions_per_principal",
            Integer.toString(SESSION_CAP),
            "--caps.queued_per_principal",
            Integer.toString(QUEUED_CAP),
            "--caps.calls_per_second_per_principal",
            Integer.toString(CALL_RATE_CAP),
            "--session-ttl",
            "60s",
            "--render-limit",
            "10000")) {
      List<ManagedChannel> channels = new ArrayList<>();
      List<LiveSession> sessions = new ArrayList<>();
      try {
        for (int w = 0; w < WORKERS; w++) {
          ManagedChannel channel = daemon.channel();
          channels.add(channel);
          sessions.add(new LiveSession(Bearer.as(channel, FLEET_TOKEN), "fleet-" + w));
        }
        Process flooder = startFlooder(daemon.target());
        BlockingQueue<String> said = lines(flooder);
        measure(channels, sessions, ROUNDS_PER_WINDOW, "warm-up", null);
        String sessionsLine = next(said, "SESSIONS");
        assertThat(next(said, "FLOODING")).isEqualTo("FLOODING");
        // Unloaded and flooded windows alternate (the flooder paused with SIGSTOP, then continued),
        // so that load from elsewhere on the machine falls on both alike.
        LatencySamples unloaded = new LatencySamples(WINDOWS * 2 * ROUNDS_PER_WINDOW * WORKERS);
        LatencySamples flooded = new LatencySamples(WINDOWS * 2 * ROUNDS_PER_WINDOW * WORKERS);
        String acquiresLine;
        try {
          for (int window = 0; window < WINDOWS; window++) {
            Signals.send(flooder.toHandle(), "STOP");
            Thread.sleep(200); // the calls in flight are answered
            measure(channels, sessions, ROUNDS_PER_WINDOW, "unloaded-" + window, unloaded);
            Signals.send(flooder.toHandle(), "CONT");
            Thread.sleep(200); // the flood is back at full speed
            measure(channels, sessions, ROUNDS_PER_WINDOW, "flooded-" + window, flooded);
          }
        } finally {
          Signals.send(flooder.toHandle(), "CONT");
          flooder.getOutputStream().close(); // stops the flood
          acquiresLine = next(said, "ACQUIRES");
          assertThat(flooder.waitFor(20, TimeUnit.SECONDS)).isTrue();
        }
        System.out.printf(
            "FloodIT: unloaded %s%nFloodIT: flooded  %s%nFloodIT: %s%nFloodIT: %s%n",
            unloaded, flooded, sessionsLine, acquiresLine);

        assertThat(sessionsLine)
            .as("thousands of sessions: the cap admits %d, refuses the rest", SESSION_CAP)
            .startsWith(
                "SESSIONS opened="
                    + SESSION_CAP
                    + " exhausted="
                    + (SESSION_ATTEMPTS - SESSION_CAP)
                    + " ")
            .contains("caps.sessions_per_principal");
        assertThat(acquiresLine)
            .contains("caps.queued_per_principal")
            .contains("caps.calls_per_second_per_principal")
            .doesNotContain("exhausted=0 ");
        assertThat(flooded.quantileMicros(0.99))
            .as("p99 flooded vs unloaded (%s vs %s)", flooded, unloaded)
            .isLessThanOrEqualTo(2 * unloaded.quantileMicros(0.99));
      } finally {
        sessions.forEach(LiveSession::close);
        channels.forEach(ManagedChannel::shutdownNow);
      }
    }
  }

  /**
   * Acquire then Release, {@code rounds} times on each session at once; adds every call's latency
   * to {@code samples} (none: a warm-up).
   */
  private static void measure(
      List<ManagedChannel> channels,
      List<LiveSession> sessions,
      int rounds,
      String phase,
      LatencySamples samples)
      throws InterruptedException {
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = new ArrayList<>();
    for (int w = 0; w < sessions.size(); w++) {
      Channel channel = Bearer.as(channels.get(w), FLEET_TOKEN);
      String session = sessions.get(w).id();
      int worker = w;
      Thread t =
          new Thread(
              () -> {
                try {
                  LeaseBrokerGrpc.LeaseBrokerBlockingStub stub =
                      LeaseBrokerGrpc.newBlockingStub(channel);
                  for (int i = 0; i < rounds; i++) {
                    long start = System.nanoTime();
                    AcquireResponse granted =
                        stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                            .acquire(
                                AcquireRequest.newBuilder()
                                    .setSessionId(session)
                                    .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                                    .setUrl(
                                        "https://" + phase + "-" + worker + "-" + i + ".example/")
                                    .build());
                    long acquired = System.nanoTime();
                    if (!granted.hasGranted()) {
                      throw new AssertionError("refused: " + granted);
                    }
                    stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                        .release(
                            ReleaseRequest.newBuilder()
                                .setSessionId(session)
                                .setLeaseId(granted.getGranted().getLeaseId())
                                .build());
                    long released = System.nanoTime();
                    if (samples != null) {
                      samples.add(acquired - start);
                      samples.add(released - acquired);
                    }
                    Thread.sleep(PAUSE_MILLIS);
                  }
                } catch (Throwable e) {
                  synchronized (failures) {
                    failures.add(e);
                  }
                }
              },
              phase + "-" + w);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(40));
    }
    assertThat(failures).as("%s calls", phase).isEmpty();
  }

  private static Process startFlooder(String target) throws Exception {
    return new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m",
            "-cp",
            System.getProperty("java.class.path"),
            FloodClient.class.getName(),
            target,
            FLOODER_TOKEN,
            Integer.toString(SESSION_ATTEMPTS),
            Integer.toString(FLOOD_IN_FLIGHT))
        .redirectError(ProcessBuilder.Redirect.INHERIT)
        .start();
  }

  private static BlockingQueue<String> lines(Process process) {
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                  lines.add(line);
                }
              } catch (Exception e) {
                // the process ended
              }
            },
            "flooder-output");
    reader.setDaemon(true);
    reader.start();
    return lines;
  }

  /** The next line starting with {@code prefix}, skipping progress lines; fails after 40 s. */
  private static String next(BlockingQueue<String> lines, String prefix)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
    while (System.nanoTime() < deadline) {
      String line = lines.poll(100, TimeUnit.MILLISECONDS);
      if (line != null && line.startsWith(prefix)) {
        return line;
      }
    }
    throw new AssertionError("flooder did not print " + prefix + " within 40 s");
  }
}
