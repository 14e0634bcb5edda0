package dev.berth.server.grpc;

import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamAcquire;
import dev.berth.proto.v1.StreamAcquireBundle;
import dev.berth.proto.v1.StreamRelease;
import dev.berth.server.broker.Broker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.settings.Durations;
import dev.berth.server.time.TimeSource;
import dev.berth.server.wasm.InstanceStats;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiFunction;
import java.util.function.Consumer;

/**
 * One {@code OpenSession} stream: reads hello, heartbeats, acks, goodbye and the acquire and
 * release calls of its session from the worker, and is the {@link SessionChannel} through which the
 * broker pushes to it.
 *
 * <p>Calls on the stream ({@code acquire}, {@code release}) take the same path as the unary calls
 * ({@link LeaseCalls}) and are answered by {@code call_id}, in whatever order they are decided: a
 * waiting acquire holds up neither the stream nor the calls after it. A call's failure is a {@code
 * CallError} in its result and leaves the stream open; only a protocol violation (a call before
 * hello, no hello within {@code session.ttl}, a {@code call_id} already in flight) closes it. At
 * most {@link dev.berth.server.config.BrokerConfig#streamCallsInFlight} calls may be in flight;
 * when the stream ends, however it ends, its waiting acquires are cancelled and give their places
 * in the queue up. The worker may cancel one acquire or bundle by its call_id ({@code cancel}); a
 * grant that crosses the cancel is given back.
 *
 * <p>Outbound events go through an {@link OutboundQueue}: when the transport is not ready they
 * queue, a newer heartbeat ack replaces an unsent older one, and a worker that stops reading
 * altogether (more than {@link Limits#maxPendingEvents} queued) has its stream closed
 * RESOURCE_EXHAUSTED rather than growing the broker's heap. The session itself survives that until
 * its TTL, like any dropped stream.
 *
 * <p>Thread-safe: inbound messages arrive serially from gRPC; pushes may come from any thread.
 */
final class SessionStream implements StreamObserver<SessionRequest>, SessionChannel {
  /** The largest memory figure a worker may report, in MB (2^30 MB = 1 PiB). */
  private static final long MAX_MEMORY_MB = 1L << 30;

  /**
   * Per-stream bounds.
   *
   * @param maxPendingEvents outbound events queued for a reader that is not reading
   */
  record Limits(int maxPendingEvents) {
    static final Limits DEFAULT = new Limits(256);
  }

  /**
   * What every session stream of one service shares, held once: each idle session of a large fleet
   * holds a stream, and one reference here instead of five is 16 bytes less per session (G5 in
   * docs/benchmarks.md).
   *
   * @param onTerminated told once when a stream has ended, however it ended
   */
  record Shared(
      Broker broker,
      Protos protos,
      LeaseCalls calls,
      CallRate rate,
      Limits limits,
      Consumer<SessionStream> onTerminated) {}

  private final Shared shared;
  private final String principal;
  private final OutboundQueue<SessionEvent> out;

  /** Set once hello succeeds; read by any thread. */
  private volatile String sessionId;

  /**
   * Calls sent and not yet answered, by call_id. Added by the inbound thread; removed by whichever
   * thread answers (a waiting acquire is answered by the command that frees its capacity). Created
   * by the inbound thread at the stream's first call: most sessions of a large fleet only
   * heartbeat, and an empty map would cost each of them 64 bytes (G5 in docs/benchmarks.md).
   */
  private volatile ConcurrentHashMap<Long, StreamCall> inFlight;

  /**
   * Closes the stream if no hello comes in time; cancelled, and let go, at hello or the stream's
   * end, so that it is not queued for every session (heap per idle session, G5 in
   * docs/benchmarks.md).
   */
  private volatile TimeSource.Cancellable helloDeadline;

  /** Set when the stream has ended in any way: calls still in flight are cancelled. */
  private volatile boolean ended;

