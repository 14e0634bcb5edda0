package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.SessionOptions;
import dev.berth.client.WorkerSession;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.grpc.BrokerServer;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.time.SystemTimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code berth top}: its frame pinned on a fixed status, and {@code --once} on a real broker. */
class TopTest {
  private static SessionInfo session(String id, String worker, int leases, long memoryMb) {
    return SessionInfo.newBuilder()
        .setSessionId(id)
        .setWorkerId(worker)
        .setConnected(true)
        .setLeases(leases)
        .setMemoryUsedMb(memoryMb)
        .setLastHeartbeatAt(ViewsTest.at(3_723))
        .build();
  }

  @Test
  void frame_fixedStatus_poolsWithBarsHotHostsAndBusiestSessionsFirst() {
    List<SessionInfo> sessions =
        List.of(
            session("s-1", "idle", 0, 100),
            session("s-2", "crawler-a", 3, 900).toBuilder()
                .setJob("news")
                .putLabels("job", "news")
                .build(),
            session("s-3", "crawler-b", 3, 1200),
            session("s-4", "crawler-c", 1, 50));

    String frame = Top.frame(ViewsTest.STATUS, sessions, "127.0.0.1:7433", ViewsTest.NOW, 3);

    assertThat(frame)
        .isEqualTo(
            """
            berth top  127.0.0.1:7433  0.1.0  epoch 3  up 1h02m  01:02:05Z
            sessions 10 live, 1 disconnected   pressure ELEVATED   fleet 3500 / 4000 MB   \
            (fleet 0.88 >= pressure_on 0.85)   degradation 0.62

            POOL    USE                               IN_USE  EFFECTIVE  LIMIT  WAITING  NOTE
            RENDER  [##############################]       4          4      8       12  \
            degraded: score 0.62 >= 0.5
            PDF     [###############...............]       1          2      2        0
            WASM    [#####.........................]      10         64     64        0

            HOST         RATE/S  TOKENS  REFUSALS  REASON
            example.com       1    0.25        17  429 from site: halved

            SESSION  WORKER     STATE      LEASES  MEMORY_MB  HEARTBEAT  JOB
            s-3      crawler-b  connected       3       1200  2s ago     -
            s-2      crawler-a  connected       3        900  2s ago     news
            s-4      crawler-c  connected       1         50  2s ago     -
            (1 quieter sessions not shown)

            totals   1234 grants; refusals 22 (RATE_LIMITED 17, EXHAUSTED 5)
            """);
  }

  @Test
  void frame_fromAFollowersReplica_waitingIsUnknown_asInStatus() {
    BrokerStatus follower = ViewsTest.STATUS.toBuilder().setFromReplica(true).build();

    String frame = Top.frame(follower, List.of(), "b:7433", ViewsTest.NOW, 3);

    assertThat(frame)
        .contains(
            """
            POOL    USE                               IN_USE  EFFECTIVE  LIMIT  WAITING  NOTE
            RENDER  [##############################]       4          4      8        ?  \
            degraded: score 0.62 >= 0.5
            PDF     [###############...............]       1          2      2        ?
            WASM    [#####.........................]      10         64     64        ?
            """);
    assertThat(frame)
        .as("says whose figures these are, as berth status does")
        .contains("\nview     replica of the leader's state (");
    assertThat(Top.frame(ViewsTest.STATUS, List.of(), "a:7433", ViewsTest.NOW, 3))
        .as("the serving broker's own waits")
        .contains("      8       12  degraded")
        .doesNotContain("\nview ");
  }

  @Test
  void frame_sessionsJob_isTheJobItRunsAs_withItsLabelBesideWhenItDiffers() {
    List<SessionInfo> sessions =
        List.of(
            session("s-1", "w1", 3, 0).toBuilder().setJob("news").putLabels("job", "news").build(),
            session("s-2", "w2", 2, 0).toBuilder()
                .setJob("default")
                .putLabels("job", "nightly-crawl")
                .build(),
            session("s-3", "w3", 1, 0).toBuilder().setJob("default").build());

    String frame = Top.frame(ViewsTest.STATUS, sessions, "a:7433", ViewsTest.NOW, 3);

    assertThat(frame)
        .contains(
            """
            SESSION  WORKER  STATE      LEASES  MEMORY_MB  HEARTBEAT  JOB
            s-1      w1      connected       3          0  2s ago     news
            s-2      w2      connected       2          0  2s ago     default (label nightly-crawl)
            s-3      w3      connected       1          0  2s ago     default
            """);
  }

