package dev.berth.server.grpc;

import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.BundleDecision;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.Callback;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.Broker;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.time.TimeSource;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one path of an Acquire and a Release, whichever way they arrive: as unary calls ({@link
 * LeaseBrokerService}) or as calls on a session stream ({@link SessionStream}). Validation,
 * admission, request-id idempotency, waits, in-band refusals, per-principal caps and the acquire
 * timings are all here, so the two transports cannot drift apart; they differ only in how an answer
 * travels ({@link Reply}) and in how a request names its session.
 *
 * <p>Thread-safe.
 */
final class LeaseCalls {
  private static final Logger log = LoggerFactory.getLogger(LeaseCalls.class);

  /** Where the answer of one call goes. Told exactly once, from whichever thread decides it. */
  interface Reply<T> {
    /**
     * The call succeeded with {@code response} (for an acquire: a grant or an in-band refusal).
     *
     * @param granted the leases {@code response} newly grants (not a WASM instance the session
     *     already held): what to give back if nobody will hear of the answer
     */
    void answer(T response, List<Lease> granted);

    /** The call failed as a unary call would have failed with {@code error}. */
    void fail(StatusRuntimeException error);

    /** Whether the caller has gone: a waiting acquire then gives its place up. */
    boolean isCancelled();
  }

  /** The handle of an acquire whose caller may go away while it waits. */
  interface Pending {
    /** Nothing to cancel: the call was answered at once. */
    Pending DONE = () -> {};

    /** The caller has gone; stop waiting for it (a no-op once answered). */
    void cancel();
  }

  private final Broker broker;
  private final Protos protos;
  private final TimeSource time;
  private final AcquireTimings timings;

  LeaseCalls(Broker broker, Protos protos, TimeSource time, AcquireTimings timings) {
    this.broker = broker;
    this.protos = protos;
    this.time = time;
    this.timings = timings;
  }

  /**
   * Starts one acquire; {@code reply} hears its answer or failure, possibly before this returns. A
   * caller that goes away before the answer cancels the returned handle, which frees its place in
   * the queue; a reply already cancelled when the broker returns is cancelled here.
   *
   * @param streamSession the session of the stream that carries the call, or null for a unary call
   *     (which must name its session)
   * @param waitBoundNanos the longest the caller can wait for an answer (a unary call's deadline
   *     less a margin), or {@link Long#MAX_VALUE} when only the request's own wait bounds it
   */
  Pending acquire(
      AcquireRequest request,
      String streamSession,
      long waitBoundNanos,
      String principal,
      Reply<AcquireResponse> reply) {
    long startNanos = time.nanoTime();
    try {
      AcquireSpec spec = Protos.acquireSpec(request, sessionOf(request, streamSession));
      if (spec.waitNanos() > waitBoundNanos) {
        spec = spec.withWaitNanos(Math.max(0, waitBoundNanos));
      }
      Answer<Decision, AcquireResponse> answer =
          new Answer<>(
              reply,
              spec.kind(),
              startNanos,
              protos::acquireResponse,
              d -> d instanceof Decision.Granted g ? g.newlyGranted() : List.of(),
              principal,
              spec.requestId());
      return started(broker.acquire(spec, principal, answer), answer, reply);
    } catch (RuntimeException e) {
      reply.fail(Errors.toStatus(e));
      return Pending.DONE;
    }
  }

  /**
   * Starts one bundle: every lease or one refusal naming the item and rule. Like {@link #acquire}
   * in every other way (the same reply, cancel and wait-bound contract); its latency is counted
   * with its first item's kind.
   */
  Pending bundle(
      AcquireBundleRequest request,
      String streamSession,
      long waitBoundNanos,
      String principal,
      Reply<AcquireBundleResponse> reply) {
    long startNanos = time.nanoTime();
    try {
      BundleSpec spec =
          Protos.bundleSpec(request, sessionOf(request.getSessionId(), streamSession));
      if (spec.waitNanos() > waitBoundNanos) {
        spec = spec.withWaitNanos(Math.max(0, waitBoundNanos));
      }
      Answer<BundleDecision, AcquireBundleResponse> answer =
          new Answer<>(
              reply,
              spec.item(0).kind(),
              startNanos,
              protos::bundleResponse,
              d -> d instanceof BundleDecision.Granted g ? g.newlyGranted() : List.of(),
              principal,
              spec.requestId());
      return started(broker.acquireBundle(spec, principal, answer), answer, reply);
    } catch (RuntimeException e) {
      reply.fail(Errors.toStatus(e));
      return Pending.DONE;
    }
  }

  /** The broker returned; a caller that left while it decided gives its place up now. */
  private static Pending started(
      Broker.PendingAcquire pending, Answer<?, ?> answer, Reply<?> reply) {
    answer.returned = true;
    if (reply.isCancelled()) {
      pending.cancel();
      return Pending.DONE;
    }
    return pending::cancel;
  }

  /**
   * Releases one lease, idempotently.
   *
   * @param streamSession as for {@link #acquire}
   * @throws StatusRuntimeException the status a unary Release answers for a bad request
   */
  ReleaseResponse release(ReleaseRequest request, String streamSession, String principal) {
    try {
      String sessionId = sessionOf(request.getSessionId(), streamSession);
      AcquireSpec.requireId("session_id", sessionId, true);
      AcquireSpec.requireId("lease_id", request.getLeaseId(), true);
      Outcome outcome =
          request.hasOutcome() ? Protos.outcome(request.getOutcome()) : Outcome.UNKNOWN;
      return Protos.releaseResponse(
          broker.release(sessionId, request.getLeaseId(), principal, outcome));
    } catch (RuntimeException e) {
      throw Errors.toStatus(e);
    }
  }

