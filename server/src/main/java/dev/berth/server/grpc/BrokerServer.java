package dev.berth.server.grpc;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.server.broker.Broker;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.metrics.StreamDrops;
import dev.berth.server.replication.ServingRole;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.time.TimeSource;
import dev.berth.server.tracing.Tracing;
import io.grpc.BindableService;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The broker's gRPC server: the LeaseBroker and BrokerAdmin services, {@code grpc.health.v1} and
 * server reflection (v1 and v1alpha), on any transport. {@link #netty} builds the production
 * listener with the transport limits of docs/security.md; tests pass an in-process builder.
 *
 * <p>Thread-safe.
 */
public final class BrokerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(BrokerServer.class);

  /** Largest inbound message; every berth.v1 request is far smaller. */
  public static final int MAX_INBOUND_MESSAGE_BYTES = 256 * 1024;

  /** Largest inbound metadata (headers), e.g. for bearer tokens. */
  public static final int MAX_INBOUND_METADATA_BYTES = 16 * 1024;

  /**
   * Concurrent calls one connection may have open: a worker needs one session stream and a few
   * acquires; a client that opens thousands of streams on one connection is refused more.
   */
  public static final int MAX_CONCURRENT_CALLS_PER_CONNECTION = 1000;

  /**
   * RST_STREAM frames a client may send per {@link #RST_WINDOW_SECONDS} before its connection is
   * closed: the defence against the HTTP/2 "rapid reset" flood (open a call, cancel it, repeat),
   * which grpc-java leaves off by default. A worker cancels only acquires it stops waiting for.
   */
  public static final int MAX_RST_FRAMES_PER_WINDOW = 1000;

  public static final int RST_WINDOW_SECONDS = 10;

  /**
   * The most often a client may send keepalive pings. It must not exceed the SDK's ping interval
   * (20 s), or workers would be disconnected with too_many_pings.
   */
  public static final int PERMIT_KEEPALIVE_SECONDS = 5;

  private final Broker broker;
  private final HealthStatusManager health = new HealthStatusManager();
  private final Server server;
  private final ExecutorService executor;
  private final EventHub events;
  private final LeaseBrokerService leaseBroker;
  private final AuthInterceptor auth;
  private final AtomicBoolean stopping = new AtomicBoolean();
  private final ServingRole role;

  /** The event loops this server made for itself ({@link Options#eventLoops}), else null. */
  private volatile EventLoops ownLoops;

  /**
   * Adds Berth's services to {@code builder} and builds (but does not start) the server.
   *
   * @param executor runs calls; owned (shut down) by this server when not null
   */
  public BrokerServer(
      Broker broker, TimeSource time, ServerBuilder<?> builder, ExecutorService executor) {
    this(broker, time, builder, executor, Options.DEFAULT);
  }

  /**
   * What a server may add to the plain one: bearer-token authentication (none: off), transport
   * security for a Netty listener (plaintext by default), a sink for acquire timings, a maximum
   * connection age for a Netty listener (empty: connections live as long as they are used), the
   * number of event loops of its own a Netty listener runs on (0: grpc-netty's shared ones), extra
   * services served next to Berth's on the same server (none by default; the benchmark suite adds a
   * no-op ping service as its baseline), a counter of watchers dropped for falling behind, tracing
   * (off by default, and then no span is made), and the role it serves in (a lone broker by
   * default).
   */
  public record Options(
      TokenRegistry tokens,
      ServerCredentials credentials,
      AcquireTimings timings,
      Optional<Duration> maxConnectionAge,
      int eventLoops,
      List<BindableService> extraServices,
      StreamDrops drops,
      Tracing tracing,
      ServingRole role) {
    public static final Options DEFAULT =
        new Options(
            TokenRegistry.of(List.of()),
            InsecureServerCredentials.create(),
            AcquireTimings.NONE,
            Optional.empty(),
            0,
            List.of(),
            StreamDrops.NONE,
            Tracing.OFF,
            ServingRole.STANDALONE);

    public Options {
      extraServices = List.copyOf(extraServices);
    }

    public Options withTokens(TokenRegistry value) {
      return with(f -> f.tokens = value);
    }

    public Options withCredentials(ServerCredentials value) {
      return with(f -> f.credentials = value);
    }

    /** TLS (or mTLS) from {@code tls}, whose certificates follow their files. */
    public Options withTls(ServerTls tls) {
      return withCredentials(tls.credentials());
    }

    public Options withTimings(AcquireTimings value) {
      return with(f -> f.timings = value);
    }

    public Options withMaxConnectionAge(Optional<Duration> value) {
      return with(f -> f.maxConnectionAge = value);
    }

    /**
     * The threads that run the Netty listener's connections and the calls on them (calls run on
     * them directly); 0: grpc-netty's shared default, two per available processor.
     */
    public Options withEventLoops(int value) {
      return with(f -> f.eventLoops = value);
    }

    public Options withExtraServices(List<BindableService> value) {
      return with(f -> f.extraServices = value);
    }

    /**
     * The role this server serves in: a cluster member refuses worker calls and admin changes
     * NOT_LEADER unless it is the ready leader; {@link ServingRole#STANDALONE} by default.
     */
    public Options withRole(ServingRole value) {
      return with(f -> f.role = value);
    }

    /** Where dropped watchers are counted. */
    public Options withDrops(StreamDrops value) {
      return with(f -> f.drops = value);
    }

    /** Spans of acquires, releases, sessions and admin changes; {@link Tracing#OFF}: none. */
    public Options withTracing(Tracing value) {
      return with(f -> f.tracing = value);
    }

    /** A copy of these options with {@code change} made to their fields. */
    private Options with(Consumer<Fields> change) {
      Fields f = new Fields(this);
      change.accept(f);
      return new Options(
          f.tokens,
          f.credentials,
          f.timings,
          f.maxConnectionAge,
          f.eventLoops,
          f.extraServices,
          f.drops,
          f.tracing,
          f.role);
    }

    /**
     * The fields of an {@link Options}, to change one in a copy: each {@code with…} then names only
     * its own field, and a new option adds one line here rather than one to every {@code with…}.
     */
    private static final class Fields {
      TokenRegistry tokens;
      ServerCredentials credentials;
      AcquireTimings timings;
      Optional<Duration> maxConnectionAge;
      int eventLoops;
      List<BindableService> extraServices;
      StreamDrops drops;
      Tracing tracing;
      ServingRole role;

      Fields(Options o) {
        tokens = o.tokens;
        credentials = o.credentials;
        timings = o.timings;
        maxConnectionAge = o.maxConnectionAge;
        eventLoops = o.eventLoops;
        extraServices = o.extraServices;
        drops = o.drops;
        tracing = o.tracing;
        role = o.role;
      }
    }
  }

  /**
   * Adds Berth's services to {@code builder}, behind bearer-token authentication when {@code
   * options} has tokens, and builds (but does not start) the server.
   *
   * @param executor runs calls; owned (shut down) by this server when not null
   */
  public BrokerServer(
      Broker broker,
      TimeSource time,
      ServerBuilder<?> builder,
      ExecutorService executor,
      Options options) {
    AcquireTimings timings = options.timings();
    TokenRegistry tokens = options.tokens();
    this.broker = broker;
    this.executor = executor;
    this.role = options.role();
    Protos protos = new Protos(time);
    CallRate rate = new CallRate(broker, time);
    this.leaseBroker =
        new LeaseBrokerService(broker, protos, SessionStream.Limits.DEFAULT, time, timings, rate);
    this.events = new EventHub(time, protos, options.drops());
    broker.addListener(events);
    if (executor != null) {
      builder.executor(executor);
    }
    this.auth = new AuthInterceptor(tokens);
    for (BindableService extra : options.extraServices()) {
      builder.addService(extra);
    }
    if (options.tracing().enabled()) {
      // Innermost: spans name the authenticated principal. Off, the interceptor is not there.
      TracingInterceptor tracing = new TracingInterceptor(options.tracing(), time);
      broker.addListener(tracing.sessions());
      builder.intercept(tracing);
    }
    this.server =
        builder
            // The last added runs first: authentication names the principal the rate cap counts.
            // Runs after authentication and the rate cap: an unknown caller learns no leader.
            .intercept(new LeaderGate(role))
            .intercept(new CallRateInterceptor(rate))
            .intercept(auth)
            // Malformed requests are answered INVALID_ARGUMENT, never INTERNAL.
            .addService(RequestGuard.wrap(leaseBroker.bindService()))
            .addService(
                RequestGuard.wrap(
                    new AdminService(broker, protos, events, timings, role).bindService()))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .addService(reflectionV1Alpha())
            .build();
  }

  /** The v1alpha reflection service, still what many grpcurl builds ask for first. */
  @SuppressWarnings("deprecation")
  private static BindableService reflectionV1Alpha() {
    return io.grpc.protobuf.services.ProtoReflectionService.newInstance();
  }

  /**
   * A Netty listener on {@code address} with the transport limits Berth relies on: capped message
   * and metadata size, keepalive to find half-open workers (permitting the SDK's pings), and calls
   * run on Netty's event loop threads ({@code directExecutor}: no call blocks, so no hand-off to a
   * pool; the one rare exception is the fsync of a new epoch when a run's fencing tokens run out).
   */
  public static BrokerServer netty(Broker broker, TimeSource time, InetSocketAddress address) {
    return netty(broker, time, address, Options.DEFAULT);
  }

  /**
   * A Netty listener on {@code address} with the given options: transport security (TLS, mTLS or
   * plaintext), bearer tokens (none: authentication off) and acquire timings. A listener that is
   * neither on loopback nor authenticated logs a loud warning: anyone who can reach it can take
   * capacity.
   */
  public static BrokerServer netty(
      Broker broker, TimeSource time, InetSocketAddress address, Options options) {
    warnIfOpen(address, options.tokens());
    ServerCredentials credentials = options.credentials();
    NettyServerBuilder builder =
        NettyServerBuilder.forAddress(address, credentials)
            .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
            .maxInboundMetadataSize(MAX_INBOUND_METADATA_BYTES)
            .maxConcurrentCallsPerConnection(MAX_CONCURRENT_CALLS_PER_CONNECTION)
            .maxRstFramesPerWindow(MAX_RST_FRAMES_PER_WINDOW, RST_WINDOW_SECONDS)
            .keepAliveTime(30, TimeUnit.SECONDS)
            .keepAliveTimeout(10, TimeUnit.SECONDS)
            .permitKeepAliveTime(PERMIT_KEEPALIVE_SECONDS, TimeUnit.SECONDS)
            .permitKeepAliveWithoutCalls(true)
            .maxConnectionIdle(1, TimeUnit.HOURS);
    options
        .maxConnectionAge()
        .ifPresent(
            age ->
                builder
                    .maxConnectionAge(age.toNanos(), TimeUnit.NANOSECONDS)
                    // In-flight unary calls may finish; session streams resume on a new connection.
                    .maxConnectionAgeGrace(10, TimeUnit.SECONDS));
    EventLoops loops = options.eventLoops() > 0 ? EventLoops.of(options.eventLoops()) : null;
    if (loops != null) {
      loops.configure(builder);
    }
    // Calls run on the transport's event loop: no call blocks (an acquire that must wait is
    // answered later by a callback, and the broker's lock is never held across network I/O), so a
    // hand-off to a pool thread per call would only add two context switches to every RPC.
    BrokerServer server;
    try {
      server = new BrokerServer(broker, time, builder.directExecutor(), null, options);
    } catch (RuntimeException e) {
      if (loops != null) {
        loops.close();
      }
      throw e;
    }
    server.ownLoops = loops;
    return server;
  }

  /**
   * Logs a loud warning when {@code address} is not loopback and {@code tokens} turn authentication
   * off: anyone who can reach it can take capacity.
   */
  public static void warnIfOpen(InetSocketAddress address, TokenRegistry tokens) {
    if (!tokens.enabled() && !isLoopback(address)) {
      log.warn(
          "LISTENING ON {} WITHOUT AUTHENTICATION: anyone who can reach this address can acquire"
              + " and revoke capacity. Configure auth tokens (and TLS) for a non-loopback listener.",
          address);
    }
  }

  /**
   * Replaces the accepted bearer tokens. Calls that start from now on are checked against {@code
   * tokens} (an empty registry turns authentication off); streams already open keep running.
   */
  public void replaceTokens(TokenRegistry tokens) {
    auth.replace(tokens);
  }

  private static boolean isLoopback(InetSocketAddress address) {
    return address.getAddress() != null && address.getAddress().isLoopbackAddress();
  }

  /**
   * Starts listening and reports SERVING (LeaseBroker: only while the role serves). A listener that
   * cannot bind throws, having stopped the event loops it made for itself.
   */
  public BrokerServer start() {
    try {
      server.start();
    } catch (IOException e) {
      closeOwnLoops();
      throw new UncheckedIOException("cannot listen: " + e.getMessage(), e);
    }
    // "" and BrokerAdmin: the process is up and answers admin reads, whatever its role.
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(BrokerAdminGrpc.SERVICE_NAME, ServingStatus.SERVING);
    roleChanged();
    role.onChange(this::roleChanged);
    return this;
  }

  /**
   * Reports LeaseBroker SERVING only while this node serves, and closes the session streams of a
   * node that stopped serving with NOT_LEADER, so their workers go to the leader.
   */
  private void roleChanged() {
    if (stopping.get()) {
      return;
    }
    boolean serving = role.serving();
    health.setStatus(
        LeaseBrokerGrpc.SERVICE_NAME, serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    if (!serving) {
      leaseBroker.closeAll(LeaderGate.notLeader(role.leaderApi()));
    }
  }

  /** The hub behind {@code WatchEvents}, for tests that check it lets go of its watchers. */
  EventHub events() {
    return events;
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
    leaseBroker.closeAll(down.asRuntimeException()); // also streams that never said hello
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
    closeOwnLoops();
  }

  /** Stops the event loops this server made for itself, if any; the listener no longer runs. */
  private void closeOwnLoops() {
    EventLoops loops = ownLoops;
    ownLoops = null;
    if (loops != null) {
      loops.close();
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
