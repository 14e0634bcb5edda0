package dev.berth.client.internal;

import dev.berth.client.BrokerClientProvider.Settings;
import dev.berth.client.BrokerException;
import dev.berth.client.CleanupRequest;
import dev.berth.client.DrainRequest;
import dev.berth.client.MemoryProbe;
import dev.berth.client.RevokedLease;
import dev.berth.client.SessionLost;
import dev.berth.client.SessionOptions;
import dev.berth.client.Ticker;
import dev.berth.proto.v1.Ack;
import dev.berth.proto.v1.CallError;
import dev.berth.proto.v1.Goodbye;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.HeartbeatAck;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.Revoke;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamCancel;
import dev.berth.proto.v1.StreamRelease;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import java.util.stream.Collectors;

/**
 * The {@code OpenSession} stream of one worker session, and its life: hello, heartbeats, the
 * broker's pushes, and reconnecting with back-off to resume the session.
 *
 * <p>Confined to the session's own thread (the "loop"): every method here runs on it, and gRPC's
 * callbacks only hand events to it, so nothing blocks a gRPC thread and no state needs a lock. The
 * few fields other threads read are volatile. Its timers (heartbeats, the back-off, the wait for
 * the answer to a hello) are scheduled through the client's {@link Ticker}, which runs them on the
 * loop, so a test moves them with a fake clock.
 */
final class SessionConnection {
  private static final System.Logger log = System.getLogger(SessionConnection.class.getName());
  private static final long DEFAULT_HEARTBEAT_NANOS = Duration.ofSeconds(2).toNanos();
  private static final long DEFAULT_TTL_NANOS = Duration.ofSeconds(10).toNanos();
  private static final long DEFAULT_MARGIN_NANOS = Duration.ofSeconds(1).toNanos();
  private static final int MAX_UNACKED_HEARTBEATS = 64;

  /**
   * The broker's default of {@code session.stream_calls_in_flight}, for a broker whose {@code
   * opened} does not say.
   */
  static final int DEFAULT_CALLS_IN_FLIGHT = 64;

  /**
   * What the connection reports as it goes, on the loop. The SDK's tests listen, to know when the
   * session has acted on what they did; the SDK itself sets no listener.
   */
  interface Events {
    Events NONE = new Events() {};

    /** The broker answered a hello: it resumed the session, or opened a fresh one. */
    default void opened(boolean resumed) {}

    /** The broker acknowledged heartbeats up to {@code seq}. */
    default void heartbeatAcked(long seq) {}

    /** The stream ended; the next attempt to reconnect comes after {@code delay}. */
    default void reconnectScheduled(Duration delay) {}

    /** A lease call waits for a live stream, with {@code waiting} calls in all. */
    default void callHeld(int waiting) {}

    /**
     * A lease call waits for room under the stream's in-flight cap, with {@code waiting} calls in
     * all.
     */
    default void callQueued(int waiting) {}
  }

  /** Where the session is in its life. */
  enum State {
    /** The first hello is sent; {@code openSession} waits for the broker's answer. */
    CONNECTING,
    /** The stream is up and the broker has answered hello; heartbeats run. */
    LIVE,
    /** The stream dropped; a reconnect is scheduled, or its hello awaits an answer. */
    RECONNECTING,
    /** Goodbye is sent; waiting for the broker to end the stream. */
    CLOSING,
    /** Nothing more happens: closed by the worker, or given up after a fatal error. */
    CLOSED
  }

  private final Executor loop;
  private final LeaderTargets targets;
  private final Settings settings;
  private final long callDeadlineNanos;
  private final String workerId;
  private final SessionOptions options;
  private final LeaseRegistry leases;
  private final Listeners listeners;
  private final Ticker ticker;
  private final Backoff backoff;

  private volatile State state = State.CONNECTING;
  private volatile SessionGeneration generation;
  private volatile boolean draining;
  private volatile String closedReason = "";
  private volatile Events events = Events.NONE;

  /** The session's safe-mode leases, declared on resume; null when safe mode is off. */
  private volatile LocalLeases localLeases;

  /** When the live stream was last lost (ticker nanos); meaningful while RECONNECTING. */
  private volatile long downSinceNanos;

  private Stream stream;
  private long seq;
  private long lastAckReceivedNanos;
  private long lastMemoryMb;
  private long heartbeatIntervalNanos;
  private Future<?> heartbeats;

  /** When the scheduled heartbeat is due (session thread only). */
  private long heartbeatDueNanos;

  private Future<?> reconnect;
  private CompletableFuture<Void> firstOpened;
  private CompletableFuture<Void> closeDone;

  /** How the last stream ended, for calls that waited in vain for the next one. */
  private String lastEnded = "";

  /** When the first hello was sent: the session gives up opening one call deadline later. */
  private long openStartedNanos;

  /** What the session learned about the members since its last stream opened. */
  private final LeaderSearch search = new LeaderSearch();

  /** The last call_id used on any of this session's streams; ids are never reused. */
  private long lastCallId;

  /** Lease calls waiting for a live stream (before the first, or while reconnecting), in order. */
  private final ArrayDeque<Call> waitingForStream = new ArrayDeque<>();

  /**
   * Lease calls waiting, in order, for an answer on the live stream to make room under its cap: the
   * broker answers a call beyond {@link #callCap} RESOURCE_EXHAUSTED, so the SDK holds it back.
   */
  private final ArrayDeque<Call> waitingForRoom = new ArrayDeque<>();

  /** How many calls the live stream may have unanswered, as the broker said when it opened. */
  private int callCap = DEFAULT_CALLS_IN_FLIGHT;

