package dev.berth.client;

import java.time.Duration;
import java.time.Instant;
import java.util.function.Consumer;

/**
 * One unit of capacity granted to this worker's session. Close it when done — try-with-resources is
 * the intended use — and the broker gets it back together with the {@linkplain #recordOutcome
 * recorded outcome}.
 *
 * <h2>Validity</h2>
 *
 * The broker may end a lease without being asked: an operator revokes it, it reaches its max hold,
 * or its session expires because heartbeats stopped arriving. {@link #isValid()} is the worker's
 * best knowledge, and turns false <em>before</em> the broker could have ended the lease, so that a
 * worker never acts on a lease the broker has already handed to someone else:
 *
 * <ul>
 *   <li>the session is kept alive only by heartbeats (and the {@code hello} that opened or resumed
 *       it): the broker expires it {@code session_ttl} after the last one it received. The SDK
 *       remembers when it <em>sent</em> the latest heartbeat the broker acknowledged, {@code
 *       lastAck}; the broker received it later, so the session lives at least until {@code lastAck
 *       + session_ttl} on the worker's clock. An acquire does not extend the session, so the time
 *       it was sent proves nothing beyond that.
 *   <li>the lease also ends at its max hold; the SDK measures {@code expiresAt − grantedAt} from
 *       the time it <em>sent</em> the acquire, which is no later than the grant.
 * </ul>
 *
 * <p>So a lease is valid while {@code now < min(lastAck + session_ttl, acquireSent + maxHold) −
 * margin}, and it has not been closed, revoked (a push from the broker), lost with its session, or
 * reported lost on resume. The margin covers clock drift and the time a decision takes to act on;
 * it defaults to {@code min(1 s, session_ttl / 5)} and is set with {@link
 * BrokerClient.Builder#validityMargin}. Validity can run out without any callback: check it right
 * before each side effect that needs the lease, and hand {@link #fencingToken()} to the systems you
 * write to so they can reject a stale holder.
 *
 * <p>This interface is thread-safe. Listeners run on the session's listener thread.
 */
public interface Lease extends AutoCloseable {

  /** The broker's identifier: 128 random bits, hex encoded. */
  String leaseId();

  ResourceKind kind();

  /**
   * Strictly increasing over every grant of the broker, also across restarts; an unsigned 64-bit
   * value (compare with {@link Long#compareUnsigned}). Pass it to the systems you write to.
   */
  long fencingToken();

  /**
   * Whether the SDK granted this lease itself, in {@link SafeMode safe mode}, while the broker was
   * out of reach. A local lease has fencing token 0, which a fenced store must refuse; once the
   * session resumes, the broker counts it against its pool if it has room.
   */
  default boolean isLocal() {
    return false;
  }

  /** The broker session that holds this lease. */
  String sessionId();

  /** The rate-limit key: the URL's host, lower-cased; empty when no URL was given. */
  String host();

  /** WASM: the module name; empty for other kinds. */
  String module();

  /** WASM: the SHA-256 (hex) of the module's bytes; empty when the broker does not know it. */
  String moduleDigest();

  /** Memory charged to the fleet's budget for this lease, in MiB. */
  int memoryMb();

  /** When the broker granted it (the broker's wall clock; for display). */
  Instant grantedAt();

  /** When its max hold ends it (the broker's wall clock; for display — use {@link #isValid()}). */
  Instant expiresAt();

  /** Whether this worker may still act on the lease; see the class documentation for the rule. */
  boolean isValid();

  /** How much longer the lease is valid by the clock; zero once {@link #isValid()} is false. */
  Duration remainingValidity();

  /**
   * Records what happened while the lease was held; sent to the broker when it is closed. The last
   * call wins. Without one the broker is told nothing about the outcome.
   */
  void recordOutcome(Outcome outcome);

  /**
   * WASM: counts one call into the instance this worker runs under the lease. The session reports
   * the running count in its heartbeats; a WASM lease whose count stops changing for the broker's
   * {@code wasm_idle_timeout} is revoked ({@link RevokeReason#IDLE}).
   *
   * @param succeeded false when the call trapped or failed
   * @throws IllegalStateException when this is not a WASM lease
   */
  void recordWasmCall(boolean succeeded);

  /**
   * Calls {@code listener} once if the broker ends this lease before it is closed (see {@link
   * RevokedLease}). Registered after that happened, it is called at once.
   */
  void onRevoked(Consumer<RevokedLease> listener);

  /**
   * Releases the lease: tells the broker, with the recorded outcome and how long the lease was
   * held, and returns once the broker has answered (at most the client's call deadline). Only the
   * first call does anything; closing a lease the broker has already ended, or whose session is
   * closed or closing (its goodbye releases the lease), does nothing. Never throws: when the broker
   * cannot be reached the release is retried in the background while the session lives.
   */
  @Override
  void close();
}
