package dev.berth.client;

import java.time.Duration;
import java.util.function.Consumer;

/**
 * A worker's session with the broker, opened by {@link BrokerClient#openSession}. While it is open
 * the SDK, on its own threads:
 *
 * <ul>
 *   <li>heartbeats at the interval the broker asks for, reporting the {@link MemoryProbe}'s
 *       reading;
 *   <li>when the stream drops, reconnects with exponential back-off (100 ms doubling to 2 s, with
 *       jitter, by default) and resumes the session, declaring the leases it holds; within the
 *       session TTL the session and its leases survive, and leases the broker no longer has are
 *       reported to {@link #onRevoked} ({@link RevokeReason#NOT_RESUMED});
 *   <li>when the broker answers that the session is gone (it expired, or the broker restarted),
 *       reports {@link #onSessionLost}, ends every lease of the old session, and carries on in a
 *       fresh session — {@link #sessionId()} changes;
 *   <li>acknowledges the broker's pushes (revoke, cleanup, drain) and hands them to the listeners.
 * </ul>
 *
 * <p>Close it when the worker is done: {@link #close()} says goodbye, which releases everything the
 * session still holds.
 *
 * <p>This interface is thread-safe: any thread may acquire, and leases may be used and closed from
 * any thread. Listeners run one at a time, in the order of events, on a thread of the session
 * reserved for them, so a slow listener delays other listeners but never heartbeats. A listener
 * that throws is logged and does not stop the others.
 */
public interface WorkerSession extends AutoCloseable {

  /** The name this worker gave when opening the session. */
  String workerId();

  /** The broker session currently used; changes when a session is lost and replaced. */
  String sessionId();

  /** The broker's epoch when the current session was opened or last resumed. */
  long epoch();

  /**
   * True while the session's stream is connected; false while reconnecting and once closed.
   * Acquires may still succeed while reconnecting: they are separate calls.
   */
  boolean isLive();

  /** True once the broker has asked this session to drain; it then refuses every acquire. */
  boolean isDraining();

  /**
   * Asks for one lease, waiting up to {@link AcquireOptions#maxWait()} in the broker's queue.
   * Returns the grant or the refusal; the call's deadline is the client's call deadline plus that
   * wait.
   *
   * @throws BrokerException when the call fails (e.g. UNAVAILABLE, NOT_FOUND for a session that
   *     ended, CANCELLED when the thread is interrupted — its interrupt flag is then set)
   * @throws IllegalStateException when the session is closed
   */
  AcquireResult acquire(AcquireOptions options);

  /**
   * What this session did in {@link SafeMode safe mode}: local grants, those the broker counted on
   * resume, those it refused. {@link SafeModeCounts#NONE} when safe mode is off.
   */
  default SafeModeCounts safeModeCounts() {
    return SafeModeCounts.NONE;
  }

  /**
   * Acquires like {@link #acquire}, and when refused waits the refusal's {@code retryAfter} (at
   * least 50 ms, stretched at random by up to a tenth more, at most 1 s, so that workers refused
   * together do not all ask again at once) and asks again, until granted or until the next try
   * could not start before {@code deadline} has passed; then the last refusal is returned. A
   * DRAINING refusal is returned at once: waiting does not end a drain. Each attempt's call may
   * take only the time left, waiting for a stream or a leader included, and its queue wait ends a
   * tenth of that (at most 1 s) earlier, so that the broker's answer arrives within it; an attempt
   * after the first that still runs out of time returns the refusal before it. When the options
   * carry a request id, attempt {@code n > 1} uses {@code requestId + "/" + n}, because the broker
   * answers a repeated id with its first answer.
   *
   * @param deadline the longest this call may take, measured on the client's {@link Ticker}: more
   *     than zero and at most 3650 days
   * @throws BrokerException as {@link #acquire} does; waiting is interruptible (CANCELLED)
   * @throws IllegalArgumentException naming {@code deadline} when it is out of that range
   */
  AcquireResult acquireWithRetry(AcquireOptions options, Duration deadline);

  /**
   * Asks for every item of {@code options} at once: the broker grants all of them together, or
   * none, waiting up to {@link BundleOptions#maxWait()} in its queue as one request. Returns every
   * lease as one {@link LeaseBundle}, or one refusal naming the item and the rule; a refused bundle
   * holds nothing. On the session stream like {@link #acquire} (and sent again with the same
   * request id after a reconnect), or a unary call with {@link
   * BrokerClient.Builder#unaryLeaseCalls}.
   *
   * @throws BrokerException as {@link #acquire} does; INVALID_ARGUMENT naming {@code
   *     items[i].field} for an item the broker does not accept
   * @throws IllegalStateException when the session is closed
   */
  BundleResult acquireBundle(BundleOptions options);

  /**
   * Asks for a bundle like {@link #acquireBundle}, and when refused retries as {@link
   * #acquireWithRetry} does: waits the refusal's {@code retryAfter} (at least 50 ms, stretched at
   * random by up to a tenth), cuts each attempt's call to the time left and its queue wait to end
   * before that, returns a DRAINING refusal at once, and gives attempt {@code n > 1} the request id
   * {@code requestId + "/" + n} when the options carry one.
   *
   * @param deadline as for {@link #acquireWithRetry}
   * @throws BrokerException as {@link #acquireBundle} does; waiting is interruptible (CANCELLED)
   * @throws IllegalArgumentException naming {@code deadline} when it is out of range
   */
  BundleResult acquireBundleWithRetry(BundleOptions options, Duration deadline);

  /**
   * Fetches the module a WASM lease names from the broker, and checks its bytes against the lease's
   * digest. Run it with any WebAssembly runtime (the reference worker uses Chicory), and count its
   * calls with {@link Lease#recordWasmCall}.
   *
   * @throws IllegalArgumentException when {@code wasmLease} is not a WASM lease
   * @throws BrokerException NOT_FOUND when the broker no longer serves that module or digest (a
   *     reload replaced it: close the lease and acquire again); INTERNAL when the bytes do not
   *     match the digest; or as {@link #acquire} does
   */
  WasmModule fetchModule(Lease wasmLease);

  /**
   * Calls {@code listener} for every lease of this session the broker ends without it being closed:
   * pushed revocations, leases not resumed after a reconnect, and the leases of a lost session.
   * Each lease is reported once.
   */
  void onRevoked(Consumer<RevokedLease> listener);

  /** Calls {@code listener} when the broker asks this worker to free memory. */
  void onCleanup(Consumer<CleanupRequest> listener);

  /** Calls {@code listener} when the broker asks this worker to finish and acquire nothing new. */
  void onDrain(Consumer<DrainRequest> listener);

  /** Calls {@code listener} when the broker session is lost with every lease it held. */
  void onSessionLost(Consumer<SessionLost> listener);

  /**
   * Ends the session: says goodbye, so the broker releases every lease it still holds, and stops
   * the session's threads. Returns within about the client's call deadline. If the stream is down
   * at that moment the goodbye cannot be sent, and the broker ends the session when its TTL passes.
   * Leases of a closed session are no longer valid, and closing them does nothing. Idempotent.
   */
  @Override
  void close();
}