  SessionConnection(
      Executor loop,
      LeaderTargets targets,
      Settings settings,
      String workerId,
      SessionOptions options,
      LeaseRegistry leases,
      Listeners listeners) {
    this.loop = loop;
    this.targets = targets;
    this.settings = settings;
    this.callDeadlineNanos = settings.callDeadline().toNanos();
    this.workerId = workerId;
    this.options = options;
    this.leases = leases;
    this.listeners = listeners;
    this.ticker = settings.ticker();
    this.backoff =
        new Backoff(
            settings.reconnectInitial().toNanos(),
            settings.reconnectMax().toNanos(),
            () -> ThreadLocalRandom.current().nextDouble());
  }

  // ---------------------------------------------------------------- read from any thread

  State state() {
    return state;
  }

  /** The current broker session; null until the first {@code opened}. */
  SessionGeneration generation() {
    return generation;
  }

  boolean draining() {
    return draining;
  }

  /** Why the session is closed, when it is; empty otherwise or when closed by the worker. */
  String closedReason() {
    return closedReason;
  }

  /** Reports what happens from now on to {@code listener} (for the SDK's tests). */
  void observe(Events listener) {
    this.events = listener;
  }

  // ---------------------------------------------------------------- commands (on the loop)

  /** Opens the stream; {@code opened} completes at the broker's answer or fails with the error. */
  void start(CompletableFuture<Void> opened) {
    this.firstOpened = opened;
    openStartedNanos = ticker.nanoTime();
    connect();
  }

  /** Says goodbye (when connected) and ends the stream; {@code done} completes when it has. */
  void close(CompletableFuture<Void> done) {
    if (state == State.CLOSED) {
      done.complete(null);
      return;
    }
    if (state == State.CLOSING) {
      // The chained stage only completes done and cannot fail, so there is nothing to observe.
      var unused = closeDone.whenComplete((v, e) -> done.complete(null));
      return;
    }
    cancelTimers();
    leases.endAll();
    Stream s = stream;
    failCalls(s, closedError());
    if (s != null && s.opened) {
      state = State.CLOSING;
      closeDone = done;
      s.send(SessionRequest.newBuilder().setGoodbye(Goodbye.getDefaultInstance()).build());
      s.requests.onCompleted();
    } else {
      state = State.CLOSED;
      if (s != null) {
        stream = null;
        s.requests.cancel("session closed by the worker", null);
      }
      failFirstOpened(new BrokerException(BrokerException.Condition.CANCELLED, "session closed"));
      done.complete(null);
    }
  }

  /** Gives up waiting for the goodbye to be answered. */
  void abort() {
    cancelTimers();
    Stream s = stream;
    stream = null;
    state = State.CLOSED;
    failCalls(s, closedError());
    if (s != null) {
      s.requests.cancel("session closed by the worker", null);
    }
    if (closeDone != null) {
      closeDone.complete(null);
    }
  }

  /**
   * Makes a lease call on the session stream; {@code call} completes with the broker's answer, or
   * fails when its deadline passes first, when its session was lost, or when the session closes.
   * While the stream is reconnecting the call waits for it; a call in flight on a stream that drops
   * is sent again on the next one, with the same request (so with the same request_id, which the
   * broker answers as it did the first time: never granted twice).
   */
  void call(Call call, Duration deadline) {
    if (state == State.CLOSING || state == State.CLOSED) {
      call.fail(closedError());
      return;
    }
    call.deadline = ticker.schedule(loop, guarded(() -> callTimedOut(call, deadline)), deadline);
    sendOrHold(call);
  }

  /**
   * Sends {@code call} on the live stream, or holds it until there is one. A call whose caller gave
   * up before it was ever sent is dropped: no broker has seen it.
   */
  private void sendOrHold(Call call) {
    if (call.answer.isDone() && !call.sent) {
      return;
    }
    Stream s = stream;
    if (state != State.LIVE || s == null || !s.opened) {
      waitingForStream.addLast(call);
      events.callHeld(waitingForStream.size());
      return;
    }
    if (call.generation != null && call.generation != generation) {
      call.fail(
          new BrokerException(
              BrokerException.Condition.NOT_FOUND,
              "session " + call.generation.sessionId() + " was lost before the call was answered"));
      return;
    }
    if (s.calls.size() >= callCap) {
      if (call.release != null) {
        // A release frees capacity that the calls filling the stream may be waiting for: it must
        // not wait behind them, so it goes as a unary call, which the stream's cap does not count.
        releaseUnary(call);
        return;
      }
      waitingForRoom.addLast(call);
      events.callQueued(waitingForRoom.size());
      return;
    }
    long id = ++lastCallId;
    s.calls.put(id, call);
    call.sent = true;
    s.send(call.request.apply(id));
    if (call.withdrawn) {
      cancel(s, id); // sent again on a new stream only to learn whether an old one granted it
    }
  }

  /**
   * Withdraws an acquire or bundle whose caller gave up (its thread was interrupted): one no broker
   * has seen is dropped; one in flight on the live stream is cancelled at the broker, which gives
   * its place in the queue up and answers CANCELLED, so no slot is granted for nobody. A grant that
   * crossed the cancel is released when it comes, as any grant nobody waits for. A broker that
   * predates cancels keeps the call waiting until it is decided; a grant is then released.
   */
  void withdraw(Call call) {
    call.withdrawn = true;
    if (!call.mayHaveGranted()) {
      waitingForStream.remove(call);
      waitingForRoom.remove(call);
      return;
    }
    Stream s = stream;
    if (s == null || !s.opened) {
      return; // held for the next stream, where it is sent and then cancelled
    }
    for (Map.Entry<Long, Call> e : s.calls.entrySet()) {
      if (e.getValue() == call) {
        cancel(s, e.getKey());
        return;
      }
    }
  }

