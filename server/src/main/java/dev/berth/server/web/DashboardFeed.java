package dev.berth.server.web;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.BrokerListener;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.time.TimeSource;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The dashboard's live feed: the most recent {@link #CAPACITY} broker events, each numbered, kept
 * whether or not a page is open so a page opened later shows what just happened. Recording an event
 * costs one small object and an uncontended lock; text is built when a page asks.
 *
 * <p>Thread-safe.
 */
final class DashboardFeed implements BrokerListener {
  /** Events kept. */
  static final int CAPACITY = 200;

  /**
   * One event as the page shows it.
   *
   * @param seq increases by one per event, from 1
   * @param type lower-case, as {@code berth watch --type} names them: granted, released, ...
   * @param kind render, pdf or wasm; empty when not about a lease
   * @param token the lease's fencing token; 0 when not about a lease
   */
  record Event(
      long seq,
      Instant at,
      String type,
      String sessionId,
      String workerId,
      String kind,
      String leaseId,
      String host,
      long token,
      String detail) {}

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

  private void add(String type, String sessionId, String workerId, Lease lease, String detail) {
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
              lease == null ? "" : lower(lease.kind()),
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
    add(type, sessionId, "", null, detail);
  }

  @Override
  public void granted(Lease lease, String workerId) {
    add("granted", lease.sessionId(), workerId, lease, "");
  }

  @Override
  public void refused(AcquireSpec spec, Decision.Refused refusal) {
    add(
        "refused",
        spec.sessionId(),
        "",
        null,
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
    String detail = lower(how);
    if (how == LeaseEnd.REVOKED && revokeReason != null) {
      detail += " (" + lower(revokeReason) + ")";
    }
    if (!outcome.error().isEmpty()) {
      detail += ": " + outcome.error();
    }
    add(type, lease.sessionId(), "", lease, detail);
  }

  @Override
  public void sessionOpened(String sessionId, String workerId, boolean resumed) {
    add(resumed ? "session_resumed" : "session_opened", sessionId, workerId, null, "");
  }

  @Override
  public void sessionEnded(String sessionId, String workerId, boolean expired) {
    add(expired ? "session_expired" : "session_closed", sessionId, workerId, null, "");
  }

  @Override
  public void pressureChanged(PressureChange change) {
    if (change.from() != change.to()) {
      add(pressureType(change.to()), "", "", null, lower(change.to()) + ": " + change.trigger());
    }
    for (PressureChange.Worker worker : change.workers()) {
      add(
          pressureType(worker.to()),
          worker.sessionId(),
          worker.workerId(),
          null,
          lower(worker.to()) + ": " + worker.trigger());
    }
  }

  @Override
  public void limitChanged(LimitChange change) {
    add(
        "limits_updated",
        "",
        "",
        null,
        lower(change.kind())
            + " effective limit "
            + change.from()
            + " -> "
            + change.to()
            + ": "
            + change.reason());
  }

  private static String pressureType(PressureLevel to) {
    return to == PressureLevel.NONE ? "pressure_off" : "pressure_on";
  }

  static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }
}
