package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnknownFieldSet;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.HeartbeatAck;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.WasmInstanceStats;
import dev.berth.server.broker.Views;
import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Heartbeats faster than a quarter of the interval are answered from the stream without reaching
 * the broker, so a chatty worker costs no more than a well-behaved one; a changed memory report
 * always goes through.
 */
class HeartbeatThrottleTest {
  private final InProcessBroker b = new InProcessBroker();

  @AfterEach
  void close() {
    b.close();
  }

  private long lastSeen(String sessionId) {
    Views.Session view = b.broker.sessions("", "", 10).get(0);
    assertThat(view.id()).isEqualTo(sessionId);
    return view.lastSeenNanos();
  }

  @Test
  void heartbeat_fasterThanQuarterInterval_ackedWithoutTouchingTheBroker() {
    SessionRecorder stream = b.openSession("chatty");
    stream.heartbeat(1);
    long seen = lastSeen(stream.sessionId());

    b.time.advance(InProcessBroker.HEARTBEAT_INTERVAL.dividedBy(8));
    for (long seq = 2; seq < 50; seq++) {
      stream.heartbeat(seq); // every one is acknowledged
    }

    assertThat(lastSeen(stream.sessionId())).isEqualTo(seen);
  }

  @Test
  void heartbeat_afterQuarterInterval_reachesTheBroker() {
    SessionRecorder stream = b.openSession("steady");
    stream.heartbeat(1);
    long seen = lastSeen(stream.sessionId());

    b.time.advance(InProcessBroker.HEARTBEAT_INTERVAL.dividedBy(4));
    stream.heartbeat(2);

    assertThat(lastSeen(stream.sessionId()) - seen)
        .isEqualTo(InProcessBroker.HEARTBEAT_INTERVAL.dividedBy(4).toNanos());
  }

  @Test
  void ack_ofARecordedHeartbeat_tellsTheTimingInForce_ackOfAThrottledOneTellsNone() {
    SessionRecorder stream = b.openSession("told");
    HeartbeatAck first = stream.heartbeat(1, 0, 0);
    assertThat(first.getSessionTtl().getSeconds())
        .isEqualTo(InProcessBroker.SESSION_TTL.toSeconds());
    assertThat(first.getHeartbeatInterval().getSeconds())
        .isEqualTo(InProcessBroker.HEARTBEAT_INTERVAL.toSeconds());

    b.broker.updateConfig(
        b.broker.config().toBuilder()
            .heartbeatInterval(Duration.ofSeconds(1))
            .sessionTtl(Duration.ofSeconds(4))
            .build());
    HeartbeatAck throttled = stream.heartbeat(2, 0, 0); // at once: within a quarter interval
    b.time.advance(InProcessBroker.HEARTBEAT_INTERVAL);
    HeartbeatAck recorded = stream.heartbeat(3, 0, 0);

    assertThat(throttled.hasSessionTtl()).isFalse();
    assertThat(throttled.hasHeartbeatInterval()).isFalse();
    assertThat(recorded.getSessionTtl().getSeconds()).isEqualTo(4);
    assertThat(recorded.getHeartbeatInterval().getSeconds()).isEqualTo(1);
  }

  @Test
  void heartbeat_fastButMemoryChanged_reachesTheBroker() {
    SessionRecorder stream = b.openSession("reporting");
    stream.heartbeat(1, 100, 1000);

    b.time.advance(Duration.ofMillis(1));
    stream.heartbeat(2, 900, 1000);

    assertThat(b.broker.sessions("", "", 10).get(0).memoryUsedMb()).isEqualTo(900);
  }

  /**
   * The stream compares, and keeps, what a report says, not the message it came in: the message
   * would keep its unknown fields, up to 256 KiB per stream for as long as the stream lives (300
   * streams sending such a report once held 86 MB of a daemon's heap).
   */
  @Test
  void heartbeat_fastWithTheSameWasmStatsPaddedWithUnknownFields_ackedWithoutTouchingTheBroker() {
    SessionRecorder stream = b.openSession("padded");
    heartbeatWithStats(stream, 1, UnknownFieldSet.getDefaultInstance());
    long seen = lastSeen(stream.sessionId());

    b.time.advance(InProcessBroker.HEARTBEAT_INTERVAL.dividedBy(8));
    heartbeatWithStats(
        stream,
        2,
        UnknownFieldSet.newBuilder()
            .addField(
                99,
                UnknownFieldSet.Field.newBuilder()
                    .addLengthDelimited(ByteString.copyFrom(new byte[200_000]))
                    .build())
            .build());

    assertThat(lastSeen(stream.sessionId())).isEqualTo(seen);
  }

  private static void heartbeatWithStats(SessionRecorder stream, long seq, UnknownFieldSet extra) {
    WasmInstanceStats stats =
        WasmInstanceStats.newBuilder()
            .setLeaseId("lease-1")
            .setCalls(5)
            .setUnknownFields(extra)
            .build();
    stream.send(
        SessionRequest.newBuilder()
            .setHeartbeat(Heartbeat.newBuilder().setSeq(seq).addWasmStats(stats))
            .build());
    assertThat(stream.next().getHeartbeatAck().getSeq()).isEqualTo(seq);
  }

  @Test
  void heartbeat_fastWithRepeatedSeq_stillInvalidArgument() {
    SessionRecorder stream = b.openSession("confused");
    stream.heartbeat(5);

    stream.sendHeartbeat(5);

    assertThat(stream.status().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(stream.status().getDescription()).contains("heartbeat.seq");
  }
}