  private static void cancel(Stream s, long callId) {
    if (s.cancels) {
      s.send(
          SessionRequest.newBuilder()
              .setCancel(StreamCancel.newBuilder().setCallId(callId))
              .build());
    }
  }

  /** Sends {@code call}, a release, as a unary Release; its answer completes the call. */
  private void releaseUnary(Call call) {
    releaseUnary(
        call.release,
        new StreamObserver<ReleaseResponse>() {
          @Override
          public void onNext(ReleaseResponse response) {
            call.answer.complete(
                SessionEvent.newBuilder()
                    .setReleaseResult(
                        dev.berth.proto.v1.ReleaseResult.newBuilder().setResponse(response))
                    .build());
            call.cancelDeadline();
          }

          @Override
          public void onError(Throwable t) {
            call.fail(Errors.fromGrpc(t));
          }

          @Override
          public void onCompleted() {}
        });
  }

  /**
   * Sends {@code request} as a unary Release to the member that leads, answering {@code observer}.
   * A channel to it that cannot be made fails the call as one the member did not answer.
   */
  private void releaseUnary(ReleaseRequest request, StreamObserver<ReleaseResponse> observer) {
    Channel channel;
    try {
      channel = targets.channelForCall(targets.current());
    } catch (StatusRuntimeException e) {
      observer.onError(e);
      return;
    }
    LeaseBrokerGrpc.newStub(channel)
        .withDeadlineAfter(callDeadlineNanos, TimeUnit.NANOSECONDS)
        .release(request, observer);
  }

  /** Sends the calls waiting for room, as far as the cap now allows. */
  private void sendQueuedCalls(Stream s) {
    while (!waitingForRoom.isEmpty() && s.calls.size() < callCap) {
      sendOrHold(waitingForRoom.pollFirst());
    }
  }

  /**
   * Ends {@code call} at its deadline: UNAVAILABLE (transient) when it was still waiting for a
   * stream, saying why the last one ended; DEADLINE_EXCEEDED when the broker had it and did not
   * answer. Its caller gives up; an acquire a broker may have granted is still seen through.
   */
  private void callTimedOut(Call call, Duration deadline) {
    if (call.answer.isDone()) {
      return;
    }
    if (waitingForStream.contains(call)) {
      if (!call.mayHaveGranted()) {
        waitingForStream.remove(call);
      }
      // One the broker may have granted before its stream dropped stays queued: sent again on the
      // next stream, with the same request_id, it learns the first answer, and a grant is given
      // back (see answered) rather than held at the broker for nobody.
      call.fail(
          new BrokerException(
              BrokerException.Condition.UNAVAILABLE,
              "no session stream to the broker within "
                  + deadline
                  + (lastEnded.isEmpty() ? "" : "; the last one ended with " + lastEnded)));
      return;
    }
    if (waitingForRoom.remove(call)) {
      call.fail(
          new BrokerException(
              BrokerException.Condition.DEADLINE_EXCEEDED,
              "not sent within "
                  + deadline
                  + ": the session stream had "
                  + callCap
                  + " calls in flight, the broker's cap (session.stream_calls_in_flight)"));
      return;
    }
    // The call stays in the stream's map: the broker still counts it against the cap until it
    // answers, and a late answer is then handled as one nobody waits for.
    call.fail(
        new BrokerException(
            BrokerException.Condition.DEADLINE_EXCEEDED,
            "no answer from the broker within " + deadline));
  }

  /** The answer to a call on {@code s}; a grant nobody waits for any more is given back. */
  private void answered(Stream s, long callId, SessionEvent event) {
    Call call = s.calls.remove(callId);
    if (s == stream) {
      sendQueuedCalls(s);
    }
    if (call != null && call.answer.complete(event)) {
      call.cancelDeadline();
      return;
    }
    List<String> orphans = grantedLeaseIds(event);
    for (String leaseId : orphans) {
      // Its caller gave up (deadline, interrupt): release the lease rather than hold it unused.
      log.log(Level.INFO, "releasing lease {0}, granted after its caller gave up", leaseId);
      // Named by its session, which a unary release (when the stream is at its cap) needs.
      ReleaseRequest release =
          ReleaseRequest.newBuilder()
              .setSessionId(generation.sessionId())
              .setLeaseId(leaseId)
              .build();
      // Nobody's span is current here: the broker's Release span starts a trace of its own.
      Call giveBack = Call.release(null, release, SdkTracing.StreamTrace.NONE);
      // Nobody waits for it either: a failure that may pass goes to the session's queue of releases
      // retried with the next heartbeat or resume, so the lease is not left at the broker.
      var unused =
          giveBack.answer.whenComplete(
              (answer, error) -> {
                if (releaseMayPass(answer, error)) {
                  leases.queueRelease(release);
                }
              });
      sendOrHold(giveBack);
    }
  }

  /**
   * Whether a release that ended with {@code answer} or {@code error} failed in a way a retry may
   * get past (no stream, the stream's cap, a deadline, the session closing): not an answer, nor a
   * refusal that names the lease or session.
   */
  private static boolean releaseMayPass(SessionEvent answer, Throwable error) {
    if (error != null) {
      return error instanceof BrokerException b
          && (b.isTransient() || b.condition() == BrokerException.Condition.CANCELLED);
    }
    if (!answer.hasReleaseResult() || !answer.getReleaseResult().hasError()) {
      return false;
    }
    CallError e = answer.getReleaseResult().getError();
    return Errors.fromStatus(Status.fromCodeValue(e.getCode()), null).isTransient();
  }

