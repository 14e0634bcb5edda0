package dev.berth.client.internal;

import static java.util.Objects.requireNonNull;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClientProvider.Settings;
import dev.berth.client.BrokerException;
import dev.berth.client.BrokerException.Condition;
import dev.berth.client.BundleOptions;
import dev.berth.client.BundleResult;
import dev.berth.client.CleanupRequest;
import dev.berth.client.DrainRequest;
import dev.berth.client.Lease;
import dev.berth.client.LeaseBundle;
import dev.berth.client.Outcome;
import dev.berth.client.RefusalReason;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokedLease;
import dev.berth.client.SafeModeCounts;
import dev.berth.client.SessionLost;
import dev.berth.client.SessionOptions;
import dev.berth.client.Ticker;
import dev.berth.client.WasmModule;
import dev.berth.client.WorkerSession;
import dev.berth.common.Durations;
import dev.berth.common.Identifiers;
import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.CallError;
import dev.berth.proto.v1.GetModuleRequest;
import dev.berth.proto.v1.GetModuleResponse;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.LeaseBrokerGrpc.LeaseBrokerBlockingStub;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResult;
import dev.berth.proto.v1.SessionEvent;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import java.util.function.IntConsumer;

/**
 * The SDK's {@link WorkerSession}: acquires and releases block the caller's thread until the broker
 * answers. By default they are calls on the session stream, which lives in a {@link
 * SessionConnection} on the session's own thread; with {@code unaryLeaseCalls} they are unary
 * calls. Thread-safe.
 */
final class ManagedSession implements WorkerSession {
  private static final System.Logger log = System.getLogger(ManagedSession.class.getName());
  private static final long MIN_RETRY_PAUSE_NANOS = Duration.ofMillis(50).toNanos();

  /** The most a retry's pause is stretched at random, beyond the refusal's retry-after. */
  private static final long MAX_RETRY_JITTER_NANOS = Duration.ofSeconds(1).toNanos();

  /** The most of a retried call's time left that an attempt keeps back for the broker's answer. */
  private static final long MAX_ANSWER_RESERVE_NANOS = Duration.ofSeconds(1).toNanos();

  private final Settings settings;
  private final long callDeadlineNanos;
  private final Ticker ticker;
  private final String workerId;
  private final LeaderTargets targets;
  private final ExecutorService loop;
  private final Listeners listeners = new Listeners();
  private final LeaseRegistry leases = new LeaseRegistry(listeners);
  private final SessionConnection connection;
  private final Consumer<ManagedSession> onClosed;
  private final AtomicBoolean closing = new AtomicBoolean();
  private final SdkTracing tracing;

  /** Uniform in [0, 1): how far each retry's pause is stretched; tests set it. */
  private volatile DoubleSupplier retryJitter = () -> ThreadLocalRandom.current().nextDouble();

  /** Safe-mode leases; null when safe mode is off. */
  private final LocalLeases local;

  ManagedSession(
      LeaderTargets targets,
      Settings settings,
      String workerId,
      SessionOptions options,
      Consumer<ManagedSession> onClosed) {
    this.settings = settings;
    this.callDeadlineNanos = settings.callDeadline().toNanos();
    this.ticker = settings.ticker();
    this.workerId = workerId;
    this.onClosed = onClosed;
    this.tracing = new SdkTracing(settings.openTelemetry().orElse(null));
    this.targets = targets;
    // The session's one thread; its timers are scheduled on the ticker, which runs them here.
    this.loop = Executors.newSingleThreadExecutor(new DaemonThreads("berth-session"));
    this.connection =
        new SessionConnection(loop, targets, settings, workerId, options, leases, listeners);
    this.local =
        settings
            .safeMode()
            .map(m -> new LocalLeases(m, ticker, listeners, this::releaseCounted))
            .orElse(null);
    connection.localLeases(local);
  }

