package dev.berth.server.grpc;

import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.GetModuleRequest;
import dev.berth.proto.v1.GetModuleResponse;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.broker.Broker;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.time.TimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmModule;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The worker-facing {@code berth.v1.LeaseBroker} service: a thin adapter that validates and maps
 * requests, calls the {@link Broker}, and maps answers back. Refusals are answered in-band; only
 * protocol faults become gRPC errors.
 */
public final class LeaseBrokerService extends LeaseBrokerGrpc.LeaseBrokerImplBase {
  /** Answer a waiting acquire this much before the caller's deadline, so it hears TIMEOUT. */
  private static final long DEADLINE_MARGIN_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final Broker broker;
  private final LeaseCalls calls;

  /** Every open session stream, also those that have not said hello, for shutdown. */
  private final Set<SessionStream> streams = ConcurrentHashMap.newKeySet();

  /** What every session stream of this service shares. */
  private final SessionStream.Shared streamsShare;

  LeaseBrokerService(
      Broker broker,
      Protos protos,
      SessionStream.Limits streamLimits,
      TimeSource time,
      AcquireTimings timings,
      CallRate rate) {
    this.broker = broker;
    this.calls = new LeaseCalls(broker, protos, time, timings);
    this.streamsShare =
        new SessionStream.Shared(broker, protos, calls, rate, streamLimits, streams::remove);
  }

  @Override
  public StreamObserver<SessionRequest> openSession(StreamObserver<SessionEvent> responses) {
    SessionStream stream =
        new SessionStream(
            streamsShare, (ServerCallStreamObserver<SessionEvent>) responses, Principals.current());
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
    ServerCallStreamObserver<AcquireResponse> call =
        (ServerCallStreamObserver<AcquireResponse>) responses;
    UnaryReply<AcquireResponse> reply = new UnaryReply<>(call);
    // Registered first, so a caller that goes away while waiting frees its place in the queue.
    call.setOnCancelHandler(reply::cancelled);
    // A cancel that comes while the broker decides is caught by LeaseCalls (isCancelled).
    reply.pending = calls.acquire(request, null, waitBound(), Principals.current(), reply);
  }

  /** The unary twin of the session stream's acquire_bundle: every lease or one refusal. */
  @Override
  public void acquireBundle(
      AcquireBundleRequest request, StreamObserver<AcquireBundleResponse> responses) {
    ServerCallStreamObserver<AcquireBundleResponse> call =
        (ServerCallStreamObserver<AcquireBundleResponse>) responses;
    UnaryReply<AcquireBundleResponse> reply = new UnaryReply<>(call);
    call.setOnCancelHandler(reply::cancelled);
    reply.pending = calls.bundle(request, null, waitBound(), Principals.current(), reply);
  }

  /** The longest a waiting acquire may wait: the call's deadline less a margin, to hear TIMEOUT. */
  private static long waitBound() {
    Deadline deadline = Context.current().getDeadline();
    return deadline == null
        ? Long.MAX_VALUE
        : deadline.timeRemaining(TimeUnit.NANOSECONDS) - DEADLINE_MARGIN_NANOS;
  }

  /** The answer of one unary call, sent once; a cancelled call is sent nothing. */
  private static final class UnaryReply<T> implements LeaseCalls.Reply<T> {
    private final ServerCallStreamObserver<T> call;
    volatile LeaseCalls.Pending pending;

    UnaryReply(ServerCallStreamObserver<T> call) {
      this.call = call;
    }

    void cancelled() {
      LeaseCalls.Pending p = pending;
      if (p != null) {
        p.cancel();
      }
    }

    @Override
    public void answer(T response, List<Lease> granted) {
      call.onNext(response);
      call.onCompleted();
    }

    @Override
    public void fail(StatusRuntimeException error) {
      if (!call.isCancelled()) {
        call.onError(error);
      }
    }

    @Override
    public boolean isCancelled() {
      return call.isCancelled();
    }
  }

  @Override
  public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> responses) {
    ReleaseResponse response;
    try {
      response = calls.release(request, null, Principals.current());
    } catch (StatusRuntimeException e) {
      responses.onError(e);
      return;
    }
    responses.onNext(response);
    responses.onCompleted();
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