  // Heartbeat throttling; touched only by the inbound thread (gRPC delivers messages serially).
  private long minHeartbeatGapNanos;
  private long lastForwardedNanos;
  private long lastSeq = -1;
  private PressureLevel lastPressure = PressureLevel.NONE;
  // ints: a report above MAX_MEMORY_MB (2^30) is refused before it is kept; -1 before the first.
  private int lastUsedMb = -1;
  private int lastLimitMb = -1;
  // The domain values, never the wire messages: those keep any unknown fields a worker sends, up to
  // a whole 256 KiB message per stream for as long as it lives.
  private List<InstanceStats> lastWasmStats = List.of();

  SessionStream(Shared shared, ServerCallStreamObserver<SessionEvent> out, String principal) {
    this.shared = shared;
    this.principal = principal;
    this.out =
        new OutboundQueue<>(
            out,
            shared.limits().maxPendingEvents(),
            // Only the newest ack matters to a worker that is behind.
            (queued, next) -> queued.hasHeartbeatAck() && next.hasHeartbeatAck(),
            max ->
                "session stream not read: more than "
                    + max
                    + " events pending; reconnect and resume the session",
            this::ended);
    long helloWithin = shared.broker().config().sessionTtl().toNanos();
    helloDeadline = shared.protos().time().schedule(() -> helloOverdue(helloWithin), helloWithin);
  }

  /**
   * Closes a stream on which no hello came within {@code session.ttl} of its opening: it has no
   * session, so no cap counts it, and a client could otherwise hold any number of them open, each
   * taking the broker's heap for as long as its connection lives.
   */
  private void helloOverdue(long helloWithinNanos) {
    if (sessionId == null && !ended) {
      fail(
          Errors.toStatus(
              BrokerException.invalid(
                  "hello",
                  "none came within "
                      + BrokerConfig.Keys.SESSION_TTL
                      + " ("
                      + Durations.format(Duration.ofNanos(helloWithinNanos))
                      + ") of the stream's opening; the first message of a session stream must be"
                      + " hello")));
    }
  }

  // ------------------------------------------------------------ inbound

  @Override
  public void onNext(SessionRequest request) {
    try {
      switch (request.getMsgCase()) {
        case HELLO -> hello(request.getHello());
        case HEARTBEAT -> heartbeat(request.getHeartbeat());
        case ACK ->
            shared.broker().ack(requireSession("ack"), this, request.getAck().getCommandId());
        case GOODBYE -> shared.broker().goodbye(requireSession("goodbye"), this);
        case ACQUIRE -> acquire(request.getAcquire());
        case RELEASE -> release(request.getRelease());
        case ACQUIRE_BUNDLE -> acquireBundle(request.getAcquireBundle());
        case CANCEL -> cancel(request.getCancel().getCallId());
        case MSG_NOT_SET -> throw BrokerException.invalid("msg", "empty SessionRequest");
      }
    } catch (RuntimeException e) {
      fail(Errors.toStatus(e));
    }
  }

  private void hello(Hello hello) {
    if (sessionId != null) {
      throw BrokerException.invalid("hello", "sent twice on one stream");
    }
    Broker broker = shared.broker();
    Broker.Opened opened = broker.open(Protos.helloSpec(hello), principal, this);
    sessionId = opened.sessionId();
    cancelHelloDeadline();
    if (ended) {
      // The stream ended while the broker opened the session (its hello came just as the stream
      // was closed for being late): the session waits out its TTL detached, as a dropped stream's.
      disconnected();
      return;
    }
    minHeartbeatGapNanos = opened.heartbeatIntervalNanos() / 4;
    lastForwardedNanos =
        shared.protos().time().nanoTime() - minHeartbeatGapNanos; // forward the first
    send(Protos.opened(opened, broker.config().streamCallsInFlight()));
    Broker.Drain drain = opened.drain();
    if (drain != null) {
      drain(drain.commandId(), drain.deadline()); // after opened: a worker hears nothing before
    }
  }

