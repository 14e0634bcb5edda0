package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.server.time.TimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/**
 * A broker on a fake clock behind a {@link BrokerServer} on the in-process transport, with a
 * channel and stubs to call it. Server and channel run calls on the calling thread, so answers
 * arrive synchronously: tests move time with {@link #time} instead of sleeping.
 *
 * <p>Not thread-safe; one per test.
 */
final class InProcessBroker implements AutoCloseable {
  static final String RENDER_URL = "https://example.com/page";
  static final Duration HEARTBEAT_INTERVAL = Duration.ofSeconds(3);
  static final Duration SESSION_TTL = Duration.ofSeconds(15);
  static final Duration SWEEP_INTERVAL = Duration.ofMillis(250);

  final FakeTimeSource time = new FakeTimeSource();
  final Broker broker;
  final BrokerServer server;
  final ManagedChannel channel;
  final LeaseBrokerGrpc.LeaseBrokerBlockingStub blocking;
  final LeaseBrokerGrpc.LeaseBrokerFutureStub future;
  final LeaseBrokerGrpc.LeaseBrokerStub async;
  final BrokerAdminGrpc.BrokerAdminBlockingStub admin;
  final BrokerAdminGrpc.BrokerAdminStub adminAsync;

  /** The test policy: embedded defaults with a heartbeat and TTL that differ from them. */
  static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(HEARTBEAT_INTERVAL)
        .sessionTtl(SESSION_TTL)
        .sweepInterval(SWEEP_INTERVAL);
  }

  InProcessBroker() {
    this(config().build());
  }

  InProcessBroker(BrokerConfig config) {
    this(Policy.of(config));
  }

  InProcessBroker(BrokerConfig config, AcquireTimings timings) {
    this(Policy.of(config), timings, ModuleRegistry.empty());
  }

  /** A broker that serves {@code modules}. */
  InProcessBroker(BrokerConfig config, ModuleRegistry modules) {
    this(Policy.of(config), AcquireTimings.NONE, modules);
  }

  /** A broker under a whole policy: host rates, memory pressure and degradation included. */
  InProcessBroker(Policy policy) {
    this(policy, AcquireTimings.NONE, ModuleRegistry.empty());
  }

  InProcessBroker(Policy policy, AcquireTimings timings) {
    this(policy, timings, ModuleRegistry.empty());
  }

  InProcessBroker(Policy policy, AcquireTimings timings, ModuleRegistry modules) {
    this(policy, BrokerServer.Options.DEFAULT.withTimings(timings), modules);
  }

  /** A broker under {@code policy} behind a server with {@code options} (e.g. bearer tokens). */
  InProcessBroker(Policy policy, BrokerServer.Options options) {
    this(policy, options, ModuleRegistry.empty());
  }

  InProcessBroker(Policy policy, BrokerServer.Options options, ModuleRegistry modules) {
    this(policy, time -> options, modules);
  }

  /** A broker whose server's options need its clock, e.g. a tracer that times spans on it. */
  InProcessBroker(
      Policy policy,
      Function<FakeTimeSource, BrokerServer.Options> optionsOnClock,
      ModuleRegistry modules) {
    BrokerServer.Options options = optionsOnClock.apply(time);
    broker = new Broker(policy, time, 1, () -> 2, LeaseIds.seeded(7), HeapProbe.NONE, modules);
    String name = InProcessServerBuilder.generateName();
    server =
        new BrokerServer(
                broker, time, InProcessServerBuilder.forName(name).directExecutor(), null, options)
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    blocking = LeaseBrokerGrpc.newBlockingStub(channel);
    future = LeaseBrokerGrpc.newFutureStub(channel);
    async = LeaseBrokerGrpc.newStub(channel);
    admin = BrokerAdminGrpc.newBlockingStub(channel);
    adminAsync = BrokerAdminGrpc.newStub(channel);
  }

  /** Opens a session stream and says hello as {@code workerId}. */
  SessionRecorder openSession(String workerId) {
    SessionRecorder session = SessionRecorder.open(async);
    session.hello(workerId);
    return session;
  }

  /** An empty session stream, nothing sent yet. */
  SessionRecorder openStream() {
    return SessionRecorder.open(async);
  }

  /**
   * The session streams' shared parts over a broker of {@code config} on {@code time}, without a
   * server: for tests that drive {@link SessionStream} and {@link LeaseCalls} on their own threads.
   */
  static SessionStream.Shared streamsWithoutServer(BrokerConfig config, FakeTimeSource time) {
    return streamsWithoutServer(config, time, AcquireTimings.NONE);
  }

  /**
   * {@link #streamsWithoutServer(BrokerConfig, FakeTimeSource)} on any clock, with the acquire
   * timings told of every answer: a test can hook either to run a step at an exact point of a
   * command (the clock is read under the broker's lock; the timings just before an acquire's answer
   * is sent).
   */
  static SessionStream.Shared streamsWithoutServer(
      BrokerConfig config, TimeSource time, AcquireTimings timings) {
    Broker broker =
        new Broker(
            Policy.of(config),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(7),
            HeapProbe.NONE,
            ModuleRegistry.empty());
    Protos protos = new Protos(time);
    return new SessionStream.Shared(
        broker,
        protos,
        new LeaseCalls(broker, protos, time, timings),
        new CallRate(broker, time),
        SessionStream.Limits.DEFAULT,
        s -> {});
  }

  /**
   * A session stream's acquire {@code callId} of one PDF lease for the stream's own session,
   * waiting up to {@code wait}; {@code requestId} empty for none.
   */
  static dev.berth.proto.v1.SessionRequest pdfOnStream(
      long callId, Duration wait, String requestId) {
    return dev.berth.proto.v1.SessionRequest.newBuilder()
        .setAcquire(
            dev.berth.proto.v1.StreamAcquire.newBuilder()
                .setCallId(callId)
                .setRequest(
                    AcquireRequest.newBuilder()
                        .setKind(ResourceKind.RESOURCE_KIND_PDF)
                        .setRequestId(requestId)
                        .setWait(proto(wait))))
        .build();
  }

  static AcquireRequest.Builder request(String sessionId, ResourceKind kind) {
    AcquireRequest.Builder request =
        AcquireRequest.newBuilder().setSessionId(sessionId).setKind(kind);
    if (kind == ResourceKind.RESOURCE_KIND_RENDER) {
      request.setUrl(RENDER_URL);
    }
    return request;
  }

  static com.google.protobuf.Duration proto(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }

  static Duration java(com.google.protobuf.Duration d) {
    return Duration.ofSeconds(d.getSeconds(), d.getNanos());
  }

  static Duration between(com.google.protobuf.Timestamp from, com.google.protobuf.Timestamp to) {
    return Duration.ofSeconds(to.getSeconds(), to.getNanos())
        .minus(Duration.ofSeconds(from.getSeconds(), from.getNanos()));
  }

  AcquireResponse acquire(AcquireRequest.Builder request) {
    return blocking.acquire(request.build());
  }

  /** Acquires and insists on an immediate grant. */
  Lease grant(String sessionId, ResourceKind kind) {
    AcquireResponse response = acquire(request(sessionId, kind));
    assertThat(response.hasGranted()).as("granted: %s", response).isTrue();
    return response.getGranted();
  }

  ReleaseResponse release(String sessionId, String leaseId) {
    return blocking.release(
        ReleaseRequest.newBuilder().setSessionId(sessionId).setLeaseId(leaseId).build());
  }

  /** Runs {@code call}, which must fail with {@code code}; returns the status. */
  static Status failure(Status.Code code, ThrowingCallable call) {
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call);
    assertThat(e).as("expected %s", code).isNotNull();
    assertThat(e.getStatus().getCode()).as("status of %s", e.getStatus()).isEqualTo(code);
    return e.getStatus();
  }

  /** The answer of an acquire that has already been decided; fails when it is still waiting. */
  static <R> R answered(Future<R> call) {
    assertThat(call.isDone()).as("acquire answered").isTrue();
    try {
      return call.get(0, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      throw new AssertionError("acquire failed", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** The status of a call that must have failed with {@code code}. */
  static Status failure(Status.Code code, Future<?> call) {
    assertThat(call.isDone()).as("call answered").isTrue();
    ExecutionException e = catchThrowableOfType(ExecutionException.class, call::get);
    assertThat(e).as("expected %s", code).isNotNull();
    Status status = Status.fromThrowable(e.getCause());
    assertThat(status.getCode()).as("status of %s", status).isEqualTo(code);
    return status;
  }

  private boolean serverShutDown;

  /** Shuts the server down as the daemon does; {@link #close} then leaves it alone. */
  void shutdownServer(Duration grace) {
    serverShutDown = true;
    server.shutdown(grace);
  }

  @Override
  public void close() {
    channel.shutdownNow();
    if (!serverShutDown) {
      server.close();
    }
    broker.close();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