  /** The leases an acquire or bundle result grants; empty for any other answer. */
  private static List<String> grantedLeaseIds(SessionEvent event) {
    if (event.hasAcquireResult()
        && event.getAcquireResult().hasResponse()
        && event.getAcquireResult().getResponse().hasGranted()) {
      return List.of(event.getAcquireResult().getResponse().getGranted().getLeaseId());
    }
    if (event.hasBundleResult()
        && event.getBundleResult().hasResponse()
        && event.getBundleResult().getResponse().hasGranted()) {
      return event.getBundleResult().getResponse().getGranted().getLeasesList().stream()
          .map(dev.berth.proto.v1.Lease::getLeaseId)
          .toList();
    }
    return List.of();
  }

  /** Ends every call still waiting: the session is closed or gave up. */
  private void failCalls(Stream s, BrokerException error) {
    List<Call> calls = new ArrayList<>(waitingForStream);
    waitingForStream.clear();
    calls.addAll(waitingForRoom);
    waitingForRoom.clear();
    if (s != null) {
      calls.addAll(s.calls.values());
      s.calls.clear();
    }
    for (Call call : calls) {
      call.fail(error);
    }
  }

  /** Sends the calls held while there was no live stream, and those in flight on a dropped one. */
  private void sendHeldCalls() {
    List<Call> held = new ArrayList<>(waitingForStream);
    waitingForStream.clear();
    for (Call call : held) {
      sendOrHold(call);
    }
  }

  private BrokerException closedError() {
    return new BrokerException(
        BrokerException.Condition.CANCELLED,
        "session of "
            + workerId
            + " is closed"
            + (closedReason.isEmpty() ? "" : ": " + closedReason));
  }

  /** Drops the stream as a broken connection would; the session resumes after its back-off. */
  void dropStream() {
    if (stream != null) {
      stream.requests.cancel("stream dropped on purpose", null);
    }
  }

  // ---------------------------------------------------------------- the stream

  private void connect() {
    String target = targets.current();
    Stream s = new Stream(target);
    stream = s;
    try {
      LeaseBrokerGrpc.newStub(targets.channelForCall(target)).openSession(s);
    } catch (StatusRuntimeException e) {
      // No channel to the member (e.g. its TLS files are mid-rotation): the attempt failed as one
      // to a member that does not answer, and the session backs off to the next.
      onEnded(s, e.getStatus(), e);
      return;
    }
    Hello.Builder hello =
        Hello.newBuilder()
            .setWorkerId(workerId)
            .setJob(options.job())
            .putAllLabels(options.labels())
            .setMemoryLimitMb(options.memoryLimitMb());
    SessionGeneration g = generation;
    if (g != null) {
      hello.setResumeSessionId(g.sessionId()).addAllHeldLeases(leases.declare(g, localLeases));
      if (!settings.unaryLeaseCalls()) {
        // Every acquire of this session goes on its stream, and the old stream's answers are
        // gone: the declaration is complete, so the broker ends what it leaves out (releases it
        // never recorded) except the grants of the calls that are sent again on this stream.
        hello.setHeldLeasesComplete(true).addAllAwaitedRequestIds(awaitedRequestIds());
      }
    }
    // Armed before the hello leaves: once anyone has seen the hello, its timeout is running.
    s.helloTimeout =
        ticker.schedule(loop, guarded(() -> helloTimedOut(s)), settings.callDeadline());
    s.helloSentNanos = ticker.nanoTime();
    s.send(SessionRequest.newBuilder().setHello(hello).build());
  }

  /**
   * The request ids of the acquires and bundles that reached an earlier stream and were not
   * answered: they are sent again on the next one, and a grant the broker made for one is theirs.
   */
  private List<String> awaitedRequestIds() {
    List<String> ids = new ArrayList<>();
    for (Call call : waitingForStream) {
      if (call.mayHaveGranted()) {
        SessionRequest request = call.request.apply(0);
        String id =
            switch (request.getMsgCase()) {
              case ACQUIRE -> request.getAcquire().getRequest().getRequestId();
              case ACQUIRE_BUNDLE -> request.getAcquireBundle().getRequest().getRequestId();
              default -> "";
            };
        if (!id.isEmpty()) {
          ids.add(id);
        }
      }
    }
    return ids;
  }

  private void helloTimedOut(Stream s) {
    if (s == stream && !s.opened) {
      s.timedOut = true;
      s.requests.cancel("no answer to hello within " + settings.callDeadline(), null);
    }
  }

