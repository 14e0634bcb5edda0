package dev.berth.server.web;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.BrokerListener;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.time.TimeSource;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The dashboard's live feed: the most recent {@link #CAPACITY} broker events, each numbered, kept
 * whether or not a page is open so a page opened later shows what just happened. Recording an event
 * costs two small objects (the event and, for most, its detail's capture) and an uncontended lock;
 * text is built when a page asks.
 *
 * <p>Thread-safe.
 */
final class DashboardFeed implements BrokerListener {
  /** Events kept. */
  static final int CAPACITY = 200;

  /**
   * One event as the page shows it. Its detail is written when a page reads it ({@link #detail}),
   * not when the broker tells the event: most events are never read (a page shows the newest few,
   * and often no page is open), and the broker's listeners run on every grant, end and refusal.
   *
   * @param seq increases by one per event, from 1
   * @param type lower-case, as {@code berth watch --type} names them: granted, released, ...
   * @param leaseKind the lease's kind; null when not about a lease
   * @param token the lease's fencing token; 0 when not about a lease
   * @param text writes the detail from facts captured with the event
   */
  record Event(
      long seq,
      Instant at,
      String type,
      String sessionId,
      String workerId,
      ResourceKind leaseKind,
      String leaseId,
      String host,
      long token,
      Supplier<String> text) {
    /** render, pdf or wasm; empty when not about a lease. */
    String kind() {
      return leaseKind == null ? "" : LOWER_KINDS.get(leaseKind);
    }

    /** What happened, in words; written on each call from the facts captured. */
    String detail() {
      return text.get();
    }
  }

  private static final Map<ResourceKind, String> LOWER_KINDS = lowerNames(ResourceKind.class);

  private final TimeSource time;

  @GuardedBy("this")
  private final ArrayDeque<Event> recent = new ArrayDeque<>();

  @GuardedBy("this")
  private long seq;

  DashboardFeed(TimeSource time) {
    this.time = time;
  }

  /** The number of the newest event; 0 before the first. */
  synchronized long lastSeq() {
    return seq;
  }

  /** The events kept with a number above {@code after}, oldest first. */
  synchronized List<Event> since(long after) {
    List<Event> out = new ArrayList<>();
    for (Event e : recent) {
      if (e.seq() > after) {
        out.add(e);
      }
    }
    return out;
  }

  private void add(
      String type, String sessionId, String workerId, Lease lease, Supplier<String> detail) {
    Instant at = time.wallTime();
    synchronized (this) {
      seq++;
      recent.addLast(
          new Event(
              seq,
              at,
              type,
              sessionId,
              workerId,
              lease == null ? null : lease.kind(),
              lease == null ? "" : lease.id(),
              lease == null ? "" : lease.host(),
              lease == null ? 0 : lease.fencingToken(),
              detail));
      if (recent.size() > CAPACITY) {
        recent.removeFirst();
      }
    }
  }

  /** An operator acted through the dashboard (a drain has no broker event of its own). */
  void action(String type, String sessionId, String detail) {
    add(type, sessionId, "", null, () -> detail);
  }

  @Override
  public void granted(Lease lease, String workerId) {
    add("granted", lease.sessionId(), workerId, lease, DashboardFeed::noDetail);
  }

  @Override
  public void readmitted(Lease lease, String workerId, String job) {
    add("readmitted", lease.sessionId(), workerId, lease, DashboardFeed::noDetail);
  }

  @Override
  public void refused(AcquireSpec spec, Decision.Refused refusal) {
    // The refusal writes its own detail once, on the first read (the caller's answer reads it).
    add(
        "refused",
        spec.sessionId(),
        "",
        null,
        () ->
            lower(refusal.reason())
                + " "
                + lower(spec.kind())
                + (spec.host().isEmpty() ? "" : " " + spec.host())
                + ": "
                + refusal.detail());
  }

  @Override
  public void ended(Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome) {
    String type =
        switch (how) {
          case RELEASED, SESSION_CLOSED -> "released";
          case SESSION_EXPIRED, MAX_HOLD -> "expired";
          case REVOKED -> "revoked";
        };
    add(type, lease.sessionId(), "", lease, () -> endDetail(how, revokeReason, outcome));
  }

  private static String noDetail() {
    return "";
  }

  private static String endDetail(LeaseEnd how, RevokeReason revokeReason, Outcome outcome) {
    String detail = lower(how);
    if (how == LeaseEnd.REVOKED && revokeReason != null) {
      detail += " (" + lower(revokeReason) + ")";
    }
    if (!outcome.error().isEmpty()) {
      detail += ": " + outcome.error();
    }
    return detail;
  }

  @Override
  public void sessionOpened(String sessionId, String workerId, boolean resumed) {
    add(
        resumed ? "session_resumed" : "session_opened",
        sessionId,
        workerId,
        null,
        DashboardFeed::noDetail);
  }

  @Override
  public void sessionEnded(String sessionId, String workerId, boolean expired) {
    add(
        expired ? "session_expired" : "session_closed",
        sessionId,
        workerId,
        null,
        DashboardFeed::noDetail);
  }

  @Override
  public void pressureChanged(PressureChange change) {
    if (change.from() != change.to()) {
      add(
          pressureType(change.to()),
          "",
          "",
          null,
          () -> lower(change.to()) + ": " + change.trigger());
    }
    for (PressureChange.Worker worker : change.workers()) {
      add(
          pressureType(worker.to()),
          worker.sessionId(),
          worker.workerId(),
          null,
          () -> lower(worker.to()) + ": " + worker.trigger());
    }
  }

  @Override
  public void limitChanged(LimitChange change) {
    add("limits_updated", "", "", null, () -> change.describe(lower(change.kind())));
  }

  @Override
  public void limitsUpdated(String detail) {
    add("limits_updated", "", "", null, () -> detail);
  }

  private static String pressureType(PressureLevel to) {
    return to == PressureLevel.NONE ? "pressure_off" : "pressure_on";
  }

  static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  private static <E extends Enum<E>> Map<E, String> lowerNames(Class<E> type) {
    Map<E, String> names = new EnumMap<>(type);
    for (E e : type.getEnumConstants()) {
      names.put(e, lower(e));
    }
    return names;
  }
}
