package dev.berth.server.session;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;

/**
 * The live sessions, the earliest time each may expire, and why recently ended ones ended (for
 * clear errors to late callers).
 *
 * <p>Heartbeats only move a session's last-seen time; the expiry queue is re-checked lazily when an
 * entry comes due, so a heartbeat costs no queue operation and each session is re-queued about once
 * per TTL. Each session expires at the TTL its worker was last told ({@link #told}), so a reload
 * that changes {@code session.ttl} reaches a session with its next heartbeat ack.
 *
 * <p>Not thread-safe: the broker guards it with its lock.
 */
public final class SessionRegistry {
  private static final int ENDED_REMEMBERED = 10_000;

  private record Deadline(long atNanos, String sessionId) {}

  private final Map<String, Session> sessions = new HashMap<>();
  private final PriorityQueue<Deadline> deadlines =
      new PriorityQueue<>((a, b) -> Long.compare(a.atNanos(), b.atNanos()));
  private final LinkedHashMap<String, String> ended =
      new LinkedHashMap<>() {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
          return size() > ENDED_REMEMBERED;
        }
      };

  /** The live session with this id, or null. */
  public Session get(String sessionId) {
    return sessions.get(sessionId);
  }

  /** Adds a new session that may expire {@code ttlNanos} after it was last seen. */
  public void add(Session session, long ttlNanos) {
    sessions.put(session.id(), session);
    session.ttlNanos(ttlNanos);
    deadlines.add(new Deadline(session.dueNanos(), session.id()));
  }

  /**
   * Its worker was told (in an {@code opened} or a heartbeat ack) that the session lives {@code
   * ttlNanos} past its last sign of life. The TTL in force changes for a session only so: its
   * worker trusts its leases for as long as it was told, so the broker must not end the session
   * sooner. A shorter TTL queues the earlier deadline (a longer one is found by {@link #overdue}).
   */
  public void told(Session session, long ttlNanos) {
    boolean sooner = ttlNanos < session.ttlNanos();
    session.ttlNanos(ttlNanos);
    if (sooner) {
      deadlines.add(new Deadline(session.dueNanos(), session.id()));
    }
  }

  /**
   * The broker stood still for {@code nanos} (it did not run: a GC pause, SIGSTOP, a suspended
   * machine): that time does not count against any live session's TTL, since no heartbeat could be
   * read in it. Each session's deadline moves back by it until the session is next seen. Entries in
   * the expiry queue are re-checked when they come due, so none moves here.
   */
  public void excuse(long nanos) {
    for (Session session : sessions.values()) {
      session.excuse(nanos);
    }
  }

  /** Removes a session and remembers why it ended. */
  public void remove(Session session, String why) {
    sessions.remove(session.id());
    ended.put(session.id(), why);
  }

  /** Why a recently ended session ended, or null when unknown. */
  public String whyEnded(String sessionId) {
    return ended.get(sessionId);
  }

  /**
   * Sessions not seen for their TTL at {@code nowNanos}, still registered (the caller ends them).
   * Sessions seen since their entry was queued are re-queued at their new deadline.
   */
  public List<Session> overdue(long nowNanos) {
    List<Session> due = new ArrayList<>();
    while (!deadlines.isEmpty() && deadlines.peek().atNanos() <= nowNanos) {
      Session session = sessions.get(deadlines.poll().sessionId());
      if (session == null) {
        continue;
      }
      if (isOverdue(session, nowNanos)) {
        due.add(session);
      } else {
        deadlines.add(new Deadline(session.dueNanos(), session.id()));
      }
    }
    return due;
  }

  /**
   * True when the session has not been seen for the whole TTL it was last told (time the broker
   * stood still not counted; see {@link #excuse}).
   */
  public static boolean isOverdue(Session session, long nowNanos) {
    return nowNanos - session.dueNanos() >= 0;
  }

  public int size() {
    return sessions.size();
  }

  /** A read-only view of the live sessions. */
  public Collection<Session> all() {
    return Collections.unmodifiableCollection(sessions.values());
  }
}