  private void onEvent(Stream s, SessionEvent event) {
    if (s != stream || s.timedOut || state == State.CLOSING || state == State.CLOSED) {
      // A stale stream, one being closed, or one whose hello timed out: its cancel is on its way,
      // and an answer to the hello that was queued behind the timeout must not resume on it.
      return;
    }
    switch (event.getEventCase()) {
      case OPENED -> opened(s, event.getOpened());
      case HEARTBEAT_ACK -> heartbeatAck(s, event.getHeartbeatAck());
      case REVOKE -> {
        Revoke revoke = event.getRevoke();
        ack(s, revoke.getCommandId());
        RevokedLease revoked =
            new RevokedLease(
                revoke.getLeaseId(),
                Wire.revokeReason(revoke.getReason()),
                Wire.duration(revoke.getGrace()));
        LocalLeases local = localLeases;
        if (local == null || !local.revokedByBroker(revoked, listeners)) {
          leases.endByBroker(revoked);
        }
      }
      case CLEANUP -> {
        ack(s, event.getCleanup().getCommandId());
        listeners.fire(
            listeners.cleanup,
            new CleanupRequest(
                event.getCleanup().getTargetFreeMb(), event.getCleanup().getReason()));
      }
      case DRAIN -> {
        ack(s, event.getDrain().getCommandId());
        draining = true;
        listeners.fire(
            listeners.drain, new DrainRequest(Wire.instant(event.getDrain().getDeadline())));
      }
      case ACQUIRE_RESULT -> answered(s, event.getAcquireResult().getCallId(), event);
      case RELEASE_RESULT -> answered(s, event.getReleaseResult().getCallId(), event);
      case BUNDLE_RESULT -> answered(s, event.getBundleResult().getCallId(), event);
      case EVENT_NOT_SET -> log.log(Level.WARNING, "empty SessionEvent from the broker; ignored");
    }
  }

  private void opened(Stream s, Opened opened) {
    if (s.opened) {
      log.log(Level.WARNING, "second opened on one stream; ignored");
      return;
    }
    s.opened = true;
    s.cancels = opened.getStreamCallCancel();
    s.helloTimeout.cancel(false);
    backoff.reset();
    search.reset();
    long ttl = positiveOr(Wire.duration(opened.getSessionTtl()).toNanos(), DEFAULT_TTL_NANOS);
    long margin = marginNanos(ttl);
    SessionGeneration old = generation;
    if (old != null && opened.getResumed() && old.sessionId().equals(opened.getSessionId())) {
      old.resumed(opened.getBrokerEpoch(), ttl, margin, s.helloSentNanos);
      log.log(Level.INFO, "session {0} of {1} resumed", old.sessionId(), workerId);
      LocalLeases local = localLeases;
      Set<String> lost = new HashSet<>(opened.getLostLeasesList());
      if (local != null) {
        local.answered(old, lost, leases); // takes out the local ones it refused
      }
      for (String leaseId : lost) {
        leases.endByBroker(
            new RevokedLease(leaseId, dev.berth.client.RevokeReason.NOT_RESUMED, Duration.ZERO));
      }
    } else {
      generation =
          new SessionGeneration(
              opened.getSessionId(), opened.getBrokerEpoch(), ttl, margin, s.helloSentNanos);
      draining = false;
      LocalLeases local = localLeases;
      if (old != null && local != null) {
        local.carryOver(old, generation);
      }
      if (old != null) {
        lose(
            old,
            opened.getSessionId(),
            "the broker did not resume session "
                + old.sessionId()
                + " (it expired, or the broker restarted)");
      }
    }
    state = State.LIVE;
    callCap =
        opened.getStreamCallsInFlight() > 0
            ? opened.getStreamCallsInFlight()
            : DEFAULT_CALLS_IN_FLIGHT;
    lastAckReceivedNanos = ticker.nanoTime();
    heartbeatIntervalNanos =
        positiveOr(Wire.duration(opened.getHeartbeatInterval()).toNanos(), DEFAULT_HEARTBEAT_NANOS);
    scheduleHeartbeat(lastAckReceivedNanos + heartbeatIntervalNanos);
    sendHeldCalls();
    retryReleases();
    LocalLeases local = localLeases;
    if (local != null && local.undeclared(generation)) {
      // Granted locally after this hello left (it waited on a blackholed path): only a hello
      // declares held leases, so resume once more to declare them.
      log.log(Level.INFO, "session {0}: resuming again to declare local leases", workerId);
      loop.execute(guarded(this::dropStream));
    }
    events.opened(opened.getResumed()); // before openSession returns, for the first one
    if (firstOpened != null) {
      firstOpened.complete(null);
    }
  }

  /**
   * How early leases stop being valid in a session of {@code ttlNanos}: as set, or min(1 s, ttl/5).
   */
  private long marginNanos(long ttlNanos) {
    return settings
        .validityMargin()
        .map(Duration::toNanos)
        .orElse(Math.min(DEFAULT_MARGIN_NANOS, ttlNanos / 5));
  }

  /** Declares {@code local} on every resume and answers its part of the broker's reply. */
  void localLeases(LocalLeases local) {
    this.localLeases = local;
  }

  /**
   * How long the broker has been out of reach: since the live stream was lost, while the session
   * reconnects; zero while it is live (or not yet opened, or closed).
   */
  long unreachableNanos() {
    return state == State.RECONNECTING ? ticker.nanoTime() - downSinceNanos : 0;
  }

  /** Reports {@code old} lost with every lease it held; the worker carries on in {@code newId}. */
  private void lose(SessionGeneration old, String newId, String reason) {
    old.markLost();
    List<LeaseHandle> ended = leases.endGeneration(old);
    Set<String> ids = ended.stream().map(LeaseHandle::leaseId).collect(Collectors.toSet());
    log.log(
        Level.WARNING,
        "session {0} of {1} lost with {2} lease(s): {3}",
        old.sessionId(),
        workerId,
        ids.size(),
        reason);
    listeners.fire(listeners.sessionLost, new SessionLost(old.sessionId(), newId, ids, reason));
    for (LeaseHandle lease : ended) {
      listeners.revoked(lease);
    }
  }

