package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.Bearer;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.Flooder;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault test 6: one principal floods the real daemon from its own process — thousands of sessions,
 * then Acquire for one host with many calls in flight and no pause — and is capped with
 * RESOURCE_EXHAUSTED naming each cap, while another principal's acquires are still granted. How
 * much the flood slows the other principal is measured by the benchmark suite ({@code bin/bench},
 * goal G7), not asserted here.
 */
class FloodIT {
  private static final String FLEET_TOKEN = "flood-it-fleet-token-5d1e";
  private static final String FLOODER_TOKEN = "flood-it-flooder-token-9a0c";
  private static final int SESSION_CAP = 200;
  private static final int QUEUED_CAP = 20;
  private static final int SESSION_ATTEMPTS = 3000;
  private static final int FLOOD_IN_FLIGHT = 64;
  private static final int CALL_RATE_CAP = 400;

  /** How long the fleet works beside the flood: long enough for every cap to be hit. */
  private static final long FLOOD_SECONDS = 4;

  /** The fleet's pace: well below the call-rate cap. */
  private static final long PAUSE_MILLIS = 12;

  @TempDir Path dir;

  @Test
  @Timeout(90)
  void oneClientFloods_cappedResourceExhaustedNamingEachCap_othersStillGranted() throws Exception {
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
      ManagedChannel channel = daemon.channel();
      try (LiveSession fleet = new LiveSession(Bearer.as(channel, FLEET_TOKEN), "fleet-0");
          Flooder flooder =
              Flooder.start(
                  daemon.target(),
                  FLOODER_TOKEN,
                  SESSION_ATTEMPTS,
                  FLOOD_IN_FLIGHT,
                  ProcessBuilder.Redirect.INHERIT)) {
        String sessionsLine = flooder.next("SESSIONS", Duration.ofSeconds(40));
        flooder.next("FLOODING", Duration.ofSeconds(40));
        int granted = cycles(Bearer.as(channel, FLEET_TOKEN), fleet.id());
        String acquiresLine = flooder.stop();
        System.out.printf(
            "FloodIT: %s%nFloodIT: %s%nFloodIT: fleet granted %d cycles beside the flood%n",
            sessionsLine, acquiresLine, granted);

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
        assertThat(granted).as("the other principal's cycles beside the flood").isPositive();
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /**
   * Acquire then Release, paced, for {@link #FLOOD_SECONDS}; every acquire must be granted.
   *
   * @return how many cycles completed
   */
  private static int cycles(Channel channel, String session) throws InterruptedException {
    LeaseBrokerGrpc.LeaseBrokerBlockingStub stub = LeaseBrokerGrpc.newBlockingStub(channel);
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(FLOOD_SECONDS);
    int cycles = 0;
    while (System.nanoTime() < end) {
      AcquireResponse response =
          stub.withDeadlineAfter(10, TimeUnit.SECONDS)
              .acquire(
                  AcquireRequest.newBuilder()
                      .setSessionId(session)
                      .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                      .setUrl("https://fleet-" + cycles + ".example/")
                      .build());
      assertThat(response.hasGranted()).as("fleet acquire %d: %s", cycles, response).isTrue();
      stub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .release(
              ReleaseRequest.newBuilder()
                  .setSessionId(session)
                  .setLeaseId(response.getGranted().getLeaseId())
                  .build());
      cycles++;
      Thread.sleep(PAUSE_MILLIS);
    }
    return cycles;
  }
}
