package dev.berth.client;

import static java.util.Objects.requireNonNull;

import io.opentelemetry.api.OpenTelemetry;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Not for applications: the one seam between the SDK's public types and its gRPC implementation.
 * {@link BrokerClient.Builder#build()} validates its settings and hands them to the provider that
 * {@link ServiceLoader} finds; the SDK's own jar registers the only one ({@code
 * dev.berth.client.internal}). So this package compiles without its implementation and none of its
 * signatures needs a gRPC type, the way grpc-java's API finds its transport through {@code
 * ManagedChannelProvider}.
 *
 * <p>Implementations are thread-safe.
 */
public abstract class BrokerClientProvider {
  private static volatile BrokerClientProvider found;

  /** For the SDK's implementation, which {@link ServiceLoader} instantiates. */
  protected BrokerClientProvider() {}

  /**
   * A client connected as {@code settings} say. Connecting is lazy: nothing is sent until a session
   * opens; TLS files are read and checked now.
   *
   * @throws IllegalArgumentException naming the TLS option and file that cannot be used
   */
  protected abstract BrokerClient connect(Settings settings);

  /** The provider on the SDK's class path, found once. */
  static BrokerClientProvider instance() {
    BrokerClientProvider provider = found;
    if (provider == null) {
      provider =
          ServiceLoader.load(
                  BrokerClientProvider.class, BrokerClientProvider.class.getClassLoader())
              .findFirst()
              .orElseThrow(
                  () ->
                      new IllegalStateException(
                          "no implementation of the Berth SDK on the class path: berth-client's"
                              + " META-INF/services/"
                              + BrokerClientProvider.class.getName()
                              + " is missing (a repackaged jar must merge service files)"));
      found = provider;
    }
    return provider;
  }

  /**
   * A client's settings as {@link BrokerClient.Builder} validated them; only the builder makes
   * them. Immutable.
   */
  public static final class Settings {
    private final List<String> targets;
    private final TlsOptions tls;
    private final String bearerToken;
    private final Duration callDeadline;
    private final Duration validityMargin;
    private final Duration reconnectInitial;
    private final Duration reconnectMax;
    private final Ticker ticker;
    private final OpenTelemetry openTelemetry;
    private final boolean unaryLeaseCalls;
    private final SafeMode safeMode;

    Settings(
        List<String> targets,
        TlsOptions tls,
        String bearerToken,
        Duration callDeadline,
        Duration validityMargin,
        Duration reconnectInitial,
        Duration reconnectMax,
        Ticker ticker,
        OpenTelemetry openTelemetry,
        boolean unaryLeaseCalls,
        SafeMode safeMode) {
      this.targets = List.copyOf(targets);
      if (this.targets.isEmpty()) {
        throw new IllegalArgumentException("targets: at least one");
      }
      this.tls = tls;
      this.bearerToken = bearerToken;
      this.callDeadline = requireNonNull(callDeadline, "callDeadline");
      this.validityMargin = validityMargin;
      this.reconnectInitial = requireNonNull(reconnectInitial, "reconnectInitial");
      this.reconnectMax = requireNonNull(reconnectMax, "reconnectMax");
      this.ticker = requireNonNull(ticker, "ticker");
      this.openTelemetry = openTelemetry;
      this.unaryLeaseCalls = unaryLeaseCalls;
      this.safeMode = safeMode;
    }

    /** Safe mode as configured; empty when it is off (the default). */
    public Optional<SafeMode> safeMode() {
      return Optional.ofNullable(safeMode);
    }

    /** Where the broker listens, a gRPC target string: the first of {@link #targets()}. */
    public String target() {
      return targets.get(0);
    }

    /** Every broker (cluster member) given, in order, each a gRPC target string. */
    public List<String> targets() {
      return targets;
    }

    /** TLS as configured; empty for plaintext. */
    public Optional<TlsOptions> tls() {
      return Optional.ofNullable(tls);
    }

    /** The bearer token sent with every call; empty for none. */
    public Optional<String> bearerToken() {
      return Optional.ofNullable(bearerToken);
    }

    /** The deadline of each call; an acquire adds its queue wait. */
    public Duration callDeadline() {
      return callDeadline;
    }

    /** How early leases stop being valid; empty for {@code min(1 s, session_ttl / 5)}. */
    public Optional<Duration> validityMargin() {
      return Optional.ofNullable(validityMargin);
    }

    /** The first reconnect back-off. */
    public Duration reconnectInitial() {
      return reconnectInitial;
    }

    /** The largest reconnect back-off. */
    public Duration reconnectMax() {
      return reconnectMax;
    }

    /** The clock of lease validity, retry waits, heartbeats and reconnects. */
    public Ticker ticker() {
      return ticker;
    }

    /**
     * The application's OpenTelemetry, for the SDK's spans; empty: the global one if the
     * application set it, else none.
     */
    public Optional<OpenTelemetry> openTelemetry() {
      return Optional.ofNullable(openTelemetry);
    }

    /**
     * Whether acquires and releases are unary calls; false (the default) for calls on the session
     * stream.
     */
    public boolean unaryLeaseCalls() {
      return unaryLeaseCalls;
    }

    @Override
    public String toString() {
      return "Settings{target="
          + String.join(",", targets)
          + (tls == null ? ", plaintext" : ", " + tls)
          + (bearerToken == null ? "" : ", bearer token set")
          + ", callDeadline="
          + callDeadline
          + (unaryLeaseCalls ? ", unary lease calls" : "")
          + "}";
    }
  }
}
