package dev.berth.server.replication;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.proto.cluster.v1.FleetState;
import dev.berth.proto.cluster.v1.HandoffRecord;
import dev.berth.proto.cluster.v1.HoldBack;
import dev.berth.proto.cluster.v1.HostPenalty;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LeaseGranted;
import dev.berth.proto.cluster.v1.SessionOpened;
import dev.berth.server.broker.Fleet;
import dev.berth.server.cluster.AppliedRecord;
import dev.berth.server.cluster.ReplicaSink;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The replica every cluster member keeps of its leader's lease state: the sessions, leases, host
 * penalties and live policy the replicated log describes, applied record by record in log order
 * (journal batches change it entry by entry; a handoff replaces it whole; a policy record replaces
 * the policy). The member that leads next takes over from it ({@link #fleet}). It snapshots itself
 * as one {@link FleetState}.
 *
 * <p>Thread-safe: the cluster layer applies records on one thread; readers (a takeover, metrics)
 * take the same short lock.
 */
public final class ReplicatedFleet implements ReplicaSink {
  /** Host penalties kept, the most recent; as many as a broker keeps. */
  static final int PENALTIES_KEPT = 1024;

  private final LongSupplier wallMillis;
  private final Consumer<byte[]> onPolicy;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final Map<String, SessionOpened> sessions = new LinkedHashMap<>();

  @GuardedBy("lock")
  private final Map<String, LeaseGranted> leases = new LinkedHashMap<>();

  @GuardedBy("lock")
  private final Map<String, Set<String>> leasesBySession = new LinkedHashMap<>();

  @GuardedBy("lock")
  private final Map<String, HostPenalty> hosts = new LinkedHashMap<>();

  /** The latest leader's hold-back, journaled after its takeover or carried in a state; or null. */
  @GuardedBy("lock")
  private HoldBack holdBack;

  @GuardedBy("lock")
  private byte[] policy;

  /**
   * The last record applied was a handoff, or came after one and {@linkplain
   * AppliedRecord#keepsAHandoffLast keeps it last}.
   */
  @GuardedBy("lock")
  private boolean lastWasHandoff;

  /** The last epoch record applied came right after a handoff. */
  @GuardedBy("lock")
  private boolean epochAfterHandoff;

  @GuardedBy("lock")
  private long lastIndex;

  @GuardedBy("lock")
  private long entriesApplied;

  /**
   * @param wallMillis the wall clock, for the host penalties of handoffs and snapshots
   * @param onPolicy told every policy the log carries, on the applying thread; must not throw
   */
  public ReplicatedFleet(LongSupplier wallMillis, Consumer<byte[]> onPolicy) {
    this.wallMillis = wallMillis;
    this.onPolicy = onPolicy;
  }

  @Override
  public void apply(AppliedRecord record) {
    byte[] newPolicy = null;
    synchronized (lock) {
      lastIndex = record.index();
      switch (record.record().getRecordCase()) {
        case JOURNAL -> {
          for (JournalEntry e : record.record().getJournal().getEntriesList()) {
            applyEntry(e);
          }
          lastWasHandoff = lastWasHandoff && record.keepsAHandoffLast();
        }
        case POLICY -> {
          policy = record.record().getPolicy().getPolicy().toByteArray();
          newPolicy = policy;
          lastWasHandoff = false;
        }
        case HANDOFF -> {
          HandoffRecord handoff = record.record().getHandoff();
          replace(handoff.getState(), wallMillis.getAsLong());
          if (!handoff.getState().getPolicy().isEmpty()) {
            newPolicy = policy;
          }
          lastWasHandoff = true;
        }
        case EPOCH -> {
          epochAfterHandoff = lastWasHandoff;
          lastWasHandoff = false;
        }
        default -> {
          // Floors: no lease state in them. (A record or change of a kind this version does not
          // know never gets here: the state machine stops the member on it.)
        }
      }
    }
    if (newPolicy != null) {
      onPolicy.accept(newPolicy);
    }
  }

  @GuardedBy("lock")
  private void applyEntry(JournalEntry e) {
    entriesApplied++;
    switch (e.getChangeCase()) {
      case SESSION_OPENED ->
          sessions.put(e.getSessionOpened().getSessionId(), e.getSessionOpened());
      case SESSION_ENDED -> {
        String id = e.getSessionEnded().getSessionId();
        sessions.remove(id);
        // The leader journals each lease's end first; any left end with their session.
        Set<String> held = leasesBySession.remove(id);
        if (held != null) {
          held.forEach(leases::remove);
        }
      }
      case LEASE_GRANTED -> {
        LeaseGranted g = e.getLeaseGranted();
        leases.put(g.getLeaseId(), g);
        leasesBySession
            .computeIfAbsent(g.getSessionId(), s -> new LinkedHashSet<>())
            .add(g.getLeaseId());
      }
      case LEASE_ENDED -> {
        LeaseGranted g = leases.remove(e.getLeaseEnded().getLeaseId());
        if (g != null) {
          Set<String> held = leasesBySession.get(g.getSessionId());
          if (held != null) {
            held.remove(g.getLeaseId());
            if (held.isEmpty()) {
              leasesBySession.remove(g.getSessionId());
            }
          }
        }
      }
      case HOST_PENALTY -> putHost(e.getHostPenalty());
      case HOLD_BACK -> holdBack = e.getHoldBack();
      default -> {
        // Not reached: the state machine stops the member on a change it does not know.
      }
    }
  }

  @GuardedBy("lock")
  private void putHost(HostPenalty p) {
    hosts.remove(p.getHost()); // re-inserted last: the most recent
    hosts.put(p.getHost(), p);
    if (hosts.size() > PENALTIES_KEPT) {
      var eldest = hosts.keySet().iterator();
      eldest.next();
      eldest.remove();
    }
  }

  @GuardedBy("lock")
  private void replace(FleetState state, long writtenUnixMs) {
    sessions.clear();
    leases.clear();
    leasesBySession.clear();
    hosts.clear();
    Fleet fleet = FleetCodec.fleet(state, writtenUnixMs);
    for (SessionOpened s : state.getSessionsList()) {
      sessions.put(s.getSessionId(), s);
    }
    for (LeaseGranted g : state.getLeasesList()) {
      leases.put(g.getLeaseId(), g);
      leasesBySession
          .computeIfAbsent(g.getSessionId(), s -> new LinkedHashSet<>())
          .add(g.getLeaseId());
    }
    fleet.hosts().forEach(h -> putHost(FleetCodec.penalty(h)));
    holdBack = state.hasHoldBack() ? state.getHoldBack() : null;
    policy = state.getPolicy().isEmpty() ? null : state.getPolicy().toByteArray();
  }

  /**
   * The hold-back of the latest leader that took over from a replica (see {@link Fleet.HoldBack}),
   * or null when none was journaled or carried: a leader elected now keeps its slots free as well
   * as its own, until the time it names.
   */
  public Fleet.HoldBack holdBack() {
    synchronized (lock) {
      return holdBack == null ? null : FleetCodec.holdBack(holdBack);
    }
  }

  /** The replicated state as the broker loads it. */
  public Fleet fleet() {
    synchronized (lock) {
      List<Fleet.SessionEntry> s = new ArrayList<>();
      sessions.values().forEach(o -> s.add(FleetCodec.session(o)));
      List<Fleet.LeaseEntry> l = new ArrayList<>();
      for (LeaseGranted g : leases.values()) {
        Fleet.LeaseEntry e = FleetCodec.lease(g);
        if (e != null) {
          l.add(e);
        }
      }
      List<Fleet.HostPenalty> h = new ArrayList<>();
      hosts.values().forEach(p -> h.add(FleetCodec.penalty(p)));
      return new Fleet(s, l, h);
    }
  }

  /** The live policy the log carries (serialized), or null while it carries none. */
  public byte[] policy() {
    synchronized (lock) {
      return policy == null ? null : policy.clone();
    }
  }

  /** Whether the last epoch record applied came right after a handoff: nothing is uncertain. */
  public boolean afterHandoff() {
    synchronized (lock) {
      return epochAfterHandoff;
    }
  }

  /** Sessions and leases in the replica now. */
  public int sessionCount() {
    synchronized (lock) {
      return sessions.size();
    }
  }

  public int leaseCount() {
    synchronized (lock) {
      return leases.size();
    }
  }

  /** The log index of the last record applied (0 before any). */
  public long lastIndex() {
    synchronized (lock) {
      return lastIndex;
    }
  }

  /** Journal entries applied since this replica started. */
  public long entriesApplied() {
    synchronized (lock) {
      return entriesApplied;
    }
  }

  @Override
  public void writeSnapshot(OutputStream out) throws IOException {
    FleetState state;
    synchronized (lock) {
      long now = wallMillis.getAsLong();
      FleetState.Builder b = FleetState.newBuilder();
      b.addAllSessions(sessions.values()).addAllLeases(leases.values());
      hosts.values().forEach(p -> b.addHosts(FleetCodec.host(FleetCodec.penalty(p), now)));
      if (holdBack != null) {
        b.setHoldBack(holdBack);
      }
      if (policy != null) {
        b.setPolicy(com.google.protobuf.ByteString.copyFrom(policy));
      }
      state = b.build();
    }
    state.writeDelimitedTo(out);
  }

  @Override
  public void loadSnapshot(InputStream in) throws IOException {
    FleetState state = FleetState.parseDelimitedFrom(in);
    byte[] newPolicy;
    synchronized (lock) {
      replace(state == null ? FleetState.getDefaultInstance() : state, wallMillis.getAsLong());
      lastWasHandoff = false;
      epochAfterHandoff = false;
      newPolicy = policy;
    }
    if (newPolicy != null) {
      onPolicy.accept(newPolicy);
    }
  }
}
