package dev.berth.client.internal;

import dev.berth.client.BrokerClient;
import dev.berth.client.BrokerClientProvider.Settings;
import dev.berth.client.SessionOptions;
import dev.berth.client.TlsOptions;
import dev.berth.client.WorkerSession;
import dev.berth.common.Identifiers;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/** The SDK's {@link BrokerClient}: one gRPC channel and the sessions opened on it. Thread-safe. */
final class GrpcBrokerClient implements BrokerClient {
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
  private final Settings settings;
  private final Set<ManagedSession> sessions = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();

  private GrpcBrokerClient(ManagedChannel managed, Settings settings) {
    this.managed = managed;
    this.settings = settings;
    Channel authenticated =
        settings
            .bearerToken()
            .<Channel>map(token -> ClientInterceptors.intercept(managed, new BearerToken(token)))
            .orElse(managed);
    // Every call carries the caller's trace context (W3C traceparent), when there is one.
    this.channel =
        ClientInterceptors.intercept(
            authenticated, new SdkTracing(settings.openTelemetry().orElse(null)));
  }

  /**
   * A client of the broker at the settings' target, over TLS as they say, or plaintext.
   *
   * @throws IllegalArgumentException naming the TLS option and file that cannot be used
   */
  static BrokerClient connect(Settings settings) {
    String target = settings.target();
    TlsOptions tls = settings.tls().orElse(null);
    if (tls == null && settings.bearerToken().isPresent() && !Targets.isLoopback(target)) {
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
    return forChannel(channel, settings);
  }

  /**
   * A client over {@code channel}, which it owns and shuts down on close; the settings' target and
   * TLS are not used. The SDK's tests connect over the in-process transport this way.
   */
  static BrokerClient forChannel(ManagedChannel channel, Settings settings) {
    return new GrpcBrokerClient(channel, settings);
  }

  @Override
  public WorkerSession openSession(String workerId, SessionOptions options) {
    Identifiers.check("workerId", workerId);
    if (options == null) {
      throw new NullPointerException("options");
    }
    if (closed.get()) {
      throw new IllegalStateException("client is closed");
    }
    ManagedSession session =
        new ManagedSession(channel, settings, workerId, options, sessions::remove);
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
      if (!managed.awaitTermination(settings.callDeadline().toMillis(), TimeUnit.MILLISECONDS)) {
        managed.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      managed.shutdownNow();
    }
  }
}
