package dev.berth.client;

import dev.berth.client.internal.InProcessClients;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.BrokerListener;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.grpc.BrokerServer;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.wasm.ModuleRegistry;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A real broker on a hand-moved clock, served over the in-process transport, with a record of every
 * lease it ends, and the clients' fake ticker. Time moves only when a test moves it: the broker's
 * clock ({@link #time}) and the SDK's ({@link #ticker}) apart, so a test can let a session expire
 * at the broker while the worker does nothing, or fire a worker's heartbeat while the broker's time
 * stands still. Its default config keeps time out of the way: heartbeats every 5 minutes and a
 * 10-minute session TTL. Public for the reference worker's tests, in a package of their own.
 */
public final class TestBroker implements AutoCloseable {
  static final Duration TTL = Duration.ofMinutes(10);
  static final Duration HEARTBEAT_INTERVAL = Duration.ofMinutes(5);

  /** One lease the broker ended, and how. */
  record Ended(Lease lease, LeaseEnd how, RevokeReason reason, Outcome outcome) {}

  final ManualTimeSource time = new ManualTimeSource();
  final FakeTicker ticker = new FakeTicker();
  public final Broker broker;
  final List<Ended> ended = new CopyOnWriteArrayList<>();
  private final BrokerServer server;
  private final String name = InProcessServerBuilder.generateName();

  TestBroker() {
    this(config());
  }

  TestBroker(BrokerConfig.Builder config) {
    this(config, ModuleRegistry.empty());
  }

  /** A broker that serves {@code modules}. */
  public TestBroker(BrokerConfig.Builder config, ModuleRegistry modules) {
    this(config, modules, time -> BrokerServer.Options.DEFAULT);
  }

  /** A broker whose server's options need its clock, e.g. a tracer that times spans on it. */
  TestBroker(
      BrokerConfig.Builder config,
      ModuleRegistry modules,
      Function<ManualTimeSource, BrokerServer.Options> options) {
    broker =
        new Broker(
            Policy.of(config.build()),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(1),
            HeapProbe.NONE,
            modules);
    broker.addListener(
        new BrokerListener() {
          @Override
          public void ended(Lease lease, LeaseEnd how, RevokeReason reason, Outcome outcome) {
            ended.add(new Ended(lease, how, reason, outcome));
          }
        });
    server =
        new BrokerServer(
                broker,
                time,
                InProcessServerBuilder.forName(name).directExecutor(),
                null,
                options.apply(time))
            .start();
  }

  /**
   * The broker's defaults with slow heartbeats, a long TTL, and max holds longer than the TTL (so
   * that advancing the clock past the TTL expires the session, not its leases first); tests change
   * what they need.
   */
  public static BrokerConfig.Builder config() {
    return BrokerConfig.newBuilder()
        .heartbeatInterval(HEARTBEAT_INTERVAL)
        .sessionTtl(TTL)
        .maxHold(dev.berth.server.lease.ResourceKind.RENDER, Duration.ofHours(1))
        .maxHold(dev.berth.server.lease.ResourceKind.PDF, Duration.ofHours(1));
  }

  /**
   * A client builder for this broker: on {@link #ticker}, with a short call deadline and quick
   * reconnects (which still wait for the ticker).
   */
  BrokerClient.Builder clientBuilder() {
    return clientBuilder(name).ticker(ticker);
  }

  /** The name of its in-process server, which is what a NOT_LEADER hint names in tests. */
  String name() {
    return name;
  }

  /** A client builder for the in-process server {@code serverName}, on the real clock. */
  static BrokerClient.Builder clientBuilder(String serverName) {
    return BrokerClient.newBuilder()
        .target(serverName)
        .callDeadline(Duration.ofSeconds(5))
        .reconnectBackoff(Duration.ofMillis(5), Duration.ofMillis(50));
  }

  public BrokerClient client() {
    return client(clientBuilder());
  }

  /** A client over the in-process transport, as {@code builder} says. */
  BrokerClient client(BrokerClient.Builder builder) {
    return connect(name, builder);
  }

  /**
   * A client over the in-process transport, as {@code builder} says, through {@code interceptor}.
   */
  BrokerClient client(BrokerClient.Builder builder, io.grpc.ClientInterceptor interceptor) {
    return InProcessClients.connect(name, builder.settings(), interceptor);
  }

  /** A client of the in-process server {@code serverName}, as {@code builder} says. */
  static BrokerClient connect(String serverName, BrokerClient.Builder builder) {
    return InProcessClients.connect(serverName, builder.settings());
  }

  /**
   * Spins until {@code condition} holds, for what the broker does on a thread of its own (no
   * sleep); fails naming {@code what} after 5 s.
   */
  public static void until(java.util.function.BooleanSupplier condition, String what) {
    long end = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within 5 s: " + what);
      }
      Thread.onSpinWait();
    }
  }

  /** The lease of a result that must be a grant. */
  static dev.berth.client.Lease granted(AcquireResult result) {
    if (result instanceof AcquireResult.Granted granted) {
      return granted.lease();
    }
    throw new AssertionError("expected a grant, got " + result);
  }

  public int inUse(dev.berth.server.lease.ResourceKind kind) {
    return broker.inUse(kind);
  }

  /** How the broker ended {@code leaseId}; null while it is live. */
  Ended endOf(String leaseId) {
    return ended.stream().filter(e -> e.lease().id().equals(leaseId)).findFirst().orElse(null);
  }

  @Override
  public void close() {
    server.shutdown(Duration.ofSeconds(1));
  }
}
