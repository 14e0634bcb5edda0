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
import io.grpc.ManagedChannelBuilder;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

/**
 * The SDK's {@link BrokerClient}: a channel to each broker (or cluster member) it was given, the
 * one that leads, and the sessions opened on them. Thread-safe.
 */
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

  private final LeaderTargets targets;
  private final Settings settings;
  private final Set<ManagedSession> sessions = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean closed = new AtomicBoolean();

  private GrpcBrokerClient(
      List<String> targets, Function<String, ManagedChannel> open, Settings settings) {
    this.settings = settings;
    SdkTracing tracing = new SdkTracing(settings.openTelemetry().orElse(null));
    this.targets =
        new LeaderTargets(
            targets,
            open,
            managed -> {
              Channel authenticated =
                  settings
                      .bearerToken()
                      .<Channel>map(
                          token -> ClientInterceptors.intercept(managed, new BearerToken(token)))
                      .orElse(managed);
              // Every call carries the caller's trace context (W3C traceparent), when there is one.
              return ClientInterceptors.intercept(authenticated, tracing);
            });
  }

  /**
   * A client of the brokers at the settings' targets (a lone name that resolves to several
   * addresses is each of them), over TLS as they say, or plaintext.
   *
   * @throws IllegalArgumentException naming the TLS option and file that cannot be used
   */
  static BrokerClient connect(Settings settings) {
    TlsOptions tls = settings.tls().orElse(null);
    if (tls == null
        && settings.bearerToken().isPresent()
        && !settings.targets().stream().allMatch(Targets::isLoopback)) {
      log.log(
          System.Logger.Level.WARNING,
          "sending a bearer token in plaintext to "
              + String.join(",", settings.targets())
              + ", which is not loopback: anyone on the path can read it; configure TLS");
    }
    Map<String, String> authorities = new HashMap<>();
    List<String> targets = LeaderTargets.expand(settings.targets(), authorities);
    GrpcBrokerClient client =
        new GrpcBrokerClient(
            targets,
            target -> {
              ManagedChannelBuilder<?> builder =
                  ChannelSecurity.channelBuilder(target, tls, ChannelSecurity.OptionNames.SDK)
                      .userAgent("berth-java-sdk")
                      .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
                      .keepAliveTimeout(KEEPALIVE_TIMEOUT_SECONDS, TimeUnit.SECONDS)
                      .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES);
              String authority = authorities.get(target);
              if (authority != null && (tls == null || tls.serverName().isEmpty())) {
                builder.overrideAuthority(authority); // TLS checks the name the addresses came from
              }
              return builder.build();
            },
            settings);
    client.targets.channel(); // the first member's channel now: unusable TLS files fail the build
    return client;
  }

  /**
   * A client over channels that {@code open} makes for each target (a follower's hint included),
   * which it owns and shuts down on close; the settings' TLS is not used. The SDK's tests connect
   * over the in-process transport this way.
   */
  static BrokerClient forChannels(
      List<String> targets, Function<String, ManagedChannel> open, Settings settings) {
    return new GrpcBrokerClient(targets, open, settings);
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
        new ManagedSession(targets, settings, workerId, options, sessions::remove);
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
    // Every goodbye goes out first, then one wait covers all their answers: closed one after
    // another, sessions on a half-open connection would each wait out the call deadline. The wait
    // is on the client's ticker, as every timer of its sessions is.
    Map<ManagedSession, CompletableFuture<Void>> goodbyes = new LinkedHashMap<>();
    for (ManagedSession session : List.copyOf(sessions)) {
      CompletableFuture<Void> goodbye = session.sayGoodbye();
      if (goodbye != null) { // else its worker is closing it
        goodbyes.put(session, goodbye);
      }
    }
    ManagedSession.awaitGoodbyes(
        settings.ticker(), settings.callDeadline(), List.copyOf(goodbyes.values()));
    goodbyes.forEach((session, goodbye) -> session.finishClose(goodbye));
    targets.close(settings.callDeadline().toMillis());
  }
}