  /**
   * Heartbeats keep a fixed rate: each is due one interval after the one before was due, not after
   * it ran, so a late tick does not push every later one back.
   */
  private void scheduleHeartbeat(long dueNanos) {
    heartbeatDueNanos = dueNanos;
    heartbeats =
        ticker.schedule(
            loop,
            guarded(() -> heartbeatTick(dueNanos)),
            Duration.ofNanos(dueNanos - ticker.nanoTime()));
  }

  private void heartbeatTick(long dueNanos) {
    if (state != State.LIVE) {
      return;
    }
    // Scheduled first, so that a failure below loses this beat, not all that follow.
    scheduleHeartbeat(dueNanos + heartbeatIntervalNanos);
    SessionGeneration g = generation;
    if (ticker.nanoTime() - lastAckReceivedNanos > g.ttlNanos()) {
      // The stream looks open but nothing comes back (a half-open connection): start over.
      stream.requests.cancel("no heartbeat acknowledged within the session TTL", null);
      return;
    }
    sendHeartbeat(stream);
    retryReleases();
  }

  /** Sends the next heartbeat on {@code s}. */
  private void sendHeartbeat(Stream s) {
    long n = ++seq;
    s.unacked.addLast(new long[] {n, ticker.nanoTime()});
    if (s.unacked.size() > MAX_UNACKED_HEARTBEATS) {
      s.unacked.pollFirst();
    }
    s.send(
        SessionRequest.newBuilder()
            .setHeartbeat(
                Heartbeat.newBuilder()
                    .setSeq(n)
                    .setMemoryUsedMb(memoryUsedMb())
                    .setMemoryLimitMb(options.memoryLimitMb())
                    .addAllWasmStats(leases.wasmStats(generation)))
            .build());
  }

  private long memoryUsedMb() {
    MemoryProbe probe = options.memoryProbe();
    try {
      lastMemoryMb = Math.max(0, probe.usedMb());
    } catch (RuntimeException e) {
      log.log(Level.WARNING, "memory probe failed; reporting the last reading", e);
    }
    return lastMemoryMb;
  }

  private void heartbeatAck(Stream s, HeartbeatAck ack) {
    lastAckReceivedNanos = ticker.nanoTime();
    // First: a lowered TTL must not count, even for a moment, from the newer send time below.
    adoptTiming(ack);
    // A broker that tells the timing in its acks leaves it out only when the heartbeat did not
    // reach its state (one sent too soon after the last): that one kept nothing alive. (A broker
    // that never tells it counts every heartbeat.)
    boolean kept = ack.hasSessionTtl() || !s.acksTellTiming;
    s.acksTellTiming |= ack.hasSessionTtl();
    // The broker reads a stream in order, so an ack for seq n covers every heartbeat up to n;
    // it may skip acks for older ones when the worker reads slowly.
    long[] newest = null;
    while (!s.unacked.isEmpty() && s.unacked.peekFirst()[0] <= ack.getSeq()) {
      newest = s.unacked.pollFirst();
    }
    if (newest != null && kept) {
      generation.acked(newest[1]);
    }
    events.heartbeatAcked(ack.getSeq());
  }

  /**
   * A reload may change the session's TTL and heartbeat interval; an ack that carries them says
   * what the broker applies from the heartbeat it answers on. The TTL counts from then, as the
   * acked heartbeat's send time does here, so leases stay valid exactly as long as the broker keeps
   * the session. A changed interval moves the next heartbeat at once: a shorter TTL may need it
   * sooner than the old interval would send it.
   */
  private void adoptTiming(HeartbeatAck ack) {
    SessionGeneration g = generation;
    if (ack.hasSessionTtl()) {
      long ttl = Wire.duration(ack.getSessionTtl()).toNanos();
      if (ttl > 0 && ttl != g.ttlNanos()) {
        g.ttl(ttl, marginNanos(ttl));
      }
    }
    if (ack.hasHeartbeatInterval()) {
      long interval = Wire.duration(ack.getHeartbeatInterval()).toNanos();
      if (interval > 0 && interval != heartbeatIntervalNanos && state == State.LIVE) {
        long due = heartbeatDueNanos - heartbeatIntervalNanos + interval;
        heartbeatIntervalNanos = interval;
        if (heartbeats != null) {
          heartbeats.cancel(false);
        }
        scheduleHeartbeat(due);
      }
    }
  }

  private void ack(Stream s, long commandId) {
    s.send(SessionRequest.newBuilder().setAck(Ack.newBuilder().setCommandId(commandId)).build());
  }

