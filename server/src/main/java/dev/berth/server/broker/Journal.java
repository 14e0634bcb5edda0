package dev.berth.server.broker;

import dev.berth.server.config.Policy;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;

/**
 * Where a leading cluster member's broker records every change to its lease state, so that its
 * replicas (and whichever member leads next) follow it, and what may hold a grant back while the
 * record of earlier grants is not safe yet. A lone broker uses {@link #NONE} and pays nothing: the
 * broker does not even build the entries then.
 *
 * <p>The broker calls every method but {@link #policyChanged} with its lock held, in the order of
 * its changes; implementations must be quick and must never block on I/O (they queue the entry for
 * a background sender). Implementations are thread-safe.
 */
public interface Journal {

  /** No journal: a lone broker. Grants are never held back. */
  Journal NONE =
      new Journal() {
        @Override
        public String holdsBack(
            ResourceKind kind, int alsoGranting, long tokensLeft, long nowNanos) {
          return null;
        }

        @Override
        public void sessionOpened(Fleet.SessionEntry session) {}

        @Override
        public void sessionEnded(String sessionId, String why) {}

        @Override
        public void leaseGranted(Fleet.LeaseEntry lease) {}

        @Override
        public void leaseEnded(String leaseId, LeaseEnd how, RevokeReason revokeReason) {}

        @Override
        public void hostPenalty(Fleet.HostPenalty penalty) {}
      };

  /**
   * Why a grant of {@code kind} may not be made at {@code nowNanos}, in words for the refusal (e.g.
   * too many grants of the pool await their commit, or this member's leader lease lapsed); null
   * when it may. Such a hold lasts milliseconds, so the refusal is retryable.
   *
   * @param alsoGranting grants of the kind the same request (a bundle) makes before this one
   * @param tokensLeft fencing tokens the broker's epoch can still issue ({@code
   *     FencingTokens.remaining}): a cluster leader holds grants back before its epoch runs out,
   *     while the cluster commits the next one, rather than issue tokens from an epoch only it
   *     knows
   */
  String holdsBack(ResourceKind kind, int alsoGranting, long tokensLeft, long nowNanos);

  void sessionOpened(Fleet.SessionEntry session);

  void sessionEnded(String sessionId, String why);

  void leaseGranted(Fleet.LeaseEntry lease);

  void leaseEnded(String leaseId, LeaseEnd how, RevokeReason revokeReason);

  /** A site answered 429 or 503 for a lease of a rate-limited host. */
  void hostPenalty(Fleet.HostPenalty penalty);

  /** This leader took over holding back slots for leases an earlier leader may have granted. */
  default void holdingBack(Fleet.HoldBack holdBack) {}

  /** The policy was replaced live (UpdateLimits, a reload). Called outside the broker's lock. */
  default void policyChanged(Policy policy) {}

  /**
   * Whether this member is handing its leadership to another (a planned handoff, bounded in time).
   * A waiting acquire whose wait runs out meanwhile is not refused: it waits on until the handoff
   * ends, then its session either ends with this leadership (its caller is sent to the successor,
   * which holds the session) or, if the handoff failed, the acquire is decided here as usual.
   */
  default boolean handingOff() {
    return false;
  }
}
