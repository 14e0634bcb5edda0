package dev.berth.server.grpc;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.GetModuleRequest;
import dev.berth.proto.v1.GetModuleResponse;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.admission.AcquireCallback;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.Broker;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.time.TimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmModule;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The worker-facing {@code berth.v1.LeaseBroker} service: a thin adapter that validates and maps
 * requests, calls the {@link Broker}, and maps answers back. Refusals are answered in-band; only
 * protocol faults become gRPC errors.
 */
public final class LeaseBrokerService extends LeaseBrokerGrpc.LeaseBrokerImplBase {
  /** Answer a waiting acquire this much before the caller's deadline, so it hears TIMEOUT. */
  private static final long DEADLINE_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final Broker broker;
  private final Protos protos;
  private final SessionStream.Limits streamLimits;
  private final TimeSource time;
  private final AcquireTimings timings;

  /** Every open session stream, also those that have not said hello, for shutdown. */
  private final Set<SessionStream> streams = ConcurrentHashMap.newKeySet();

  LeaseBrokerService(
      Broker broker,
      Protos protos,
      SessionStream.Limits streamLimits,
      TimeSource time,
      AcquireTimings timings) {
    this.broker = broker;
    this.protos = protos;
    this.streamLimits = streamLimits;
    this.time = time;
    this.timings = timings;
  }

  @Override
  public StreamObserver<SessionRequest> openSession(StreamObserver<SessionEvent> responses) {
    SessionStream stream =
        new SessionStream(
            broker,
            protos,
            (ServerCallStreamObserver<SessionEvent>) responses,
            Principals.current(),
            streamLimits,
            streams::remove);
    streams.add(stream);
    return stream;
  }

  /**
   * Closes every open session stream with {@code error}, e.g. at shutdown or on losing leadership.
   */
  void closeAll(io.grpc.StatusRuntimeException error) {
    for (SessionStream stream : streams) {
      stream.terminate(error);
    }
  }

  @Override
  public void acquire(AcquireRequest request, StreamObserver<AcquireResponse> responses) {
    long startNanos = time.nanoTime();
    ServerCallStreamObserver<AcquireResponse> call =
        (ServerCallStreamObserver<AcquireResponse>) responses;
    AtomicReference<Broker.PendingAcquire> pending = new AtomicReference<>();
    call.setOnCancelHandler(
        () -> {
          Broker.PendingAcquire p = pending.get();
          if (p != null) {
            p.cancel();
          }
        });
    try {
      AcquireSpec spec = boundedByDeadline(Protos.acquireSpec(request));
      Answer answer = new Answer(call, spec.kind(), startNanos);
      pending.set(broker.acquire(spec, Principals.current(), answer));
      answer.returned = true;
      if (call.isCancelled()) {
        pending.get().cancel();
      }
    } catch (RuntimeException e) {
      call.onError(Errors.toStatus(e));
    }
  }

  private static AcquireSpec boundedByDeadline(AcquireSpec spec) {
    Deadline deadline = Context.current().getDeadline();
    if (deadline == null || spec.waitNanos() == 0) {
      return spec;
    }
    long left = deadline.timeRemaining(TimeUnit.NANOSECONDS) - DEADLINE_MARGIN_NANOS;
    return left < spec.waitNanos() ? spec.withWaitNanos(Math.max(0, left)) : spec;
  }

  /**
   * Sends the one answer of an acquire, from whichever thread decides it, and times it. An answer
   * given on the calling thread before {@code Broker.acquire} returned was decided at once; any
   * other answer came after a wait in the queue.
   */
  private final class Answer implements AcquireCallback {
    private final ServerCallStreamObserver<AcquireResponse> call;
    private final ResourceKind kind;
    private final long startNanos;
    private final Thread caller = Thread.currentThread();
    volatile boolean returned;

    Answer(ServerCallStreamObserver<AcquireResponse> call, ResourceKind kind, long startNanos) {
      this.call = call;
      this.kind = kind;
      this.startNanos = startNanos;
    }

    @Override
    public void decided(Decision decision) {
      boolean queued = returned || Thread.currentThread() != caller;
      timings.answered(kind, time.nanoTime() - startNanos, queued);
      if (call.isCancelled()) {
        return;
      }
      call.onNext(protos.acquireResponse(decision));
      call.onCompleted();
    }

    @Override
    public void failed(BrokerException error) {
      if (!call.isCancelled()) {
        call.onError(Errors.toStatus(error));
      }
    }
  }

  @Override
  public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> responses) {
    try {
      AcquireSpec.requireId("session_id", request.getSessionId(), true);
      AcquireSpec.requireId("lease_id", request.getLeaseId(), true);
      Outcome outcome =
          request.hasOutcome() ? Protos.outcome(request.getOutcome()) : Outcome.UNKNOWN;
      Broker.EndResult result =
          broker.release(
              request.getSessionId(), request.getLeaseId(), Principals.current(), outcome);
      responses.onNext(Protos.releaseResponse(result));
      responses.onCompleted();
    } catch (RuntimeException e) {
      responses.onError(Errors.toStatus(e));
    }
  }

  @Override
  public void getModule(GetModuleRequest request, StreamObserver<GetModuleResponse> responses) {
    try {
      AcquireSpec.requireName("name", request.getName());
      String digest = request.getDigest();
      if (!digest.isEmpty() && !isSha256Hex(digest)) {
        throw BrokerException.invalid(
            "digest", "must be a SHA-256 digest: 64 lower-case hex digits");
      }
      ModuleRegistry modules = broker.modules();
      WasmModule module =
          modules
              .find(request.getName())
              .orElseThrow(
                  () ->
                      BrokerException.notFound(
                          "name: no WASM module '"
                              + request.getName()
                              + "' ("
                              + (modules.isEmpty()
                                  ? "no modules are configured"
                                  : "modules: "
                                      + String.join(
                                          ", ",
                                          modules.modules().stream()
                                              .map(WasmModule::name)
                                              .toList()))
                              + ")"));
      if (!digest.isEmpty() && !digest.equals(module.digest())) {
        throw BrokerException.notFound(
            "digest: module '"
                + module.name()
                + "' is now "
                + module.digest()
                + ", not "
                + digest
                + " (it was reloaded; acquire a new WASM lease)");
      }
      responses.onNext(Protos.module(module));
      responses.onCompleted();
    } catch (RuntimeException e) {
      responses.onError(Errors.toStatus(e));
    }
  }

  private static boolean isSha256Hex(String digest) {
    if (digest.length() != 64) {
      return false;
    }
    for (int i = 0; i < digest.length(); i++) {
      char c = digest.charAt(i);
      if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) {
        return false;
      }
    }
    return true;
  }
}