  /**
   * The stream {@code s} ended with {@code status} ({@code error} as gRPC reported it, with the
   * trailers that may name the leader).
   */
  private void onEnded(Stream s, Status status, Throwable error) {
    if (s != stream) {
      return;
    }
    stream = null;
    if (s.helloTimeout != null) {
      s.helloTimeout.cancel(false); // null when no call was made
    }
    cancelTimers();
    if (s.timedOut) {
      status = Status.DEADLINE_EXCEEDED.withDescription(status.getDescription());
    }
    lastEnded = describe(status);
    // Calls in flight go back in front of those waiting, in the order they were made, then those
    // that waited for room under the cap, to be sent again on the next stream (or failed below, if
    // there is none). An acquire whose caller gave up is sent again too: the broker may have
    // granted it, and only its answer to the same request_id tells (a grant is then given back).
    // A release whose caller gave up is not: the session queued it for its own retries.
    while (!waitingForRoom.isEmpty()) {
      waitingForStream.addFirst(waitingForRoom.pollLast());
    }
    List<Long> ids = new ArrayList<>(s.calls.keySet());
    ids.sort(java.util.Comparator.reverseOrder());
    for (Long id : ids) {
      Call call = s.calls.get(id);
      if (!call.answer.isDone() || call.mayHaveGranted()) {
        waitingForStream.addFirst(call);
      }
    }
    s.calls.clear();
    switch (state) {
      case CLOSING, CLOSED -> {
        failCalls(null, closedError());
        state = State.CLOSED;
        if (closeDone != null) {
          closeDone.complete(null);
        }
        return;
      }
      case CONNECTING -> {
        // Another member may lead: try it while the call deadline of the opening lasts.
        long pause = routeAfter(s, status, error);
        if (pause >= 0 && ticker.nanoTime() + pause - openStartedNanos < callDeadlineNanos) {
          reconnectAfter(pause, status);
          return;
        }
        state = State.CLOSED;
        closedReason = describe(status);
        failCalls(null, Errors.fromStatus(status, null));
        failFirstOpened(Errors.fromStatus(status, null));
        return;
      }
      case LIVE, RECONNECTING -> {}
    }
    if (Errors.isFatalForStream(status.getCode())) {
      giveUp(status);
      return;
    }
    if (state == State.LIVE) {
      downSinceNanos = ticker.nanoTime();
    }
    state = State.RECONNECTING;
    long pause = routeAfter(s, status, error);
    reconnectAfter(pause >= 0 ? pause : backoff.nextDelayNanos(), status);
  }

  /**
   * Where the next stream goes after {@code s} ended, and after how long (see {@link
   * LeaderTargets#afterFailure}): {@code 0} to follow a leader hint at once, a back-off when the
   * next member is to be tried, {@code -1} when no other member would do better.
   */
  private long routeAfter(Stream s, Status status, Throwable error) {
    if (Errors.isFatalForStream(status.getCode())) {
      return -1;
    }
    if (s.timedOut && targets.size() > 1) {
      search.unreachable(s.target);
      targets.failed(s.target, search.unreachable()); // a member that does not answer: the next
      return backoff.nextDelayNanos();
    }
    return targets.afterFailure(
        s.target, error != null ? error : status.asRuntimeException(), search, backoff);
  }

  /** Opens the next stream after {@code delayNanos}, at once for 0. */
  private void reconnectAfter(long delayNanos, Status status) {
    log.log(
        Level.INFO,
        "session stream of {0} ended ({1}); reconnecting to {2} in {3} ms",
        workerId,
        describe(status),
        targets.current(),
        TimeUnit.NANOSECONDS.toMillis(delayNanos));
    if (delayNanos == 0) {
      post(this::backoffElapsed);
    } else {
      reconnect =
          ticker.schedule(loop, guarded(this::backoffElapsed), Duration.ofNanos(delayNanos));
    }
    events.reconnectScheduled(Duration.ofNanos(delayNanos));
  }

  private void backoffElapsed() {
    if (state == State.RECONNECTING || state == State.CONNECTING) {
      connect();
    }
  }

  /** Reconnecting cannot fix {@code status} (e.g. the credentials were rejected): stop. */
  private void giveUp(Status status) {
    state = State.CLOSED;
    closedReason = describe(status);
    failCalls(null, Errors.fromStatus(status, null));
    SessionGeneration g = generation;
    lose(g, "", "the session stream failed with " + closedReason + "; not reconnecting");
  }

  /**
   * Retries the queued releases as unary calls. Each stays owed (declared by a resume) until its
   * answer: a failure that may pass queues it again, any other answer settles it.
   */
  private void retryReleases() {
    for (LeaseRegistry.OwedRelease owed : leases.takeReleases()) {
      ReleaseRequest request = owed.request();
      releaseUnary(
          request,
          new StreamObserver<ReleaseResponse>() {
            @Override
            public void onNext(ReleaseResponse response) {
              leases.answered(owed);
            }

            @Override
            public void onError(Throwable t) {
              BrokerException error = Errors.fromGrpc(t);
              if (error.isTransient()) {
                leases.retryLater(owed);
                return;
              }
              leases.answered(owed);
              if (error.condition() == BrokerException.Condition.NOT_FOUND) {
                // Nothing to give back: the broker does not know the lease (a local lease no
                // hello of it reached, or an end it has forgotten).
                log.log(
                    Level.INFO,
                    "release of {0}: the broker does not hold it ({1})",
                    request.getLeaseId(),
                    error.getMessage());
              } else {
                log.log(Level.WARNING, "release of {0} failed: {1}", request.getLeaseId(), error);
              }
            }

            @Override
            public void onCompleted() {}
          });
    }
  }

  private void cancelTimers() {
    if (heartbeats != null) {
      heartbeats.cancel(false);
      heartbeats = null;
    }
    if (reconnect != null) {
      reconnect.cancel(false);
      reconnect = null;
    }
  }

  private void failFirstOpened(BrokerException error) {
    if (firstOpened != null) {
      firstOpened.completeExceptionally(error);
    }
  }

  private static String describe(Status status) {
    return status.getCode()
        + (status.getDescription() != null ? " " + status.getDescription() : "");
  }

  private static long positiveOr(long value, long fallback) {
    return value > 0 ? value : fallback;
  }

  /** Runs {@code task} on the loop; after the session is closed, does nothing. */
  private void post(Runnable task) {
    try {
      loop.execute(guarded(task));
    } catch (RejectedExecutionException e) {
      // The session is closed; nothing listens any more.
    }
  }

