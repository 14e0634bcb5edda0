package dev.berth.client;

import static java.util.Objects.requireNonNull;

import dev.berth.common.Durations;
import io.opentelemetry.api.OpenTelemetry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A connection to a Berth broker, or to the leader of a Berth cluster, from which a worker opens
 * its {@link WorkerSession}. Build one with {@link #newBuilder()}:
 *
 * <pre>{@code
 * try (BrokerClient client = BrokerClient.newBuilder().target("127.0.0.1:7433").build();
 *     WorkerSession session = client.openSession("crawler-17")) {
 *   ...
 * }
 * }</pre>
 *
 * <p>Given the members of a cluster ({@link Builder#targets}), the client finds the leader: it
 * tries the members in turn, follows a follower's {@code NOT_LEADER} answer to the leader it names,
 * and backs off (with jitter, on its {@link Ticker}) while no leader is known. When the leader
 * changes, each session resumes on the new one with the leases it holds, and calls that were in
 * flight are sent again with the same request (an acquire keeps its {@code request_id}, so a retry
 * is never granted twice).
 *
 * <p>This interface is thread-safe. One client per broker (or cluster) and process is enough; it
 * may hold many sessions. Closing it closes every session it opened.
 */
public interface BrokerClient extends AutoCloseable {

  /**
   * A builder with the defaults: plaintext (see {@link Builder#tls}), no credentials, 10 s call
   * deadline.
   */
  static Builder newBuilder() {
    return new Builder();
  }

  /** Opens a session with the {@linkplain SessionOptions#defaults() default options}. */
  default WorkerSession openSession(String workerId) {
    return openSession(workerId, SessionOptions.defaults());
  }

  /**
   * Opens a session and returns once the broker has answered, within the call deadline.
   *
   * @param workerId a stable name of this worker process, for operators (printable ASCII, at most
   *     128 characters)
   * @throws BrokerException when the broker cannot be reached or refuses the session
   * @throws IllegalArgumentException when {@code workerId} is not a valid name
   * @throws IllegalStateException when this client is closed
   */
  WorkerSession openSession(String workerId, SessionOptions options);

  /**
   * Closes every session and then the connection: says every session's goodbye first, then waits at
   * most one call deadline for all their answers together (dropping the streams of those not
   * answered), and at most another for the connection's calls to end; so about twice the call
   * deadline at most, however many sessions. Idempotent.
   */
  @Override
  void close();

  /**
   * Collects the settings of a client; {@link #build()} validates them and connects. Not
   * thread-safe.
   */
  final class Builder {
    private List<String> targets = List.of();
    private String bearerToken;
    private TlsOptions tls;
    private Duration callDeadline = Duration.ofSeconds(10);
    private Duration validityMargin;
    private Duration reconnectInitial = Duration.ofMillis(100);
    private Duration reconnectMax = Duration.ofSeconds(2);
    private Ticker ticker = Ticker.system();
    private OpenTelemetry openTelemetry;
    private boolean unaryLeaseCalls;
    private SafeMode safeMode;

    private Builder() {}

    /**
     * Where the broker listens, {@code host:port} (any gRPC target string works, e.g. {@code
     * dns:///broker.internal:7433}). This or {@link #targets} is required. The connection is
     * plaintext unless {@link #tls} is set.
     *
     * <p>A plain {@code host:port} whose name resolves to several addresses is a cluster: each
     * address is tried as a member (resolved once, when the client is built), and TLS checks the
     * name, not the address.
     */
    public Builder target(String value) {
      return targets(requireNonNull(value, "target"));
    }

    /**
     * The members of a cluster, each a {@code host:port} (or gRPC target string), e.g. {@code
     * targets("a:7433", "b:7433", "c:7433")}: the client connects to whichever leads, following a
     * follower's hint. One value is the same as {@link #target}. Replaces earlier targets.
     */
    public Builder targets(String... values) {
      requireNonNull(values, "targets");
      List<String> list = new ArrayList<>();
      for (String value : values) {
        list.add(requireNonNull(value, "targets: an element is null"));
      }
      this.targets = List.copyOf(list);
      return this;
    }

    /** A bearer token, sent as {@code authorization: Bearer <token>} on every call. */
    public Builder bearerToken(String value) {
      this.bearerToken = requireNonNull(value, "bearerToken");
      return this;
    }

    /**
     * Connects with TLS as {@code value} says (trust, client certificate for mTLS, server name)
     * instead of plaintext. Plaintext is the default, fine for a broker on loopback; a bearer token
     * sent in plaintext to a broker elsewhere can be read off the wire, which {@link #build()}
     * warns about once.
     */
    public Builder tls(TlsOptions value) {
      this.tls = requireNonNull(value, "tls");
      return this;
    }

    /**
     * The deadline of each call to the broker (10 s by default). An acquire gets this plus its
     * queue wait; opening and closing a session wait at most this long for the broker.
     */
    public Builder callDeadline(Duration value) {
      this.callDeadline = requireNonNull(value, "callDeadline");
      return this;
    }

    /**
     * How long before the broker could end a lease the SDK stops calling it valid (see {@link
     * Lease}). Defaults to {@code min(1 s, session_ttl / 5)}, computed per session.
     */
    public Builder validityMargin(Duration value) {
      this.validityMargin = requireNonNull(value, "validityMargin");
      return this;
    }

    /**
     * The reconnect back-off: the first retry after {@code initial}, doubling up to {@code max},
     * each with ±20 % jitter. Defaults 100 ms and 2 s.
     */
    public Builder reconnectBackoff(Duration initial, Duration max) {
      this.reconnectInitial = requireNonNull(initial, "initial");
      this.reconnectMax = requireNonNull(max, "max");
      return this;
    }

    /**
     * The clock for lease validity and {@link WorkerSession#acquireWithRetry} waits, and the one
     * that schedules each session's heartbeats, reconnect back-off and hello timeout; {@link
     * Ticker#system()} by default. Tests pass a fake they advance by hand.
     */
    public Builder ticker(Ticker value) {
      this.ticker = requireNonNull(value, "ticker");
      return this;
    }

    /**
     * The OpenTelemetry instance the SDK makes its spans with: one per acquire (its queue wait
     * included), one around {@link WorkerSession#acquireWithRetry} over its attempts, one per
     * release, each a child of the span current on the calling thread. Every call carries the
     * current trace context as W3C {@code traceparent} metadata, so the broker's spans join the
     * worker's trace. Without this, the SDK uses {@code GlobalOpenTelemetry} once the application
     * has set it, and otherwise makes no span (it still passes on a current trace context).
     */
    public Builder openTelemetry(OpenTelemetry value) {
      this.openTelemetry = requireNonNull(value, "openTelemetry");
      return this;
    }

    /**
     * Makes acquires and releases unary {@code Acquire} / {@code Release} calls instead of calls on
     * the session stream (the default). The stream carries more leases per second for less broker
     * CPU and waits out a reconnect; the unary calls are what a generated gRPC client makes, and
     * each fails on its own when the connection breaks. Both follow the same broker rules.
     */
    public Builder unaryLeaseCalls() {
      this.unaryLeaseCalls = true;
      return this;
    }

    /**
     * Lets each session go on under a small local budget once the broker has been out of reach for
     * a while ({@link SafeMode}). Off by default: without it, acquires fail while the broker cannot
     * be reached.
     */
    public Builder safeMode(SafeMode value) {
      this.safeMode = requireNonNull(value, "safeMode");
      return this;
    }

    /**
     * Validates the settings and creates the client. Connecting is lazy: an unreachable broker is
     * reported by {@link BrokerClient#openSession}.
     *
     * <p>With {@link #tls}, the PEM files are read and checked now.
     *
     * @throws IllegalArgumentException naming the first setting that breaks its rule, or the TLS
     *     option and file that is missing, unreadable or not a usable PEM file
     */
    public BrokerClient build() {
      return BrokerClientProvider.instance().connect(settings());
    }

    /** The settings, validated, for the SDK's implementation. */
    BrokerClientProvider.Settings settings() {
      if (targets.isEmpty()) {
        throw new IllegalArgumentException("target: required, e.g. 127.0.0.1:7433");
      }
      for (int i = 0; i < targets.size(); i++) {
        String t = targets.get(i);
        String name = targets.size() == 1 ? "target" : "targets[" + i + "]";
        if (t.isBlank()) {
          throw new IllegalArgumentException(name + ": must not be blank, e.g. 127.0.0.1:7433");
        }
        if (targets.indexOf(t) != i) {
          throw new IllegalArgumentException(name + ": " + t + " is given twice");
        }
      }
      Durations.requirePositive("callDeadline", callDeadline);
      Durations.requirePositive("reconnectBackoff.initial", reconnectInitial);
      Durations.requirePositive("reconnectBackoff.max", reconnectMax);
      if (reconnectMax.compareTo(reconnectInitial) < 0) {
        throw new IllegalArgumentException(
            "reconnectBackoff.max: must be at least initial ("
                + reconnectInitial
                + "), got "
                + reconnectMax);
      }
      if (validityMargin != null && validityMargin.isNegative()) {
        throw new IllegalArgumentException(
            "validityMargin: must not be negative, got " + validityMargin);
      }
      if (bearerToken != null && (bearerToken.isEmpty() || bearerToken.contains("\n"))) {
        throw new IllegalArgumentException("bearerToken: must be one non-empty line");
      }
      return new BrokerClientProvider.Settings(
          targets,
          tls,
          bearerToken,
          callDeadline,
          validityMargin,
          reconnectInitial,
          reconnectMax,
          ticker,
          openTelemetry,
          unaryLeaseCalls,
          safeMode);
    }
  }
}
