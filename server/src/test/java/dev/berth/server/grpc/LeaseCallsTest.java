package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.broker.Broker;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.time.FakeTimeSource;
import io.grpc.StatusRuntimeException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A grant whose caller left before its answer could be sent: nobody can learn of a lease whose
 * request had no {@code request_id}, so it is given back rather than held until max hold; one with
 * a {@code request_id} is kept for one session TTL for the retry that may ask for it.
 */
class LeaseCallsTest {
  private static final String PRINCIPAL = "worker";

  private final FakeTimeSource time = new FakeTimeSource();
  private Broker broker;
  private LeaseCalls calls;
  private String session;
  private SessionStream stream;
  private long beats;

  /** A caller that can leave; records what it was told. */
  private static final class Caller<T> implements LeaseCalls.Reply<T> {
    volatile boolean gone;
    final List<T> answers = new ArrayList<>();

    @Override
    public void answer(T response, List<Lease> granted) {
      answers.add(response);
    }

    @Override
    public void fail(StatusRuntimeException error) {
      throw new AssertionError("unexpected failure", error);
    }

    @Override
    public boolean isCancelled() {
      return gone;
    }
  }

  @BeforeEach
  void setUp() {
    SessionStream.Shared shared =
        InProcessBroker.streamsWithoutServer(
            InProcessBroker.config().limit(ResourceKind.PDF, 1).build(), time);
    broker = shared.broker();
    calls = shared.calls();
    FakeServerCallStreamObserver<SessionEvent> out = new FakeServerCallStreamObserver<>();
    stream = new SessionStream(shared, out, PRINCIPAL);
    stream.onNext(
        SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("w")).build());
    session = out.written.get(0).getOpened().getSessionId();
  }

  /** Moves the clock past one session TTL, heartbeating half-way so the session lives on. */
  private void pastOneTtl() {
    long ttlMs = broker.policy().broker().sessionTtl().toMillis();
    time.advanceMillis(ttlMs / 2);
    stream.onNext(
        SessionRequest.newBuilder()
            .setHeartbeat(dev.berth.proto.v1.Heartbeat.newBuilder().setSeq(++beats))
            .build());
    time.advanceMillis(ttlMs - ttlMs / 2 + 1);
    assertThat(broker.sessionCount()).as("the session lives on").isOne();
  }

  private AcquireRequest.Builder pdf() {
    return AcquireRequest.newBuilder()
        .setSessionId(session)
        .setKind(dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF);
  }

  private LeaseCalls.Pending acquire(AcquireRequest.Builder request, Caller<AcquireResponse> c) {
    return calls.acquire(request.build(), null, Long.MAX_VALUE, PRINCIPAL, c);
  }

  @Test
  void callerGoneBeforeAnImmediateGrant_noRequestId_leaseGivenBack() {
    Caller<AcquireResponse> gone = new Caller<>();
    gone.gone = true;

    acquire(pdf(), gone);
    assertThat(broker.inUse(ResourceKind.PDF)).as("granted, not yet given back").isOne();
    time.advanceMillis(1);

    assertThat(gone.answers).isEmpty();
    assertThat(broker.inUse(ResourceKind.PDF)).isZero();
  }

  @Test
  void callerGoneBeforeAnImmediateGrant_withRequestId_leaseKeptForTheRetry() {
    Caller<AcquireResponse> gone = new Caller<>();
    gone.gone = true;
    acquire(pdf().setRequestId("r1"), gone);
    time.advanceMillis(1);
    assertThat(broker.inUse(ResourceKind.PDF)).isOne();

    Caller<AcquireResponse> retry = new Caller<>();
    acquire(pdf().setRequestId("r1"), retry);

    assertThat(retry.answers).singleElement().satisfies(r -> assertThat(r.hasGranted()).isTrue());
    assertThat(broker.inUse(ResourceKind.PDF)).isOne();
    pastOneTtl();
    assertThat(broker.inUse(ResourceKind.PDF)).as("the retry has it").isOne();
  }

  /**
   * Nobody retried within one TTL: the grant is given back, not held until max hold, and a retry
   * after that is asked afresh rather than answered with a lease that is gone.
   */
  @Test
  void callerGoneBeforeAnImmediateGrant_withRequestId_noRetryWithinOneTtl_givenBack() {
    Caller<AcquireResponse> gone = new Caller<>();
    gone.gone = true;
    acquire(pdf().setRequestId("r1"), gone);
    String first = broker.leases().get(0).id();

    pastOneTtl();
    assertThat(broker.inUse(ResourceKind.PDF)).isZero();

    Caller<AcquireResponse> late = new Caller<>();
    acquire(pdf().setRequestId("r1"), late);
    assertThat(late.answers)
        .singleElement()
        .satisfies(r -> assertThat(r.getGranted().getLeaseId()).isNotEqualTo(first));
    assertThat(broker.inUse(ResourceKind.PDF)).isOne();
  }

  /**
   * A withdrawn call's grant (a stream cancel that crossed it) is given back and its request
   * forgotten, so a later call with the same id is decided afresh, not answered with the lease that
   * is gone.
   */
  @Test
  void withdrawnGrant_withRequestId_givenBackAndForgotten() {
    Caller<AcquireResponse> first = new Caller<>();
    acquire(pdf().setRequestId("r1"), first);
    String lease = first.answers.get(0).getGranted().getLeaseId();

    calls.giveBack(session, "r1", List.of(lease), PRINCIPAL);
    time.advanceMillis(1);
    assertThat(broker.inUse(ResourceKind.PDF)).isZero();

    Caller<AcquireResponse> again = new Caller<>();
    acquire(pdf().setRequestId("r1"), again);
    assertThat(again.answers)
        .singleElement()
        .satisfies(r -> assertThat(r.getGranted().getLeaseId()).isNotEqualTo(lease));
  }

  /** A repeat of the request was given the lease before the withdrawn call's give-back ran. */
  @Test
  void withdrawnGrant_aRepeatWasGivenIt_kept() {
    Caller<AcquireResponse> first = new Caller<>();
    acquire(pdf().setRequestId("r1"), first);
    String lease = first.answers.get(0).getGranted().getLeaseId();
    Caller<AcquireResponse> repeat = new Caller<>();
    acquire(pdf().setRequestId("r1"), repeat);
    assertThat(repeat.answers.get(0).getGranted().getLeaseId()).isEqualTo(lease);

    calls.giveBack(session, "r1", List.of(lease), PRINCIPAL);
    time.advanceMillis(1);

    assertThat(broker.inUse(ResourceKind.PDF)).as("the repeat's caller holds it").isOne();
  }

  @Test
  void callerGoneWhileItsAcquireWaited_grantDecidedLater_givenBack() {
    Caller<AcquireResponse> holder = new Caller<>();
    acquire(pdf(), holder);
    String held = holder.answers.get(0).getGranted().getLeaseId();
    Caller<AcquireResponse> waiter = new Caller<>();
    acquire(pdf().setWait(com.google.protobuf.Duration.newBuilder().setSeconds(60)), waiter);
    // The caller leaves, and the slot frees before its cancel reaches the broker.
    waiter.gone = true;

    calls.release(
        ReleaseRequest.newBuilder().setSessionId(session).setLeaseId(held).build(),
        null,
        PRINCIPAL);
    assertThat(broker.inUse(ResourceKind.PDF)).as("the waiter's grant").isOne();
    time.advanceMillis(1);

    assertThat(waiter.answers).isEmpty();
    assertThat(broker.inUse(ResourceKind.PDF)).isZero();
  }

  @Test
  void callerGoneBeforeABundleGrant_noRequestId_everyLeaseGivenBack() {
    Caller<AcquireBundleResponse> gone = new Caller<>();
    gone.gone = true;
    AcquireBundleRequest bundle =
        bundleOf(
            pdf().clearSessionId(),
            AcquireRequest.newBuilder()
                .setKind(dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER)
                .setUrl("https://a.example.com/"));

    calls.bundle(bundle, null, Long.MAX_VALUE, PRINCIPAL, gone);
    assertThat(broker.inUse(ResourceKind.PDF) + broker.inUse(ResourceKind.RENDER)).isEqualTo(2);
    time.advanceMillis(1);

    assertThat(broker.inUse(ResourceKind.PDF) + broker.inUse(ResourceKind.RENDER)).isZero();
  }

  /** A bundle of this session with {@code items}, which name no session of their own. */
  private AcquireBundleRequest bundleOf(AcquireRequest.Builder... items) {
    AcquireBundleRequest.Builder bundle = AcquireBundleRequest.newBuilder().setSessionId(session);
    for (AcquireRequest.Builder item : items) {
      bundle.addItems(item);
    }
    return bundle.build();
  }

  private AcquireRequest.Builder wasm() {
    return AcquireRequest.newBuilder()
        .setSessionId(session)
        .setKind(dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_WASM);
  }

  /**
   * A session holds one WASM instance, and asking again answers it. A caller gone before that
   * answer gives back nothing: the instance is the one the worker got first and still uses.
   */
  @Test
  void callerGoneBeforeARepeatedWasmAcquire_theInstanceTheSessionHeldIsKept() {
    Caller<AcquireResponse> first = new Caller<>();
    acquire(wasm(), first);
    String instance = first.answers.get(0).getGranted().getLeaseId();
    Caller<AcquireResponse> gone = new Caller<>();
    gone.gone = true;

    acquire(wasm(), gone);
    time.advanceMillis(1);

    assertThat(broker.inUse(ResourceKind.WASM)).isOne();
    assertThat(broker.release(session, instance, PRINCIPAL, Outcome.UNKNOWN).changed())
        .as("the holder's own release ends it")
        .isTrue();
  }

  /** The same for a bundle: its new leases go back, the instance the session held stays. */
  @Test
  void callerGoneBeforeABundleGrant_givesBackItsNewLeases_notTheInstanceTheSessionHeld() {
    Caller<AcquireResponse> first = new Caller<>();
    acquire(wasm(), first);
    Caller<AcquireBundleResponse> gone = new Caller<>();
    gone.gone = true;
    AcquireBundleRequest bundle = bundleOf(pdf().clearSessionId(), wasm().clearSessionId());

    calls.bundle(bundle, null, Long.MAX_VALUE, PRINCIPAL, gone);
    time.advanceMillis(1);

    assertThat(broker.inUse(ResourceKind.PDF)).isZero();
    assertThat(broker.inUse(ResourceKind.WASM)).isOne();
  }
}