  /**
   * A task that logs what it throws: an executor would keep it in a future nobody reads, and a
   * periodic task would silently stop.
   */
  static Runnable guarded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        log.log(Level.ERROR, "session task failed", e);
      }
    };
  }

  /** One {@code OpenSession} call. Its callbacks only hand events to the loop. */
  private final class Stream implements ClientResponseObserver<SessionRequest, SessionEvent> {
    /** The member it was opened to. */
    final String target;

    ClientCallStreamObserver<SessionRequest> requests;
    long helloSentNanos;
    boolean opened;

    /** Whether its hello went unanswered past the call deadline: cancelled, nothing more read. */
    boolean timedOut;

    /** Whether its broker understands a call's cancel (said in {@code opened}). */
    boolean cancels;

    /** Whether the broker has told the session's timing in an ack on this stream. */
    boolean acksTellTiming;

    Future<?> helloTimeout;

    /** Lease calls sent on this stream and not yet answered, by call_id. */
    final Map<Long, Call> calls = new HashMap<>();

    /** Heartbeats sent and not yet acknowledged: {seq, sentNanos}, oldest first. */
    final ArrayDeque<long[]> unacked = new ArrayDeque<>();

    Stream(String target) {
      this.target = target;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<SessionRequest> requestStream) {
      this.requests = requestStream;
    }

    void send(SessionRequest request) {
      try {
        requests.onNext(request);
      } catch (RuntimeException e) {
        // The call was already cancelled; its onError moves the session on.
        log.log(Level.DEBUG, "send on an ended session stream failed", e);
      }
    }

    @Override
    public void onNext(SessionEvent event) {
      post(() -> onEvent(this, event));
    }

    @Override
    public void onError(Throwable t) {
      Status status = Status.fromThrowable(t);
      post(() -> onEnded(this, status, t));
    }

    @Override
    public void onCompleted() {
      post(
          () ->
              onEnded(
                  this, Status.UNAVAILABLE.withDescription("the broker ended the stream"), null));
    }
  }

  /**
   * One lease call on the session stream: its request, made for whichever call_id it is sent with,
   * and its answer. Made on any thread; everything else happens on the loop.
   */
  static final class Call {
    /** The session the call acts for; null for one that may go on any of them. */
    final SessionGeneration generation;

    final LongFunction<SessionRequest> request;

    /** The release this call makes; null for an acquire or a bundle. */
    final ReleaseRequest release;

    final CompletableFuture<SessionEvent> answer = new CompletableFuture<>();
    Future<?> deadline;

    /** Whether it was ever sent on a stream (a broker may have it). Read and set on the loop. */
    boolean sent;

    /** Whether its caller withdrew it: it is cancelled wherever it is sent. On the loop. */
    boolean withdrawn;

    Call(SessionGeneration generation, LongFunction<SessionRequest> request) {
      this(generation, request, null);
    }

    private Call(
        SessionGeneration generation,
        LongFunction<SessionRequest> request,
        ReleaseRequest release) {
      this.generation = generation;
      this.request = request;
      this.release = release;
    }

    /** A release of {@code request}, under the caller's span {@code trace}. */
    static Call release(
        SessionGeneration generation, ReleaseRequest request, SdkTracing.StreamTrace trace) {
      return new Call(generation, id -> Calls.release(id, request, trace), request);
    }

    /**
     * Ends the wait of the call's caller with {@code error}; the connection still sees an acquire a
     * broker may have through to its answer (see {@link #mayHaveGranted}). Any thread.
     *
     * @return false when the answer had come first: the caller's wait ends with it instead
     */
    boolean fail(BrokerException error) {
      boolean failed = answer.completeExceptionally(error);
      cancelDeadline();
      return failed;
    }

    /**
     * Whether it is an acquire or a bundle that reached a stream, so a broker may have granted it.
     */
    boolean mayHaveGranted() {
      return sent && release == null;
    }

    void cancelDeadline() {
      if (deadline != null) {
        deadline.cancel(false);
      }
    }
  }

  /** The stream messages of lease calls. */
  static final class Calls {
    private Calls() {}

    /** An acquire as call {@code callId}, under the caller's span {@code trace}. */
    static SessionRequest acquire(
        long callId, dev.berth.proto.v1.AcquireRequest request, SdkTracing.StreamTrace trace) {
      return SessionRequest.newBuilder()
          .setAcquire(
              dev.berth.proto.v1.StreamAcquire.newBuilder()
                  .setCallId(callId)
                  .setRequest(request)
                  .setTraceparent(trace.traceparent())
                  .setTracestate(trace.tracestate()))
          .build();
    }

    /** A bundle as call {@code callId}, under the caller's span {@code trace}. */
    static SessionRequest bundle(
        long callId,
        dev.berth.proto.v1.AcquireBundleRequest request,
        SdkTracing.StreamTrace trace) {
      return SessionRequest.newBuilder()
          .setAcquireBundle(
              dev.berth.proto.v1.StreamAcquireBundle.newBuilder()
                  .setCallId(callId)
                  .setRequest(request)
                  .setTraceparent(trace.traceparent())
                  .setTracestate(trace.tracestate()))
          .build();
    }

    /** A release as call {@code callId}, under the caller's span {@code trace}. */
    static SessionRequest release(
        long callId, ReleaseRequest request, SdkTracing.StreamTrace trace) {
      return SessionRequest.newBuilder()
          .setRelease(
              StreamRelease.newBuilder()
                  .setCallId(callId)
                  .setRequest(request)
                  .setTraceparent(trace.traceparent())
                  .setTracestate(trace.tracestate()))
          .build();
    }
  }
}
