package dev.berth.server.broker;

import static java.util.Objects.requireNonNull;

import dev.berth.server.lease.ResourceKind;
import java.util.List;
import java.util.Map;

/**
 * The broker's lease state as plain values: its sessions, leases and host penalties. It is what a
 * leader's journal describes change by change ({@link Journal}), what a replica keeps, what a new
 * leader takes over from ({@link Broker#takeOver(long, Fleet, int)}), and what a planned handoff or
 * a lone broker's graceful stop writes whole ({@link Broker#fleet()}). Monotonic instants do not
 * cross machines or restarts, so times are wall-clock milliseconds. Immutable.
 */
public record Fleet(List<SessionEntry> sessions, List<LeaseEntry> leases, List<HostPenalty> hosts) {

  /** Nothing: no session, no lease, no penalty. */
  public static final Fleet EMPTY = new Fleet(List.of(), List.of(), List.of());

  public Fleet {
    sessions = List.copyOf(sessions);
    leases = List.copyOf(leases);
    hosts = List.copyOf(hosts);
  }

  /**
   * A live session.
   *
   * @param job the job its hello named (or its principal); resolved again where it is loaded
   * @param openedAtUnixMs for display only
   */
  public record SessionEntry(
      String id,
      String workerId,
      String principal,
      Map<String, String> labels,
      long memoryLimitMb,
      String job,
      long openedAtUnixMs) {
    public SessionEntry {
      requireNonNull(id, "id");
      requireNonNull(workerId, "workerId");
      requireNonNull(principal, "principal");
      labels = Map.copyOf(labels);
      requireNonNull(job, "job");
    }
  }

  /**
   * A live lease.
   *
   * @param asked what the request that took it asked for ({@link Asked#NONE} for a declared lease)
   * @param grantedAtUnixMs wall-clock milliseconds at the grant
   * @param maxHoldMs how long it may be held from the grant
   */
  public record LeaseEntry(
      String id,
      String sessionId,
      ResourceKind kind,
      long fencingToken,
      String host,
      String module,
      String moduleDigest,
      int memoryMb,
      Asked asked,
      long grantedAtUnixMs,
      long maxHoldMs) {
    public LeaseEntry {
      requireNonNull(id, "id");
      requireNonNull(sessionId, "sessionId");
      requireNonNull(kind, "kind");
      requireNonNull(host, "host");
      requireNonNull(module, "module");
      requireNonNull(moduleDigest, "moduleDigest");
      requireNonNull(asked, "asked");
    }

    /** The request id that took it, empty when none. */
    public String requestId() {
      return asked.requestId();
    }
  }

  /**
   * What the request that took a lease asked for, so that a broker loading the lease recognises a
   * retry of that request (same request id, same items) and answers it with this lease instead of
   * granting again.
   *
   * @param requestId the request's idempotency key, empty when none
   * @param url the item's URL as asked, or its digest when long ({@code AcquireSpec.keptUrl})
   * @param module the item's module as asked (empty for the broker's default)
   * @param item the lease's index among the request's items
   * @param items the request's item count: 1 for an acquire, 2..8 for a bundle; 0 when no request
   *     asked for it (a lease a worker declared)
   */
  public record Asked(String requestId, String url, String module, int item, int items) {
    /** A lease no request asked for. */
    public static final Asked NONE = new Asked("", "", "", 0, 0);

    public Asked {
      requireNonNull(requestId, "requestId");
      requireNonNull(url, "url");
      requireNonNull(module, "module");
    }
  }

  /**
   * A site answered 429 or 503: its host is slowed and paused.
   *
   * @param retryAfterMs the site's Retry-After, 0 when none
   * @param atUnixMs when the answer was reported
   */
  public record HostPenalty(String host, int httpStatus, long retryAfterMs, long atUnixMs) {
    public HostPenalty {
      requireNonNull(host, "host");
    }
  }

  /**
   * Slots a leader keeps free in each pool after taking over from a replica, for leases an earlier
   * leader may have granted unseen (their journal entries not committed when it stopped), until
   * {@code untilUnixMs}. A leader journals its own once it has taken over, so that a leader elected
   * before that time keeps them free as well as its own.
   *
   * @param slots slots per pool; a pool missing holds none back
   */
  public record HoldBack(Map<ResourceKind, Integer> slots, long untilUnixMs) {
    public HoldBack {
      slots = Map.copyOf(slots);
    }

    /** Slots of {@code kind} still held back at {@code nowUnixMs}. */
    public int slots(ResourceKind kind, long nowUnixMs) {
      return nowUnixMs < untilUnixMs ? slots.getOrDefault(kind, 0) : 0;
    }
  }
}
