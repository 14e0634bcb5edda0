package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {
  private final FakeServerCallStreamObserver<String> call = new FakeServerCallStreamObserver<>();
  private final List<OutboundQueue.End> ends = new ArrayList<>();

  /** "ack" messages replace a waiting "ack"; everything else queues. */
  private OutboundQueue<String> queue(int maxPending) {
    return new OutboundQueue<>(
        call,
        maxPending,
        (queued, next) -> queued.startsWith("ack") && next.startsWith("ack"),
        max -> "reader too slow: more than " + max,
        ends::add);
  }

  @Test
  void offer_readyTransport_writesAtOnce() {
    OutboundQueue<String> out = queue(2);

    out.offer("a");
    out.offer("b");

    assertThat(call.written).containsExactly("a", "b");
    assertThat(out.pending()).isZero();
  }

  @Test
  void offer_notReady_queuesUntilTheReadyHandler_thenDrainsInOrder() {
    OutboundQueue<String> out = queue(5);
    call.stall();

    out.offer("a");
    out.offer("b");
    assertThat(call.written).isEmpty();
    assertThat(out.pending()).isEqualTo(2);

    call.becomeReady();
    out.offer("c");

    assertThat(call.written).containsExactly("a", "b", "c");
    assertThat(out.pending()).isZero();
  }

  @Test
  void offer_whileOthersWait_queuesBehindThem_evenWhenReady() {
    OutboundQueue<String> out = queue(5);
    call.stall();
    out.offer("a");

    // Ready again, but the handler has not run yet: "b" must not overtake "a".
    call.becomeReadyWithoutHandler();
    out.offer("b");

    assertThat(call.written).isEmpty();
    call.becomeReady();
    assertThat(call.written).containsExactly("a", "b");
  }

  @Test
  void offer_supersedingMessage_replacesTheNewestWaitingOne() {
    OutboundQueue<String> out = queue(5);
    call.stall();

    out.offer("ack 1");
    out.offer("ack 2");
    out.offer("revoke");
    out.offer("ack 3");
    out.offer("ack 4");
    call.becomeReady();

    assertThat(call.written).containsExactly("ack 2", "revoke", "ack 4");
  }

  @Test
  void offer_pastTheBacklogLimit_closesResourceExhausted_andTellsTheOwnerOnce() {
    OutboundQueue<String> out = queue(2);
    call.stall();

    out.offer("a");
    out.offer("b");
    assertThat(call.closedWith()).isNull();
    out.offer("c");
    out.offer("d");

    assertThat(call.closedWith().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(call.closedWith().getDescription()).isEqualTo("reader too slow: more than 2");
    assertThat(ends).containsExactly(OutboundQueue.End.OVERFLOWED);
    assertThat(out.pending()).isZero();
    call.becomeReady();
    assertThat(call.written).isEmpty();
  }

  @Test
  void close_writesWhatTheTransportTakes_thenCompletesOnce() {
    OutboundQueue<String> out = queue(5);
    call.stall();
    out.offer("a");
    call.becomeReadyWithoutHandler();

    assertThat(out.close(Status.OK)).isTrue();
    assertThat(out.close(Status.UNAVAILABLE)).isFalse();
    out.offer("late");

    assertThat(call.written).containsExactly("a");
    assertThat(call.closedWith()).isEqualTo(Status.OK);
    assertThat(ends).containsExactly(OutboundQueue.End.CLOSED);
  }

  @Test
  void close_withAnError_failsTheCall() {
    OutboundQueue<String> out = queue(5);

    out.close(Status.UNAVAILABLE.withDescription("shutting down"));

    assertThat(call.closedWith().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(call.closedWith().getDescription()).isEqualTo("shutting down");
  }

  @Test
  void cancel_dropsTheBacklog_andTellsTheOwner_closeIsThenANoop() {
    OutboundQueue<String> out = queue(5);
    call.stall();
    out.offer("a");

    call.cancel();

    assertThat(out.pending()).isZero();
    assertThat(ends).containsExactly(OutboundQueue.End.CANCELLED);
    assertThat(out.close(Status.OK)).isFalse();
    assertThat(call.closedWith()).isNull();
    assertThat(ends).hasSize(1);
  }
}
