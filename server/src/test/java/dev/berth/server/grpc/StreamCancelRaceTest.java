package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamCancel;
import dev.berth.proto.v1.StreamRelease;
import dev.berth.server.broker.Broker;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.server.time.TimeSource;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A worker's cancel of a waiting stream acquire crosses the grant of that acquire, in both orders,
 * each made exact on one thread by a hook rather than by timing:
 *
 * <ul>
 *   <li>the grant is decided and not yet answered when the cancel arrives and is applied (hooked on
 *       the acquire timings, which the answer tells just before it is sent): the call is answered
 *       CANCELLED and the grant is given back, its request_id forgotten;
 *   <li>the cancel has arrived and the grant is decided before the cancel takes effect (hooked on
 *       the clock read of the cancel's own broker command; the release that frees the slot runs
 *       there, as if it had taken the broker's lock just before the cancel did): the call is
 *       answered with the grant, which stands.
 * </ul>
 *
 * Either way the worker hears exactly one answer for the call, and the pool's in_use ends as if the
 * call had been only what the worker was told.
 */
class StreamCancelRaceTest {
  private static final String REQUEST_ID = "pdf-1";

  private final FakeTimeSource fake = new FakeTimeSource();
  private final AtomicReference<Runnable> onClockRead = new AtomicReference<>();
  private final AtomicReference<Runnable> onAnswer = new AtomicReference<>();

  /** The fake clock, which runs a hook armed in {@link #onClockRead} once, at its next read. */
  private final TimeSource time =
      new TimeSource() {
        @Override
        public long nanoTime() {
          Runnable hook = onClockRead.getAndSet(null);
          if (hook != null) {
            hook.run();
          }
          return fake.nanoTime();
        }

        @Override
        public Instant wallTime() {
          return fake.wallTime();
        }

        @Override
        public Cancellable schedule(Runnable task, long delayNanos) {
          return fake.schedule(task, delayNanos);
        }

        @Override
        public Cancellable scheduleAtFixedRate(Runnable task, long periodNanos) {
          return fake.scheduleAtFixedRate(task, periodNanos);
        }
      };

  /**
   * Acquire timings that run a hook armed in {@link #onAnswer} once, before that answer is sent.
   */
  private final AcquireTimings timings =
      (kind, latencyNanos, queued) -> {
        Runnable hook = onAnswer.getAndSet(null);
        if (hook != null) {
          hook.run();
        }
      };

  private Broker broker;
  private SessionStream holder;
  private FakeServerCallStreamObserver<SessionEvent> holderOut;
  private SessionStream worker;
  private FakeServerCallStreamObserver<SessionEvent> workerOut;
  private String holderLease;

  /**
   * One PDF slot, held by another worker; this worker's acquire (call 1, with a request_id) waits
   * for it.
   */
  @BeforeEach
  void setUp() {
    SessionStream.Shared shared =
        InProcessBroker.streamsWithoutServer(
            InProcessBroker.config().limit(ResourceKind.PDF, 1).build(), time, timings);
    broker = shared.broker();
    holderOut = new FakeServerCallStreamObserver<>();
    holder = open(shared, holderOut, "holder");
    holder.onNext(acquire(0, Duration.ZERO, ""));
    holderLease = resultOf(holderOut, 0).getResponse().getGranted().getLeaseId();
    workerOut = new FakeServerCallStreamObserver<>();
    worker = open(shared, workerOut, "worker");

    worker.onNext(acquire(1, Duration.ofHours(1), REQUEST_ID));

    assertThat(broker.inUse(ResourceKind.PDF)).isOne();
    assertThat(broker.queued(ResourceKind.PDF)).isOne();
  }

  @Test
  void grantDecided_cancelAppliedBeforeItsAnswer_answeredCancelled_grantGivenBack_idForgotten() {
    AtomicReference<String> crossed = new AtomicReference<>();
    onAnswer.set(
        () -> {
          crossed.set(workersLease());
          worker.onNext(cancel(1));
        });

    holder.onNext(release(2, holderLease)); // frees the slot: the waiting call is granted
    fake.advanceMillis(1); // a give-back runs on the scheduler

    assertThat(crossed.get()).as("the grant was decided before the cancel came").isNotNull();
    assertThat(resultOf(workerOut, 1).hasError())
        .as("the cancel answered the call before the grant could")
        .isTrue();
    assertOneAnswerThatHolds(crossed.get());
  }

  @Test
  void cancelReceived_grantDecidedBeforeItIsApplied_oneAnswerThatHolds() {
    AtomicReference<String> crossed = new AtomicReference<>();
    onClockRead.set(
        () -> {
          holder.onNext(release(2, holderLease)); // frees the slot: the waiting call is granted
          crossed.set(workersLease());
        });

    worker.onNext(cancel(1));
    fake.advanceMillis(1); // a give-back, if one was scheduled, runs now

    assertThat(onClockRead.get()).as("the hook ran inside the cancel").isNull();
    assertThat(crossed.get()).as("the grant was decided inside the cancel").isNotNull();
    assertOneAnswerThatHolds(crossed.get());
  }

  /**
   * Call 1 was answered once, and what the pool holds is what that answer said: the grant, held by
   * the worker under its request_id until it releases it; or CANCELLED, the grant {@code crossed}
   * given back and its request_id free for a call decided afresh. Either way the pool ends free.
   */
  private void assertOneAnswerThatHolds(String crossed) {
    AcquireResult answer = resultOf(workerOut, 1);
    boolean cancelled = answer.hasError();
    if (cancelled) {
      assertThat(answer.getError().getCode()).isEqualTo(Status.Code.CANCELLED.value());
      assertThat(answer.getError().getMessage()).isEqualTo("call 1 cancelled by the worker");
      assertThat(broker.inUse(ResourceKind.PDF))
          .as("the crossing grant was given back: in_use is what it was less the holder's")
          .isZero();
    } else {
      assertThat(answer.getResponse().getGranted().getLeaseId()).isEqualTo(crossed);
      assertThat(workersLease()).as("the worker holds the grant it was told of").isEqualTo(crossed);
      assertThat(broker.inUse(ResourceKind.PDF)).isOne();
    }
    assertThat(broker.queued(ResourceKind.PDF)).isZero();

    worker.onNext(acquire(3, Duration.ofHours(1), REQUEST_ID));
    AcquireResult again = resultOf(workerOut, 3);
    assertThat(again.getResponse().hasGranted()).as("granted: %s", again).isTrue();
    String againLease = again.getResponse().getGranted().getLeaseId();
    if (cancelled) {
      assertThat(againLease)
          .as("a later call with the request_id is decided afresh, not given the lease given back")
          .isNotEqualTo(crossed);
    } else {
      assertThat(againLease)
          .as("the request_id stands for the grant the worker was told of")
          .isEqualTo(crossed);
    }
    assertThat(workersLease())
        .as("the worker holds what it was last told of")
        .isEqualTo(againLease);
    assertThat(broker.inUse(ResourceKind.PDF)).isOne();

    worker.onNext(release(4, againLease));
    fake.advanceMillis(1);
    assertThat(broker.inUse(ResourceKind.PDF)).as("in_use is back to a free pool").isZero();
  }

  /** The lease the worker's session holds now, or null. */
  private String workersLease() {
    String session = workerOut.written.get(0).getOpened().getSessionId();
    return broker.leases().stream()
        .filter(l -> l.sessionId().equals(session))
        .map(Lease::id)
        .findFirst()
        .orElse(null);
  }

  private static SessionStream open(
      SessionStream.Shared shared, FakeServerCallStreamObserver<SessionEvent> out, String who) {
    SessionStream stream = new SessionStream(shared, out, who);
    stream.onNext(
        SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId(who)).build());
    return stream;
  }

  private static List<AcquireResult> resultsOf(
      FakeServerCallStreamObserver<SessionEvent> out, long callId) {
    return out.written.stream()
        .filter(SessionEvent::hasAcquireResult)
        .map(SessionEvent::getAcquireResult)
        .filter(r -> r.getCallId() == callId)
        .toList();
  }

  private static AcquireResult resultOf(
      FakeServerCallStreamObserver<SessionEvent> out, long callId) {
    List<AcquireResult> results = resultsOf(out, callId);
    assertThat(results).as("results of call %d", callId).hasSize(1);
    return results.get(0);
  }

  private static SessionRequest acquire(long callId, Duration wait, String requestId) {
    return InProcessBroker.pdfOnStream(callId, wait, requestId);
  }

  private static SessionRequest release(long callId, String leaseId) {
    return SessionRequest.newBuilder()
        .setRelease(
            StreamRelease.newBuilder()
                .setCallId(callId)
                .setRequest(ReleaseRequest.newBuilder().setLeaseId(leaseId)))
        .build();
  }

  private static SessionRequest cancel(long callId) {
    return SessionRequest.newBuilder()
        .setCancel(StreamCancel.newBuilder().setCallId(callId))
        .build();
  }
}