  private void heartbeat(Heartbeat heartbeat) {
    String id = requireSession("heartbeat");
    if (heartbeat.getSeq() < 0 || heartbeat.getSeq() == Long.MAX_VALUE) {
      throw BrokerException.invalid("heartbeat.seq", "out of range");
    }
    requireMemory("heartbeat.memory_used_mb", heartbeat.getMemoryUsedMb());
    requireMemory("heartbeat.memory_limit_mb", heartbeat.getMemoryLimitMb());
    List<InstanceStats> wasmStats = Protos.wasmStats(heartbeat);
    long now = shared.protos().time().nanoTime();
    boolean nothingNew =
        heartbeat.getMemoryUsedMb() == lastUsedMb
            && heartbeat.getMemoryLimitMb() == lastLimitMb
            && wasmStats.equals(lastWasmStats);
    if (nothingNew && now - lastForwardedNanos < minHeartbeatGapNanos) {
      // Faster than a quarter of the interval with nothing new to say: answered, but it costs
      // the broker nothing. A changed memory or WASM usage report always goes through.
      if (heartbeat.getSeq() <= lastSeq) {
        throw BrokerException.invalid(
            "heartbeat.seq", "must increase, got " + heartbeat.getSeq() + " after " + lastSeq);
      }
      lastSeq = heartbeat.getSeq();
      // No timing in this ack: the session's life did not move, so the worker must not count it.
      send(Protos.heartbeatAck(heartbeat.getSeq(), lastPressure));
      return;
    }
    Broker.Beat beat =
        shared
            .broker()
            .heartbeat(
                id,
                this,
                heartbeat.getSeq(),
                heartbeat.getMemoryUsedMb(),
                heartbeat.getMemoryLimitMb(),
                wasmStats);
    lastForwardedNanos = now;
    minHeartbeatGapNanos = beat.heartbeatIntervalNanos() / 4; // a reload may have changed it
    lastPressure = beat.pressure();
    lastUsedMb = (int) heartbeat.getMemoryUsedMb();
    lastLimitMb = (int) heartbeat.getMemoryLimitMb();
    lastWasmStats = wasmStats;
    lastSeq = heartbeat.getSeq();
    send(Protos.heartbeatAck(heartbeat.getSeq(), beat));
  }

  // ------------------------------------------------------------ calls on the stream

  private void acquire(StreamAcquire message) {
    StreamCall call = admit(message.getCallId(), SessionRequest.MsgCase.ACQUIRE);
    if (call != null) {
      call.started(
          shared
              .calls()
              .acquire(
                  message.getRequest(),
                  sessionId,
                  Long.MAX_VALUE,
                  principal,
                  call.answer(Protos::acquireResult, message.getRequest().getRequestId())));
    }
  }

  private void acquireBundle(StreamAcquireBundle message) {
    StreamCall call = admit(message.getCallId(), SessionRequest.MsgCase.ACQUIRE_BUNDLE);
    if (call != null) {
      call.started(
          shared
              .calls()
              .bundle(
                  message.getRequest(),
                  sessionId,
                  Long.MAX_VALUE,
                  principal,
                  call.answer(Protos::bundleResult, message.getRequest().getRequestId())));
    }
  }

  private void release(StreamRelease message) {
    StreamCall call = admit(message.getCallId(), SessionRequest.MsgCase.RELEASE);
    if (call == null) {
      return;
    }
    ReleaseResponse response;
    try {
      response = shared.calls().release(message.getRequest(), sessionId, principal);
    } catch (StatusRuntimeException e) {
      call.fail(e);
      return;
    }
    if (call.finish()) {
      send(Protos.releaseResult(call.id, response));
    }
  }

