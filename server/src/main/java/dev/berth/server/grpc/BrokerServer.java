package dev.berth.server.grpc;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.server.broker.Broker;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.time.TimeSource;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's gRPC server: the LeaseBroker and BrokerAdmin services, {@code grpc.health.v1} and
 * server reflection (v1 and v1alpha), on any transport. {@link #netty} builds the production
 * listener with the transport limits of DESIGN §8; tests pass an in-process builder.
 *
 * <p>Thread-safe.
 */
public final class BrokerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BrokerServer.class);

  /** Largest inbound message; every berth.v1 request is far smaller. */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 256 * 1024;

  /** Largest inbound metadata (headers), e.g. for bearer tokens. */
  public static final int MAX_INBOUND_METADATA_BYTES = 16 * 1024;

  private final Broker broker;
  private final HealthStatusManager health = new HealthStatusManager();
  private final Server server;
  private final ExecutorService executor;
  private final EventHub events;
  private final LeaseBrokerService leaseBroker;
  private final AtomicBoolean stopping = new AtomicBoolean();

  /**
   * Adds Berth's services to {@code builder} and builds (but does not start) the server.
   *
   * @param executor runs calls; owned (shut down) by this server when not null
   */
  public BrokerServer(
      Broker broker, TimeSource time, ServerBuilder<?> builder, ExecutorService executor) {
    this(broker, time, builder, executor, AcquireTimings.NONE);
  }

  /**
   * As above, telling {@code timings} how long each acquire took to answer.
   *
   * @param executor runs calls; owned (shut down) by this server when not null
   */
  public BrokerServer(
      Broker broker,
      TimeSource time,
      ServerBuilder<?> builder,
      ExecutorService executor,
      AcquireTimings timings) {
    this.broker = broker;
    this.executor = executor;
    Protos protos = new Protos(time);
    this.leaseBroker =
        new LeaseBrokerService(broker, protos, SessionStream.Limits.DEFAULT, time, timings);
    this.events = new EventHub(time, protos);
    broker.addListener(events);
    if (executor != null) {
      builder.executor(executor);
    }
    this.server =
        builder
            .addService(leaseBroker)
            .addService(new AdminService(broker, protos, events, timings))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .addService(reflectionV1Alpha())
            .build();
  }

  /** The v1alpha reflection service, still what many grpcurl builds ask for first. */
  @SuppressWarnings("deprecation")
  private static io.grpc.BindableService reflectionV1Alpha() {
    return io.grpc.protobuf.services.ProtoReflectionService.newInstance();
  }

  /**
   * A Netty listener on {@code address} with the transport limits Berth relies on: capped message
   * and metadata size, keepalive to find half-open workers (permitting the SDK's pings), and a
   * bounded pool of call threads.
   */
  public static BrokerServer netty(Broker broker, TimeSource time, InetSocketAddress address) {
    return netty(broker, time, address, AcquireTimings.NONE);
  }

  /** As above, telling {@code timings} how long each acquire took to answer. */
  public static BrokerServer netty(
      Broker broker, TimeSource time, InetSocketAddress address, AcquireTimings timings) {
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(address)
            .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
            .maxInboundMetadataSize(MAX_INBOUND_METADATA_BYTES)
            .maxConcurrentCallsPerConnection(10_000)
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS)
            .permitKeepAliveTime(5, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .maxConnectionIdle(1, TimeUnit.HOURS);
    return new BrokerServer(broker, time, builder, callExecutor(), timings);
  }

  private static ExecutorService callExecutor() {
    int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    AtomicInteger n = new AtomicInteger();
    return Executors.newFixedThreadPool(
        threads,
        r -> {
          Thread t = new Thread(r, "berth-call-" + n.incrementAndGet());
          t.setDaemon(true);
          return t;
        });
  }

  /** Starts listening and reports SERVING. */
  public BrokerServer start() {
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot listen: " + e.getMessage(), e);
    }
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(LeaseBrokerGrpc.SERVICE_NAME, ServingStatus.SERVING);
    health.setStatus(BrokerAdminGrpc.SERVICE_NAME, ServingStatus.SERVING);
    return this;
  }

  /** The port listened on (for a Netty listener started on port 0). */
  public int port() {
    return server.getPort();
  }

  /**
   * Stops in bounded time: reports NOT_SERVING, refuses new work, closes every session stream, lets
   * in-flight calls finish within {@code grace}, then cancels what is left.
   */
  public void shutdown(Duration grace) {
    if (!stopping.compareAndSet(false, true)) {
      return;
    }
    health.enterTerminalState();
    broker.shutdown();
    Status down = Status.UNAVAILABLE.withDescription("broker is shutting down");
    leaseBroker.closeAll(down); // also streams that never said hello
    events.closeAll(down);
    server.shutdown();
    try {
      if (!server.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        log.warn("calls still running after {}; cancelling them", grace);
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      server.shutdownNow();
    }
    if (executor != null) {
      executor.shutdownNow();
    }
  }

  @Override
  public void close() {
    shutdown(Duration.ofSeconds(5));
  }

  /** Blocks until the server has terminated. */
  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }
}