  /**
   * A busy broker reports changes all the time: a frame reads the status and every session, so
   * changes redraw at most once a second (or once an --interval, when shorter), a burst settling
   * first; the interval alone still redraws on time.
   */
  @Test
  void changeDelay_keepsRedrawsOnChangesToOneASecond() {
    Duration twoSeconds = Duration.ofSeconds(2);

    assertThat(TopCommand.changeDelay(Duration.ofMillis(50), twoSeconds))
        .isEqualTo(Duration.ofMillis(950));
    assertThat(TopCommand.changeDelay(Duration.ofMillis(950), twoSeconds))
        .isEqualTo(TopCommand.SETTLE);
    assertThat(TopCommand.changeDelay(Duration.ofSeconds(5), twoSeconds))
        .isEqualTo(TopCommand.SETTLE);
    assertThat(TopCommand.changeDelay(Duration.ofMillis(50), Duration.ofMillis(400)))
        .isEqualTo(Duration.ofMillis(350));
  }

  @Test
  void bar_overOrWithoutEffectiveLimit_saysSo() {
    assertThat(Top.bar(0, 8)).isEqualTo("[" + ".".repeat(Top.BAR) + "]");
    assertThat(Top.bar(6, 4)).isEqualTo("[" + "#".repeat(Top.BAR - 1) + "!]");
    assertThat(Top.bar(0, 0)).isEqualTo("[" + " ".repeat(Top.BAR) + "]");
    assertThat(Top.bar(2, 0)).isEqualTo("[!" + " ".repeat(Top.BAR - 1) + "]");
  }

  @Test
  void topOnce_realBroker_printsOneFrameWithTheHeldLeaseAndNoEscapeCodes() throws Exception {
    SystemTimeSource time = new SystemTimeSource();
    Broker broker =
        new Broker(
            Policy.of(BrokerConfig.newBuilder().build()),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(1),
            HeapProbe.NONE,
            ModuleRegistry.empty());
    BrokerServer server =
        BrokerServer.netty(broker, time, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .start();
    String target = "127.0.0.1:" + server.port();
    try (BrokerClient client = BrokerClient.newBuilder().target(target).build();
        WorkerSession worker =
            client.openSession(
                "crawler-7", SessionOptions.newBuilder().label("job", "shop").build());
        Lease lease =
            ((AcquireResult.Granted) worker.acquire(AcquireOptions.render("https://example.com/a")))
                .lease()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      ByteArrayOutputStream err = new ByteArrayOutputStream();

      int code =
          Main.run(
              List.of("top", "--once", "--broker", target),
              new PrintStream(out, true, StandardCharsets.UTF_8),
              new PrintStream(err, true, StandardCharsets.UTF_8),
              Map.of(),
              Clock.systemUTC());

      String frame = out.toString(StandardCharsets.UTF_8);
      assertThat(err.toString(StandardCharsets.UTF_8)).isEmpty();
      assertThat(code).isZero();
      assertThat(frame).startsWith("berth top  " + target).doesNotContain("\033");
      List<String> lines = new ArrayList<>(frame.lines().toList());
      assertThat(lines)
          .anySatisfy(l -> assertThat(l).startsWith("RENDER  [####.").contains("       1  "));
      assertThat(lines)
          .anySatisfy(
              l ->
                  assertThat(l)
                      .startsWith(worker.sessionId())
                      .contains("crawler-7", "connected", "shop"));
      assertThat(lease.isValid()).isTrue();
    } finally {
      server.shutdown(Duration.ofSeconds(1));
      time.close();
    }
  }

  @Test
  void top_badOptions_usageErrors() {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream errs = new PrintStream(err, true, StandardCharsets.UTF_8);
    PrintStream out = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);

    assertThat(
            Main.run(List.of("top", "--interval", "50ms"), out, errs, Map.of(), Clock.systemUTC()))
        .isEqualTo(ExitCode.USAGE);
    assertThat(Main.run(List.of("top", "--rows", "0"), out, errs, Map.of(), Clock.systemUTC()))
        .isEqualTo(ExitCode.USAGE);

    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("--interval: must be at least 200ms, got 50ms")
        .contains("--rows");
  }
}
