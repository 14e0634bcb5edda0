package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.Bearer;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.FloodScenario;
import dev.berth.testkit.Flooder;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault test 6: one principal floods the real daemon from its own process — thousands of sessions,
 * then Acquire for one host with many calls in flight and no pause — and is capped with
 * RESOURCE_EXHAUSTED naming each cap, while another principal's acquires are still granted. How
 * much the flood slows the other principal is measured by the benchmark suite ({@code bin/bench},
 * goal G9), not asserted here.
 */
class FloodIT {
  /** How long the fleet works beside the flood: long enough for every cap to be hit. */
  private static final long FLOOD_SECONDS = 4;

  @TempDir Path dir;

  @Test
  @Timeout(90)
  void oneClientFloods_cappedResourceExhaustedNamingEachCap_othersStillGranted() throws Exception {
    List<String> flags = FloodScenario.daemonFlags();
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"), dir.resolve("daemon.log"), flags.toArray(String[]::new))) {
      ManagedChannel channel = daemon.channel();
      try (LiveSession fleet =
              new LiveSession(Bearer.as(channel, FloodScenario.FLEET_TOKEN), "fleet-0");
          Flooder flooder =
              Flooder.start(
                  daemon.target(),
                  FloodScenario.FLOODER_TOKEN,
                  FloodScenario.SESSION_ATTEMPTS,
                  FloodScenario.IN_FLIGHT,
                  ProcessBuilder.Redirect.INHERIT)) {
        String sessionsLine = flooder.next("SESSIONS", Duration.ofSeconds(40));
        flooder.next("FLOODING", Duration.ofSeconds(40));
        int granted = cycles(Bearer.as(channel, FloodScenario.FLEET_TOKEN), fleet.id());
        // On a loaded machine the flooder may be too slow to pass the call-rate cap in the fleet's
        // few seconds: it floods on until both caps have refused it (the assertions below report
        // if they never do).
        flooder.awaitCaps(
            List.of("caps.queued_per_principal", "caps.calls_per_second_per_principal"),
            Duration.ofSeconds(30));
        String acquiresLine = flooder.stop();
        System.out.printf(
            "FloodIT: %s%nFloodIT: %s%nFloodIT: fleet granted %d cycles beside the flood%n",
            sessionsLine, acquiresLine, granted);

        assertThat(sessionsLine)
            .as(
                "thousands of sessions: the cap admits %d, refuses the rest",
                FloodScenario.SESSION_CAP)
            .startsWith(
                "SESSIONS opened="
                    + FloodScenario.SESSION_CAP
                    + " exhausted="
                    + (FloodScenario.SESSION_ATTEMPTS - FloodScenario.SESSION_CAP)
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
      Thread.sleep(FloodScenario.FLEET_PAUSE_MILLIS);
    }
    return cycles;
  }
}
