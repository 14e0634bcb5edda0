package dev.berth.client.internal;

import dev.berth.client.BrokerClient;
import dev.berth.client.SessionOptions;
import dev.berth.client.TlsOptions;
import dev.berth.client.WorkerSession;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** The SDK's {@link BrokerClient}: one gRPC channel and the sessions opened on it. Thread-safe. */
public final class GrpcBrokerClient implements BrokerClient {
  private static final System.Logger log = System.getLogger(GrpcBrokerClient.class.getName());

  /**
   * Keepalive pings find a half-open connection. The broker permits pings every 5 s; pinging less
   * often keeps it from answering {@code too_many_pings}.
   */
  private static final long KEEPALIVE_SECONDS = 20;

  private static final long KEEPALIVE_TIMEOUT_SECONDS = 10;

  /** GetModule answers carry whole WASM modules; the broker serves at most 32 MiB. */
  private static final int MAX_INBOUND_MESSAGE_BYTES = 40 << 20;

  private final ManagedChannel managed;
  private final Channel channel;
  private final ClientConfig config;
  private final Set<ManagedSession> sessions = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();

  private GrpcBrokerClient(ManagedChannel managed, ClientConfig config) {
    this.managed = managed;
    this.config = config;
    this.channel =
        config.bearerToken() == null
            ? managed
            : ClientInterceptors.intercept(managed, new BearerToken(config.bearerToken()));
  }

  /**
   * A client of the broker at {@code target}, over TLS as {@code tls} says, or plaintext when it is
   * null.
   *
   * @throws IllegalArgumentException naming the TLS option and file that cannot be used
   */
  public static BrokerClient connect(String target, TlsOptions tls, ClientConfig config) {
    if (tls == null && config.bearerToken() != null && !Targets.isLoopback(target)) {
      log.log(
          System.Logger.Level.WARNING,
          "sending a bearer token in plaintext to "
              + target
              + ", which is not loopback: anyone on the path can read it; configure TLS");
    }
    ManagedChannel channel =
        ChannelSecurity.channelBuilder(target, tls, ChannelSecurity.OptionNames.SDK)
            .userAgent("berth-java-sdk")
            .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
            .keepAliveTimeout(KEEPALIVE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
            .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
            .build();
    return new GrpcBrokerClient(channel, config);
  }

  /** A client over {@code channel}, which it owns and shuts down on close. */
  public static BrokerClient forChannel(ManagedChannel channel, ClientConfig config) {
    return new GrpcBrokerClient(channel, config);
  }

  @Override
  public WorkerSession openSession(String workerId, SessionOptions options) {
    Ids.check("workerId", workerId);
    if (options == null) {
      throw new NullPointerException("options");
    }
    if (closed.get()) {
      throw new IllegalStateException("client is closed");
    }
    ManagedSession session =
        new ManagedSession(channel, config, workerId, options, sessions::remove);
    sessions.add(session);
    if (closed.get()) {
      session.close(); // raced with close()
      throw new IllegalStateException("client is closed");
    }
    session.open();
    return session;
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    for (ManagedSession session : List.copyOf(sessions)) {
      session.close();
    }
    managed.shutdown();
    try {
      if (!managed.awaitTermination(config.callDeadline().toMillis(), TimeUnit.MILLISECONDS)) {
        managed.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      managed.shutdownNow();
    }
  }
}