  /**
   * Lets a call in: closes the stream for a protocol violation (before hello, a call_id in flight),
   * answers RESOURCE_EXHAUSTED beyond the in-flight cap, holds a call over the principal's call
   * rate back and then refuses it, as a unary call is; else registers the call as in flight.
   *
   * @return the call to serve, or null when it has been answered already (or will be, when held)
   */
  private StreamCall admit(long callId, SessionRequest.MsgCase kind) {
    requireSession(kind.name().toLowerCase(Locale.ROOT));
    StreamCall call = new StreamCall(callId, kind);
    int cap = shared.broker().config().streamCallsInFlight();
    ConcurrentHashMap<Long, StreamCall> inFlight = this.inFlight;
    if (inFlight == null) {
      inFlight = new ConcurrentHashMap<>();
      this.inFlight = inFlight; // before reading ended below, as cancelCalls sets it before reading
    }
    if (inFlight.size() >= cap) {
      if (inFlight.containsKey(callId)) {
        throw duplicate(callId);
      }
      send(
          Protos.callFailed(
              kind,
              callId,
              Status.RESOURCE_EXHAUSTED.withDescription(
                  "this session stream has "
                      + cap
                      + " calls in flight, its cap ("
                      + BrokerConfig.Keys.STREAM_CALLS_IN_FLIGHT
                      + "); wait for their results")));
      return null;
    }
    if (inFlight.putIfAbsent(callId, call) != null) {
      throw duplicate(callId);
    }
    if (ended) {
      call.finish(); // raced with the stream's end: nothing to answer
      return null;
    }
    Status refused = shared.rate().admit(principal);
    if (refused != null) {
      shared.rate().holdThen(() -> call.fail(refused.asRuntimeException()));
      return null;
    }
    return call;
  }

  /**
   * The worker's cancel of its acquire or bundle {@code callId}: one still in flight gives its
   * place in the queue up and is answered CANCELLED. One already answered, a release (answered at
   * once) or an unknown call_id is left alone: the worker releases a grant that crossed its cancel.
   */
  private void cancel(long callId) {
    requireSession("cancel");
    ConcurrentHashMap<Long, StreamCall> calls = inFlight;
    StreamCall call = calls == null ? null : calls.get(callId);
    if (call == null || call.kind == SessionRequest.MsgCase.RELEASE) {
      return;
    }
    // Withdrawn first: a grant that is decided now, and loses the race to answer, is given back.
    call.withdrawn = true;
    call.pending.cancel();
    if (call.finish()) {
      send(
          Protos.callFailed(
              call.kind,
              callId,
              Status.CANCELLED.withDescription(
                  "call " + Long.toUnsignedString(callId) + " cancelled by the worker")));
    }
  }

  private static BrokerException duplicate(long callId) {
    return BrokerException.invalid(
        "call_id",
        Long.toUnsignedString(callId)
            + " is already in flight on this stream; a call_id may be reused only after its"
            + " result");
  }

  /** Cancels every call still in flight: the stream has ended and nobody will read their answer. */
  private void cancelCalls() {
    ended = true;
    ConcurrentHashMap<Long, StreamCall> inFlight = this.inFlight;
    if (inFlight == null) {
      return; // no call was ever made on this stream
    }
    for (StreamCall call : inFlight.values()) {
      call.cancel();
    }
  }

  /**
   * One call in flight on this stream. It is answered once: the first of its answer, its failure
   * and the stream's end takes it out of {@link #inFlight}, so that its call_id is free again by
   * the time the worker reads the result.
   */
  private final class StreamCall {
    final long id;
    private final SessionRequest.MsgCase kind;
    private final AtomicBoolean done = new AtomicBoolean();
    volatile LeaseCalls.Pending pending = LeaseCalls.Pending.DONE;

    /** Set when the worker cancelled the call: a grant that finds it answered is given back. */
    volatile boolean withdrawn;

    StreamCall(long id, SessionRequest.MsgCase kind) {
      this.id = id;
      this.kind = kind;
    }

    /** Marks the call answered; true for the one caller that may send its result. */
    boolean finish() {
      if (!done.compareAndSet(false, true)) {
        return false;
      }
      ConcurrentHashMap<Long, StreamCall> calls = inFlight;
      if (calls != null) {
        calls.remove(id, this);
      }
      return true;
    }

    void fail(StatusRuntimeException e) {
      if (finish()) {
        send(Protos.callFailed(kind, id, e.getStatus()));
      }
    }

    void cancel() {
      if (finish()) {
        pending.cancel();
      }
    }

    /**
     * Keeps the handle of the call's acquire, which may still wait at the broker. The stream may
     * have ended on another thread (a resume elsewhere, expiry, shutdown, an unread stream) after
     * the broker returned and before the handle got here; {@link #cancel} then found no handle to
     * cancel, and the acquire would keep its place in the queue, and later take a lease for nobody.
     * Read after the handle is written, {@link #ended} tells, and the acquire gives its place up
     * now (cancelling twice is harmless).
     */
    void started(LeaseCalls.Pending handle) {
      pending = handle;
      if (ended) {
        handle.cancel();
      }
    }