  private static String sessionOf(AcquireRequest request, String streamSession) {
    return sessionOf(request.getSessionId(), streamSession);
  }

  /**
   * The session a request acts for. A unary call names it; on a stream it may be left empty for the
   * stream's own session, and any other is refused INVALID_ARGUMENT: a stream acts for its session
   * only, and the answer does not tell whether the other session exists.
   */
  private static String sessionOf(String named, String streamSession) {
    if (streamSession == null || named.equals(streamSession)) {
      return named; // validated with the rest of the request
    }
    if (named.isEmpty()) {
      return streamSession;
    }
    throw BrokerException.invalid(
        "session_id", "on a session stream, leave it empty or name the stream's own session");
  }

  /**
   * Sends the one answer of an acquire or a bundle, from whichever thread decides it, and times it.
   * An answer given on the calling thread before the broker returned was decided at once; any other
   * answer came after a wait in the queue.
   *
   * <p>A grant whose caller is gone by then is given back when its request had no {@code
   * request_id}: nobody can ever learn of that lease, and it would hold its slot until max hold or
   * its session's end. A grant with a {@code request_id} is kept for one session TTL, since a retry
   * with that id gets it; if none has come by then, the request is forgotten and the grant given
   * back ({@link Broker#forgetUnclaimed}), so a caller that never retries costs one TTL of the
   * slot, not its max hold. The release runs on the scheduler, after this command's own effects, so
   * every listener still hears of the grant before its end.
   */
  private final class Answer<A, R> implements Callback<A> {
    private final Reply<R> reply;
    private final ResourceKind kind;
    private final long startNanos;
    private final Function<A, R> response;
    private final Function<A, List<Lease>> leases;
    private final String principal;
    private final String requestId;
    private final Thread caller = Thread.currentThread();
    volatile boolean returned;

    /**
     * @param leases the leases a decision newly grants (not an instance its session already held)
     * @param principal who asked: the grant of a caller that left is given back as it
     * @param requestId the request's {@code request_id}, empty for none
     */
    Answer(
        Reply<R> reply,
        ResourceKind kind,
        long startNanos,
        Function<A, R> response,
        Function<A, List<Lease>> leases,
        String principal,
        String requestId) {
      this.reply = reply;
      this.kind = kind;
      this.startNanos = startNanos;
      this.response = response;
      this.leases = leases;
      this.principal = principal;
      this.requestId = requestId;
    }

    @Override
    public void decided(A decision) {
      boolean queued = returned || Thread.currentThread() != caller;
      timings.answered(kind, time.nanoTime() - startNanos, queued);
      List<Lease> granted = leases.apply(decision);
      if (!reply.isCancelled()) {
        reply.answer(response.apply(decision), granted);
        return;
      }
      if (!granted.isEmpty()) {
        // Without a request_id nobody can ask for it: back at once. With one, a retry may.
        giveBack(
            granted.get(0).sessionId(),
            requestId,
            ids(granted),
            principal,
            requestId.isEmpty() ? 0 : broker.policy().broker().sessionTtl().toNanos());
      }
    }

    @Override
    public void failed(BrokerException error) {
      if (!reply.isCancelled()) {
        reply.fail(Errors.toStatus(error));
      }
    }
  }

  /** The ids of {@code leases}. */
  static List<String> ids(List<Lease> leases) {
    return leases.isEmpty() ? List.of() : leases.stream().map(Lease::id).toList();
  }

  /**
   * Gives back, on the scheduler, leases granted to a call whose caller withdrew it (a stream
   * call's cancel that crossed the grant), whether or not its request had a {@code request_id}: the
   * caller said it no longer wants them. With a {@code request_id} the request is forgotten first,
   * so a later call with that id is decided afresh instead of being answered with leases that are
   * gone; and when a repeat of it was already given the leases, they are kept, since that caller
   * holds them ({@link Broker#forgetUnclaimed}).
   */
  void giveBack(String sessionId, String requestId, List<String> leaseIds, String principal) {
    giveBack(sessionId, requestId, leaseIds, principal, 0);
  }

  /** {@link #giveBack(String, String, List, String)} once {@code delayNanos} have passed. */
  private void giveBack(
      String sessionId,
      String requestId,
      List<String> leaseIds,
      String principal,
      long delayNanos) {
    if (!leaseIds.isEmpty()) {
      time.schedule(
          () -> {
            if (requestId.isEmpty() || broker.forgetUnclaimed(sessionId, requestId, leaseIds)) {
              for (String leaseId : leaseIds) {
                giveBack(sessionId, leaseId, principal);
              }
            }
          },
          delayNanos);
    }
  }

  private void giveBack(String sessionId, String leaseId, String principal) {
    try {
      broker.release(sessionId, leaseId, principal, Outcome.UNKNOWN);
    } catch (RuntimeException e) {
      // The session ended meanwhile, and the lease with it; or the broker stopped.
      log.debug("giving back lease {} of a caller that left failed", leaseId, e);
    }
  }
}