  /** Opens the stream and waits for the broker's answer; on failure, cleans up and throws. */
  void open() {
    CompletableFuture<Void> opened = new CompletableFuture<>();
    loop.execute(SessionConnection.guarded(() -> connection.start(opened)));
    try {
      // The connection gives up on its own after the call deadline; this wait only backs it up.
      opened.get(settings.callDeadline().toMillis() + 1_000, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      close();
      throw e.getCause() instanceof BrokerException b
          ? b
          : new BrokerException(Condition.INTERNAL, "opening the session failed", e.getCause());
    } catch (TimeoutException e) {
      close();
      throw new BrokerException(
          Condition.DEADLINE_EXCEEDED, "no answer to hello within " + settings.callDeadline());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new BrokerException(Condition.CANCELLED, "interrupted while opening the session");
    }
  }

  @Override
  public String workerId() {
    return workerId;
  }

  @Override
  public String sessionId() {
    return connection.generation().sessionId();
  }

  @Override
  public long epoch() {
    return connection.generation().epoch();
  }

  @Override
  public boolean isLive() {
    return connection.state() == SessionConnection.State.LIVE && !closing.get();
  }

  @Override
  public boolean isDraining() {
    return connection.draining();
  }

  @Override
  public AcquireResult acquire(AcquireOptions options) {
    requireNonNull(options, "options");
    return acquire(options, Long.MAX_VALUE);
  }

  /** An acquire whose call may take at most {@code capNanos} (the time left to a retry's end). */
  private AcquireResult acquire(AcquireOptions options, long capNanos) {
    return tracing.acquire(options, () -> acquireOnce(options, capNanos));
  }

  private AcquireResult acquireOnce(AcquireOptions options, long capNanos) {
    SessionGeneration generation = requireOpen();
    if (local != null && local.applies(connection.unreachableNanos())) {
      return local.acquire(options, generation);
    }
    String requestId = options.requestId().orElseGet(() -> UUID.randomUUID().toString());
    AcquireRequest request = Wire.acquireRequest(generation.sessionId(), options, requestId);
    long deadlineNanos = Math.min(callDeadlineNanos + options.maxWait().toNanos(), capNanos);
    long sent = ticker.nanoTime();
    AcquireResponse response;
    if (settings.unaryLeaseCalls()) {
      // Sent again to the leader after a NOT_LEADER, with the same request_id.
      try {
        response = unary(deadlineNanos, stub -> stub.acquire(request));
      } catch (BrokerException e) {
        if (mayHaveBeenGranted(e)) {
          reclaim(
              generation,
              request.getRequestId(),
              stub ->
                  observer ->
                      stub.acquire(
                          request.toBuilder().clearWait().build(),
                          granted(
                              observer,
                              r -> r.hasGranted() ? List.of(r.getGranted()) : List.of())));
        }
        throw e;
      }
    } else {
      SdkTracing.StreamTrace trace = SdkTracing.current(); // the SDK's acquire span, if any
      SessionEvent event =
          onStream(
              new SessionConnection.Call(
                  generation, id -> SessionConnection.Calls.acquire(id, request, trace)),
              deadlineNanos);
      dev.berth.proto.v1.AcquireResult result = event.getAcquireResult();
      if (result.hasError()) {
        throw callError(result.getError());
      }
      response = result.getResponse();
    }
    long received = ticker.nanoTime();
    return switch (response.getResultCase()) {
      case GRANTED ->
          new AcquireResult.Granted(
              leases.register(
                  new LeaseHandle(
                      this, generation, response.getGranted(), options.kind(), sent, received)));
      case REFUSED -> Wire.refused(response.getRefused());
      case RESULT_NOT_SET ->
          throw new BrokerException(
              Condition.INTERNAL, "the broker answered Acquire with neither grant nor refusal");
    };
  }

  /**
   * Makes {@code call} on the session stream and waits for its answer; the connection ends the wait
   * after {@code deadlineNanos} on the ticker, so this needs no clock of its own.
   */
  private SessionEvent onStream(SessionConnection.Call call, long deadlineNanos) {
    try {
      loop.execute(
          SessionConnection.guarded(() -> connection.call(call, Duration.ofNanos(deadlineNanos))));
    } catch (RejectedExecutionException e) {
      throw new IllegalStateException("session of " + workerId + " is closed", e);
    }
    try {
      return call.answer.get();
    } catch (ExecutionException e) {
      throw streamFailure(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      BrokerException cancelled =
          new BrokerException(Condition.CANCELLED, "interrupted while waiting for the broker");
      // The call ends for its caller, and is cancelled at the broker, so a waiting acquire grants
      // nothing; a grant that crossed the cancel is given back, as for a caller whose deadline
      // passed, instead of being taken for this caller's.
      if (!call.fail(cancelled)) {
        // The answer had come (a wait may report an interrupt even then), so the connection will
        // not give its grant back: it is this caller's, who keeps the interrupt to see next.
        try {
          return call.answer.join();
        } catch (java.util.concurrent.CompletionException failed) {
          throw streamFailure(failed.getCause());
        }
      }
      try {
        loop.execute(SessionConnection.guarded(() -> connection.withdraw(call)));
      } catch (RejectedExecutionException closed) {
        // The session closed: its goodbye ended every call at the broker.
      }
      throw cancelled;
    }
  }

  /**
   * Whether a unary acquire or bundle that failed with {@code e} may have been granted all the
   * same: its caller gave up (the deadline passed, or the thread was interrupted) while the broker
   * may have answered, and gRPC drops an answer that comes after that.
   */
  private static boolean mayHaveBeenGranted(BrokerException e) {
    return e.condition() == Condition.DEADLINE_EXCEEDED || e.condition() == Condition.CANCELLED;
  }

  /**
   * Finds out, without waiting, whether the unary call with {@code requestId} that its caller gave
   * up on was granted, and gives back what it was: asked again with the same request id, the broker
   * answers with its first grant (or, if it never granted one, decides afresh, and that grant goes
   * back too). The releases go through the session's queue, sent with the next heartbeat. The
   * stream path needs none of this: a late answer on the stream is seen and given back there.
   */
  private void reclaim(
      SessionGeneration generation,
      String requestId,
      java.util.function.Function<
              LeaseBrokerGrpc.LeaseBrokerStub,
              java.util.function.Consumer<
                  java.util.function.Consumer<List<dev.berth.proto.v1.Lease>>>>
          ask) {
    try {
      LeaseBrokerGrpc.LeaseBrokerStub stub =
          LeaseBrokerGrpc.newStub(targets.channelForCall(targets.current()))
              .withDeadlineAfter(callDeadlineNanos, TimeUnit.NANOSECONDS);
      ask.apply(stub)
          .accept(
              leases -> {
                for (dev.berth.proto.v1.Lease lease : leases) {
                  log.log(
                      Level.INFO,
                      "releasing lease {0} of request {1}, granted after its caller gave up",
                      lease.getLeaseId(),
                      requestId);
                  this.leases.queueRelease(
                      ReleaseRequest.newBuilder()
                          .setSessionId(generation.sessionId())
                          .setLeaseId(lease.getLeaseId())
                          .build());
                }
              });
    } catch (RuntimeException e) {
      // No channel now: the broker keeps such a grant until its max hold or the session's end.
      log.log(Level.WARNING, "cannot ask after request {0}: {1}", requestId, e.toString());
    }
  }

  /** An observer of one answer that hands {@code granted} the leases it grants, if any. */
  private static <R> io.grpc.stub.StreamObserver<R> granted(
      java.util.function.Consumer<List<dev.berth.proto.v1.Lease>> then,
      java.util.function.Function<R, List<dev.berth.proto.v1.Lease>> granted) {
    return new io.grpc.stub.StreamObserver<>() {
      @Override
      public void onNext(R response) {
        List<dev.berth.proto.v1.Lease> leases = granted.apply(response);
        if (!leases.isEmpty()) {
          then.accept(leases);
        }
      }

      @Override
      public void onError(Throwable t) {
        log.log(Level.DEBUG, "asking after a given-up request failed: {0}", t.toString());
      }

      @Override
      public void onCompleted() {}
    };
  }

  private static BrokerException streamFailure(Throwable cause) {
    return cause instanceof BrokerException b
        ? b
        : new BrokerException(Condition.INTERNAL, "stream call failed", cause);
  }

  /**
   * Makes a unary call on the member that leads, within {@code deadlineNanos} on the ticker: a
   * NOT_LEADER refusal sends it again at once to the leader it names; one that names none, or a
   * member that cannot be reached while others are known, sends it to the next member after a
   * back-off with jitter, and so does one whose channel cannot be made (UNAVAILABLE, as {@link
   * LeaderTargets#channelForCall} says). The request is the same each time (an acquire keeps its
   * request_id).
   */
  private <T> T unary(
      long deadlineNanos, java.util.function.Function<LeaseBrokerBlockingStub, T> call) {
    long end = ticker.nanoTime() + deadlineNanos;
    Backoff backoff =
        new Backoff(
            settings.reconnectInitial().toNanos(),
            settings.reconnectMax().toNanos(),
            () -> ThreadLocalRandom.current().nextDouble());
    LeaderSearch search = new LeaderSearch();
    while (true) {
      String target = targets.current();
      long left = end - ticker.nanoTime();
      try {
        return call.apply(
            LeaseBrokerGrpc.newBlockingStub(targets.channelForCall(target))
                .withDeadlineAfter(Math.max(0, left), TimeUnit.NANOSECONDS));
      } catch (StatusRuntimeException e) {
        long pause = targets.afterFailure(target, e, search, backoff);
        if (pause < 0 || ticker.nanoTime() + pause >= end) {
          throw Errors.fromGrpc(e);
        }
        if (pause == 0) {
          continue;
        }
        try {
          ticker.sleep(Duration.ofNanos(pause));
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw new BrokerException(Condition.CANCELLED, "interrupted while finding the leader");
        }
      }
    }
  }

  /** A call's error on the stream as the exception the unary call would have thrown. */
  private static BrokerException callError(CallError error) {
    return Errors.fromStatus(
        Status.fromCodeValue(error.getCode()).withDescription(error.getMessage()), null);
  }

  @Override
  public AcquireResult acquireWithRetry(AcquireOptions options, Duration deadline) {
    requireNonNull(options, "options");
    Durations.requirePositive("deadline", requireNonNull(deadline, "deadline"));
    return tracing.acquireWithRetry(options, attempts -> retry(options, deadline, attempts));
  }

  private AcquireResult retry(AcquireOptions options, Duration deadline, IntConsumer attempts) {
    return retry(
        deadline,
        attempts,
        (attempt, left) -> {
          AcquireOptions.Builder attemptOptions =
              options.toBuilder().maxWait(waitOfAttempt(options.maxWait(), left));
          options
              .requestId()
              .ifPresent(id -> attemptOptions.requestId(requestIdOfAttempt(id, attempt)));
          return acquire(attemptOptions.build(), left);
        },
        result ->
            result instanceof AcquireResult.Refused r
                ? Optional.of(new Refusal(r.reason(), r.retryAfter()))
                : Optional.empty());
  }

  /**
   * One attempt of a retried call: its number (from 1) and the nanoseconds left to the deadline.
   */
  private interface Attempt<R> {
    R run(int attempt, long nanosLeft);
  }

  /** What a retry loop needs of a refusal. */
  private record Refusal(RefusalReason reason, Duration retryAfter) {}

  /**
   * Runs {@code attempt} until {@code refusal} finds no refusal in its result, the refusal is
   * DRAINING, or the next try could not start before {@code deadline}; then returns the last
   * result. Sleeps each refusal's {@linkplain #retryPause pause} on the ticker between attempts.
   * Each attempt is given the time left, which its call may not outlast: one that fails in a way
   * that may pass (DEADLINE_EXCEEDED, UNAVAILABLE…) once {@code deadline} has passed returns the
   * refusal before it.
   */
  private <R> R retry(
      Duration deadline,
      IntConsumer attempts,
      Attempt<R> attempt,
      Function<R, Optional<Refusal>> refusal) {
    long deadlineAt = ticker.nanoTime() + deadline.toNanos();
    R last = null;
    for (int n = 1; ; n++) {
      attempts.accept(n);
      R result;
      try {
        result = attempt.run(n, deadlineAt - ticker.nanoTime());
      } catch (BrokerException e) {
        if (last != null && e.isTransient() && deadlineAt - ticker.nanoTime() <= 0) {
          // The attempt ran out of the call's time (no answer, or no stream to send it on, within
          // what was left): the refusal before it stands.
          return last;
        }
        throw e;
      }
      last = result;
      Optional<Refusal> refused = refusal.apply(result);
      if (refused.isEmpty() || refused.get().reason() == RefusalReason.DRAINING) {
        return result;
      }
      long pause = retryPause(refused.get().retryAfter());
      if (deadlineAt - ticker.nanoTime() - pause <= 0) {
        return result; // the next try could not start before the deadline
      }
      try {
        ticker.sleep(Duration.ofNanos(pause));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new BrokerException(Condition.CANCELLED, "interrupted while waiting to retry");
      }
    }
  }

  /**
   * The pause before retrying a refusal: its retry-after (at least 50 ms), stretched at random by
   * up to a tenth (at most 1 s more), never shortened, so that workers refused together (say when a
   * new leader starts granting) do not all ask again in the same instant.
   */
  private long retryPause(Duration retryAfter) {
    long base = Math.max(retryAfter.toNanos(), MIN_RETRY_PAUSE_NANOS);
    double random = Math.min(Math.max(retryJitter.getAsDouble(), 0), 1);
    return base + (long) (Math.min(base / 10, MAX_RETRY_JITTER_NANOS) * random);
  }

  @Override
  public BundleResult acquireBundle(BundleOptions options) {
    requireNonNull(options, "options");
    return acquireBundle(options, Long.MAX_VALUE);
  }

  /** A bundle whose call may take at most {@code capNanos} (the time left to a retry's end). */
  private BundleResult acquireBundle(BundleOptions options, long capNanos) {
    SessionGeneration generation = requireOpen();
    String requestId = options.requestId().orElseGet(() -> UUID.randomUUID().toString());
    AcquireBundleRequest request = Wire.bundleRequest(generation.sessionId(), options, requestId);
    long deadlineNanos = Math.min(callDeadlineNanos + options.maxWait().toNanos(), capNanos);
    long sent = ticker.nanoTime();
    AcquireBundleResponse response;
    if (settings.unaryLeaseCalls()) {
      try {
        response = unary(deadlineNanos, stub -> stub.acquireBundle(request));
      } catch (BrokerException e) {
        if (mayHaveBeenGranted(e)) {
          reclaim(
              generation,
              request.getRequestId(),
              stub ->
                  observer ->
                      stub.acquireBundle(
                          request.toBuilder().clearWait().build(),
                          granted(
                              observer,
                              r -> r.hasGranted() ? r.getGranted().getLeasesList() : List.of())));
        }
        throw e;
      }
    } else {
      SdkTracing.StreamTrace trace = SdkTracing.current();
      dev.berth.proto.v1.BundleResult result =
          onStream(
                  new SessionConnection.Call(
                      generation, id -> SessionConnection.Calls.bundle(id, request, trace)),
                  deadlineNanos)
              .getBundleResult();
      if (result.hasError()) {
        throw callError(result.getError());
      }
      response = result.getResponse();
    }
    long received = ticker.nanoTime();
    return switch (response.getResultCase()) {
      case GRANTED -> {
        List<dev.berth.proto.v1.Lease> granted = response.getGranted().getLeasesList();
        List<Lease> held = new ArrayList<>(granted.size());
        for (int i = 0; i < granted.size(); i++) {
          ResourceKind asked =
              i < options.items().size() ? options.items().get(i).kind() : ResourceKind.RENDER;
          held.add(
              leases.register(
                  new LeaseHandle(this, generation, granted.get(i), asked, sent, received)));
        }
        if (held.size() != options.items().size()) {
          new LeaseBundle(held).close(); // hold nothing the caller cannot match to its items
          throw new BrokerException(
              Condition.INTERNAL,
              "the broker granted "
                  + held.size()
                  + " leases for a bundle of "
                  + options.items().size());
        }
        yield new BundleResult.Granted(new LeaseBundle(held));
      }
      case REFUSED -> Wire.bundleRefused(response.getRefused(), options);
      case RESULT_NOT_SET ->
          throw new BrokerException(
              Condition.INTERNAL, "the broker answered a bundle with neither grant nor refusal");
    };
  }

  @Override
  public BundleResult acquireBundleWithRetry(BundleOptions options, Duration deadline) {
    requireNonNull(options, "options");
    Durations.requirePositive("deadline", requireNonNull(deadline, "deadline"));
    return retry(
        deadline,
        attempt -> {},
        (attempt, left) -> {
          BundleOptions.Builder attemptOptions =
              options.toBuilder().maxWait(waitOfAttempt(options.maxWait(), left));
          options
              .requestId()
              .ifPresent(id -> attemptOptions.requestId(requestIdOfAttempt(id, attempt)));
          return acquireBundle(attemptOptions.build(), left);
        },
        result ->
            result instanceof BundleResult.Refused r
                ? Optional.of(new Refusal(r.reason(), r.retryAfter()))
                : Optional.empty());
  }

  /**
   * An attempt's queue wait: the caller's, cut to end before the deadline, {@code nanosLeft} away,
   * by a tenth of that (at most 1 s), so that the broker's TIMEOUT refusal arrives within it.
   */
  private static Duration waitOfAttempt(Duration maxWait, long nanosLeft) {
    long reserve = Math.min(nanosLeft / 10, MAX_ANSWER_RESERVE_NANOS);
    long most = Math.max(0, nanosLeft - reserve);
    return maxWait.toNanos() > most ? Duration.ofNanos(most) : maxWait;
  }

  /**
   * The request id of attempt {@code attempt} (from 1) of a retried acquire: the caller's id first,
   * then {@code id/2}, {@code id/3}… cut to fit the length limit.
   */
  static String requestIdOfAttempt(String requestId, int attempt) {
    if (attempt <= 1) {
      return requestId;
    }
    String suffix = "/" + attempt;
    int keep = Math.min(requestId.length(), Identifiers.MAX_LENGTH - suffix.length());
    return requestId.substring(0, keep) + suffix;
  }

  @Override
  public WasmModule fetchModule(Lease wasmLease) {
    requireNonNull(wasmLease, "wasmLease");
    if (wasmLease.kind() != ResourceKind.WASM) {
      throw new IllegalArgumentException("wasmLease: " + wasmLease + " is not a WASM lease");
    }
    requireOpen();
    GetModuleRequest.Builder request = GetModuleRequest.newBuilder().setName(wasmLease.module());
    if (!wasmLease.moduleDigest().isEmpty()) {
      request.setDigest(wasmLease.moduleDigest());
    }
    GetModuleResponse response = unary(callDeadlineNanos, stub -> stub.getModule(request.build()));
    byte[] bytes = response.getWasm().toByteArray();
    String digest = Wire.sha256(bytes);
    if (!digest.equals(response.getDigest())
        || (!wasmLease.moduleDigest().isEmpty() && !digest.equals(wasmLease.moduleDigest()))) {
      throw new BrokerException(
          Condition.INTERNAL,
          "module "
              + response.getName()
              + ": its bytes hash to "
              + digest
              + ", not the digest "
              + (wasmLease.moduleDigest().isEmpty()
                  ? response.getDigest()
                  : wasmLease.moduleDigest()));
    }
    return new WasmModule(response.getName(), digest, bytes, response.getExportsList());
  }

  private SessionGeneration requireOpen() {
    if (closing.get() || connection.state() == SessionConnection.State.CLOSED) {
      String why = connection.closedReason();
      throw new IllegalStateException(
          "session of " + workerId + " is closed" + (why.isEmpty() ? "" : ": " + why));
    }
    return connection.generation();
  }

  @Override
  public void onRevoked(Consumer<RevokedLease> listener) {
    listeners.revoked.add(requireNonNull(listener, "listener"));
  }

  @Override
  public void onCleanup(Consumer<CleanupRequest> listener) {
    listeners.cleanup.add(requireNonNull(listener, "listener"));
  }

  @Override
  public void onDrain(Consumer<DrainRequest> listener) {
    listeners.drain.add(requireNonNull(listener, "listener"));
  }

  @Override
  public void onSessionLost(Consumer<SessionLost> listener) {
    listeners.sessionLost.add(requireNonNull(listener, "listener"));
  }

  @Override
  public void close() {
    CompletableFuture<Void> goodbye = sayGoodbye();
    if (goodbye != null) {
      awaitGoodbyes(ticker, settings.callDeadline(), List.of(goodbye));
      finishClose(goodbye);
    }
  }

  /**
   * Waits until every one of {@code goodbyes} is answered, or until {@code deadline} of {@code
   * ticker}'s time has passed (scheduled on it, as every other timer of the SDK is: real time with
   * the system ticker, and a fake one's time in tests), or until the thread is interrupted (the
   * interrupt is kept). A goodbye that failed counts as answered.
   */
  static void awaitGoodbyes(
      Ticker ticker, Duration deadline, List<CompletableFuture<Void>> goodbyes) {
    CompletableFuture<Void> timedOut = new CompletableFuture<>();
    java.util.concurrent.Future<?> timer =
        ticker.schedule(Runnable::run, () -> timedOut.complete(null), deadline);
    CompletableFuture<?>[] answered =
        goodbyes.stream().map(g -> g.handle((v, e) -> null)).toArray(CompletableFuture<?>[]::new);
    try {
      CompletableFuture.anyOf(CompletableFuture.allOf(answered), timedOut).get();
    } catch (ExecutionException e) {
      throw new AssertionError("neither stage can fail", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      timer.cancel(false);
    }
  }

  /**
   * Starts closing the session: says goodbye (when the stream is up) without waiting for the
   * answer, so that a client closing many sessions sends every goodbye before it waits. Returns
   * what completes once the broker has ended the stream, for {@link #finishClose}; null when the
   * session was already closing.
   */
  CompletableFuture<Void> sayGoodbye() {
    if (!closing.compareAndSet(false, true)) {
      return null;
    }
    CompletableFuture<Void> done = new CompletableFuture<>();
    try {
      loop.execute(SessionConnection.guarded(() -> connection.close(done)));
    } catch (RejectedExecutionException e) {
      log.log(Level.DEBUG, "closing the session of " + workerId, e);
      done.complete(null);
    }
    return done;
  }

  /**
   * Ends the closing {@link #sayGoodbye} started, once {@link #awaitGoodbyes} has waited for the
   * goodbye's answer: drops the stream if the answer has not come, and stops the session's threads.
   */
  void finishClose(CompletableFuture<Void> goodbye) {
    if (!goodbye.isDone()) {
      log.log(Level.WARNING, "goodbye of {0} not answered in time; dropping the stream", workerId);
      loop.execute(SessionConnection.guarded(connection::abort));
    } else if (goodbye.isCompletedExceptionally()) {
      log.log(Level.DEBUG, "closing the session of {0} failed", workerId);
    }
    loop.shutdown();
    listeners.shutdown();
    onClosed.accept(this);
  }

  // ---------------------------------------------------------------- for LeaseHandle

  Ticker ticker() {
    return ticker;
  }

  Listeners listeners() {
    return listeners;
  }

  /**
   * Releases a lease on the caller's thread. Never throws: a release that cannot reach the broker
   * is queued and retried with the next heartbeat or reconnect, its lease declared as held by a
   * resume until the broker answers the retry (so the outcome still applies); one the session's
   * closing overtook is dropped, the goodbye having released the lease; any other failure is
   * logged.
   */
  void release(LeaseHandle lease, Outcome outcome, long heldNanos) {
    ReleaseRequest request = releaseRequest(lease.generation(), lease, outcome, heldNanos);
    if (request != null) {
      tracing.release(lease, outcome, () -> sendRelease(lease, request));
    }
  }

  @Override
  public SafeModeCounts safeModeCounts() {
    return local == null ? SafeModeCounts.NONE : local.counts();
  }

  /** Releases at the broker a local lease it counts since the session resumed; never throws. */
  void releaseCounted(LocalLease lease, Outcome outcome, long heldNanos) {
    ReleaseRequest request = releaseRequest(lease.generation(), lease, outcome, heldNanos);
    if (request != null) {
      sendRelease(lease.generation(), lease, request);
    }
  }

  /** The release of {@code lease}; null when the broker already ended it with its session. */
  private ReleaseRequest releaseRequest(
      SessionGeneration generation, Lease lease, Outcome outcome, long heldNanos) {
    if (connection.state() == SessionConnection.State.CLOSED || generation.isLost()) {
      return null;
    }
    ReleaseRequest.Builder request =
        ReleaseRequest.newBuilder().setSessionId(lease.sessionId()).setLeaseId(lease.leaseId());
    if (outcome != null) {
      request.setOutcome(Wire.outcome(outcome, heldNanos));
    }
    return request.build();
  }

  /** Sends a release; returns true when it could not reach the broker and was queued. */
  private boolean sendRelease(LeaseHandle lease, ReleaseRequest request) {
    return sendRelease(lease.generation(), lease, request);
  }

  private boolean sendRelease(SessionGeneration generation, Lease lease, ReleaseRequest request) {
    try {
      if (settings.unaryLeaseCalls()) {
        var unused = unary(callDeadlineNanos, stub -> stub.release(request));
      } else {
        SdkTracing.StreamTrace trace = SdkTracing.current(); // the SDK's release span, if any
        ReleaseResult result =
            onStream(SessionConnection.Call.release(generation, request, trace), callDeadlineNanos)
                .getReleaseResult();
        if (result.hasError()) {
          throw callError(result.getError());
        }
      }
    } catch (StatusRuntimeException | BrokerException e) {
      BrokerException error = e instanceof BrokerException b ? b : Errors.fromGrpc(e);
      if (error.isTransient() || error.condition() == Condition.CANCELLED) {
        log.log(Level.INFO, "release of {0} will be retried: {1}", lease, error.getMessage());
        // Declared on a resume until the retry is answered, so the broker keeps the lease for it.
        leases.queueRelease(request, lease);
        return true;
      }
      log.log(Level.WARNING, "release of {0} failed: {1}", lease, error.getMessage());
    } catch (IllegalStateException closed) {
      // The session (or its client) closed after releaseRequest found it open: its goodbye
      // released the lease at the broker, or, with no stream to say it on, the session's TTL ends
      // it there. Nothing is left to send, and a lease's close never throws.
      log.log(Level.DEBUG, "release of {0} dropped: {1}", lease, closed.getMessage());
    }
    return false;
  }

  void forget(LeaseHandle lease) {
    leases.forget(lease);
  }

  // ---------------------------------------------------------------- for the SDK's tests

  /** Reports the connection's events from now on to {@code listener}. */
  void observe(SessionConnection.Events listener) {
    connection.observe(listener);
  }

  /**
   * Drops the session stream as a broken connection would; the session reconnects after its
   * back-off. Completes once the stream is cancelled.
   */
  CompletableFuture<Void> dropStream() {
    return CompletableFuture.runAsync(SessionConnection.guarded(connection::dropStream), loop);
  }

  /** Draws the stretch of each retry's pause from {@code random} (uniform in [0, 1)). */
  void retryJitter(DoubleSupplier random) {
    this.retryJitter = requireNonNull(random, "random");
  }

  /** The number of leases held. */
  int leaseCount() {
    return leases.size();
  }
}