    /**
     * Where the answer of this call, an acquire or a bundle, goes: {@code result} makes the
     * stream's event from the call id and the response. The leases an answer newly grants are given
     * back when the worker's cancel answered the call first (unless a repeat of {@code requestId}
     * was given them, see {@link LeaseCalls#giveBack}).
     */
    <T> LeaseCalls.Reply<T> answer(BiFunction<Long, T, SessionEvent> result, String requestId) {
      return new LeaseCalls.Reply<>() {
        @Override
        public void answer(T response, List<Lease> granted) {
          if (finish()) {
            send(result.apply(id, response));
          } else if (withdrawn) {
            // The worker's cancel answered the call first: nobody will hear of this grant.
            shared.calls().giveBack(sessionId, requestId, LeaseCalls.ids(granted), principal);
          }
        }

        @Override
        public void fail(StatusRuntimeException e) {
          StreamCall.this.fail(e);
        }

        @Override
        public boolean isCancelled() {
          return ended;
        }
      };
    }
  }

  private static void requireMemory(String field, long mb) {
    if (mb < 0 || mb > MAX_MEMORY_MB) {
      throw BrokerException.invalid(field, "must be 0.." + MAX_MEMORY_MB + " (1 PiB)");
    }
  }

  private String requireSession(String what) {
    String id = sessionId;
    if (id == null) {
      throw BrokerException.invalid(what, "the first message of a session stream must be hello");
    }
    return id;
  }

  @Override
  public void onError(Throwable t) {
    // The worker went away (cancelled, connection lost). The session outlives the stream; its
    // calls do not.
    cancelCalls();
    disconnected();
  }

  @Override
  public void onCompleted() {
    // Half-close without goodbye: the worker is done with this stream, not with its session.
    disconnected();
    out.close(Status.OK);
  }

  /**
   * The stream ended: a worker that went away or stopped reading keeps its session until the TTL,
   * detached; the stream is forgotten either way.
   */
  private void ended(OutboundQueue.End how) {
    cancelHelloDeadline();
    cancelCalls();
    if (how != OutboundQueue.End.CLOSED) {
      disconnected();
    }
    shared.onTerminated().accept(this);
  }

  private void cancelHelloDeadline() {
    TimeSource.Cancellable deadline = helloDeadline;
    if (deadline != null) {
      helloDeadline = null;
      deadline.cancel();
    }
  }

  /** Ends the stream with {@code status} whatever its state, e.g. at shutdown. */
  void terminate(StatusRuntimeException error) {
    out.close(error.getStatus(), error.getTrailers());
  }

  private void disconnected() {
    String id = sessionId;
    if (id != null) {
      shared.broker().detach(id, this);
    }
  }

  // ------------------------------------------------------------ outbound (SessionChannel)

  @Override
  public void revoke(long commandId, String leaseId, RevokeReason reason, long graceNanos) {
    send(Protos.revoke(commandId, leaseId, reason, graceNanos));
  }

  @Override
  public void cleanup(long commandId, long targetFreeMb, String reason) {
    send(Protos.cleanup(commandId, targetFreeMb, reason));
  }

  @Override
  public void drain(long commandId, Instant deadline) {
    send(Protos.drain(commandId, deadline));
  }

  @Override
  public void close(CloseReason why, String detail) {
    switch (why) {
      case GOODBYE -> out.close(Status.OK);
      case EXPIRED -> out.close(Status.NOT_FOUND.withDescription(detail));
      case REPLACED -> out.close(Status.ABORTED.withDescription(detail));
      case SHUTDOWN -> out.close(Status.UNAVAILABLE.withDescription(detail));
    }
  }

  /** Closes the stream for a protocol fault; the session itself is left to its TTL. */
  private void fail(StatusRuntimeException error) {
    disconnected();
    out.close(error.getStatus());
  }

  private void send(SessionEvent event) {
    out.offer(event);
  }
}
