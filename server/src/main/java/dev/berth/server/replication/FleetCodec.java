package dev.berth.server.replication;

import dev.berth.proto.cluster.v1.FleetState;
import dev.berth.proto.cluster.v1.HoldBack;
import dev.berth.proto.cluster.v1.HostPenalty;
import dev.berth.proto.cluster.v1.HostState;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LeaseEnded;
import dev.berth.proto.cluster.v1.LeaseGranted;
import dev.berth.proto.cluster.v1.PoolSlots;
import dev.berth.proto.cluster.v1.SessionEnded;
import dev.berth.proto.cluster.v1.SessionOpened;
import dev.berth.server.broker.Fleet;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Translates the broker's {@link Fleet} values to and from the cluster log's records ({@code
 * berth.cluster.v1}): the journal's entries, a handoff's and a snapshot's {@link FleetState}, and a
 * lone broker's state file. Stateless.
 */
final class FleetCodec {
  private FleetCodec() {}

  static JournalEntry opened(Fleet.SessionEntry session) {
    return JournalEntry.newBuilder().setSessionOpened(session(session)).build();
  }

  static JournalEntry sessionEnded(String sessionId, String why) {
    return JournalEntry.newBuilder()
        .setSessionEnded(SessionEnded.newBuilder().setSessionId(sessionId).setReason(why))
        .build();
  }

  static JournalEntry granted(Fleet.LeaseEntry lease) {
    return JournalEntry.newBuilder().setLeaseGranted(lease(lease)).build();
  }

  static JournalEntry leaseEnded(String leaseId, LeaseEnd how, RevokeReason revokeReason) {
    return JournalEntry.newBuilder()
        .setLeaseEnded(
            LeaseEnded.newBuilder()
                .setLeaseId(leaseId)
                .setHow(how.name())
                .setRevokeReason(revokeReason == null ? "" : revokeReason.name()))
        .build();
  }

  static JournalEntry penalized(Fleet.HostPenalty penalty) {
    return JournalEntry.newBuilder().setHostPenalty(penalty(penalty)).build();
  }

  static JournalEntry holdingBack(Fleet.HoldBack holdBack) {
    return JournalEntry.newBuilder().setHoldBack(holdBack(holdBack)).build();
  }

  static HoldBack holdBack(Fleet.HoldBack h) {
    HoldBack.Builder b = HoldBack.newBuilder().setUntilUnixMs(h.untilUnixMs());
    h.slots()
        .forEach(
            (kind, slots) ->
                b.addPools(PoolSlots.newBuilder().setKind(kind(kind)).setSlots(slots)));
    return b.build();
  }

  /** The hold-back of a record; pools of kinds this version does not know are left out. */
  static Fleet.HoldBack holdBack(HoldBack h) {
    Map<ResourceKind, Integer> slots = new EnumMap<>(ResourceKind.class);
    for (PoolSlots p : h.getPoolsList()) {
      ResourceKind kind = kind(p.getKind());
      if (kind != null) {
        slots.merge(kind, p.getSlots(), Integer::sum);
      }
    }
    return new Fleet.HoldBack(slots, h.getUntilUnixMs());
  }

  static dev.berth.proto.v1.ResourceKind kind(ResourceKind kind) {
    return WireKinds.toWire(kind);
  }

  /** The broker's kind of a record's; null for one this version does not know. */
  static ResourceKind kind(dev.berth.proto.v1.ResourceKind kind) {
    return WireKinds.fromWire(kind);
  }

  static SessionOpened session(Fleet.SessionEntry s) {
    return SessionOpened.newBuilder()
        .setSessionId(s.id())
        .setWorkerId(s.workerId())
        .setPrincipal(s.principal())
        .putAllLabels(s.labels())
        .setMemoryLimitMb(s.memoryLimitMb())
        .setJob(s.job())
        .setOpenedAtUnixMs(s.openedAtUnixMs())
        .build();
  }

  static Fleet.SessionEntry session(SessionOpened s) {
    return new Fleet.SessionEntry(
        s.getSessionId(),
        s.getWorkerId(),
        s.getPrincipal(),
        s.getLabelsMap(),
        s.getMemoryLimitMb(),
        s.getJob().isEmpty() ? s.getPrincipal() : s.getJob(),
        s.getOpenedAtUnixMs());
  }

  static LeaseGranted lease(Fleet.LeaseEntry l) {
    return LeaseGranted.newBuilder()
        .setLeaseId(l.id())
        .setSessionId(l.sessionId())
        .setKind(kind(l.kind()))
        .setFencingToken(l.fencingToken())
        .setHost(l.host())
        .setModule(l.module())
        .setModuleDigest(l.moduleDigest())
        .setMemoryMb(l.memoryMb())
        .setRequestId(l.asked().requestId())
        .setUrl(l.asked().url())
        .setAskedModule(l.asked().module())
        .setItem(l.asked().item())
        .setItems(l.asked().items())
        .setGrantedAtUnixMs(l.grantedAtUnixMs())
        .setMaxHoldMs(l.maxHoldMs())
        .build();
  }

  /** The broker's lease of a record; null when its kind is unknown to this version. */
  static Fleet.LeaseEntry lease(LeaseGranted l) {
    ResourceKind kind = kind(l.getKind());
    if (kind == null) {
      return null;
    }
    return new Fleet.LeaseEntry(
        l.getLeaseId(),
        l.getSessionId(),
        kind,
        l.getFencingToken(),
        l.getHost(),
        l.getModule(),
        l.getModuleDigest(),
        l.getMemoryMb(),
        new Fleet.Asked(
            l.getRequestId(), l.getUrl(), l.getAskedModule(), l.getItem(), l.getItems()),
        l.getGrantedAtUnixMs(),
        l.getMaxHoldMs());
  }

  static HostPenalty penalty(Fleet.HostPenalty p) {
    return HostPenalty.newBuilder()
        .setHost(p.host())
        .setHttpStatus(p.httpStatus())
        .setRetryAfterMs(p.retryAfterMs())
        .setAtUnixMs(p.atUnixMs())
        .build();
  }

  static Fleet.HostPenalty penalty(HostPenalty p) {
    return new Fleet.HostPenalty(
        p.getHost(), p.getHttpStatus(), p.getRetryAfterMs(), p.getAtUnixMs());
  }

  /** A penalty as the host state of a {@link FleetState} written at {@code nowUnixMs}. */
  static HostState host(Fleet.HostPenalty p, long nowUnixMs) {
    return HostState.newBuilder()
        .setHost(p.host())
        .setThrottleStatus(p.httpStatus())
        .setPausedForMs(Math.max(0, p.atUnixMs() + p.retryAfterMs() - nowUnixMs))
        .setPenalizedAtUnixMs(p.atUnixMs())
        .setRetryAfterMs(p.retryAfterMs())
        .build();
  }

  /**
   * The penalty of a host state of a {@link FleetState} written at {@code writtenUnixMs}: as
   * reported, when the state says when that was; otherwise (a state of an earlier version) as if
   * reported when the state was written.
   */
  static Fleet.HostPenalty penalty(HostState h, long writtenUnixMs) {
    if (h.getPenalizedAtUnixMs() > 0) {
      return new Fleet.HostPenalty(
          h.getHost(), h.getThrottleStatus(), h.getRetryAfterMs(), h.getPenalizedAtUnixMs());
    }
    return new Fleet.HostPenalty(
        h.getHost(), h.getThrottleStatus(), h.getPausedForMs(), writtenUnixMs);
  }

  /** {@code fleet} as a record, its host penalties as of {@code nowUnixMs}. */
  static FleetState state(Fleet fleet, byte[] policy, long nowUnixMs) {
    FleetState.Builder b = FleetState.newBuilder();
    fleet.sessions().forEach(s -> b.addSessions(session(s)));
    fleet.leases().forEach(l -> b.addLeases(lease(l)));
    fleet.hosts().forEach(h -> b.addHosts(host(h, nowUnixMs)));
    if (policy != null) {
      b.setPolicy(com.google.protobuf.ByteString.copyFrom(policy));
    }
    return b.build();
  }

  /** The fleet of a record written at {@code writtenUnixMs}. */
  static Fleet fleet(FleetState state, long writtenUnixMs) {
    List<Fleet.SessionEntry> sessions = new ArrayList<>();
    state.getSessionsList().forEach(s -> sessions.add(session(s)));
    List<Fleet.LeaseEntry> leases = new ArrayList<>();
    for (LeaseGranted l : state.getLeasesList()) {
      Fleet.LeaseEntry e = lease(l);
      if (e != null) {
        leases.add(e);
      }
    }
    List<Fleet.HostPenalty> hosts = new ArrayList<>();
    state.getHostsList().forEach(h -> hosts.add(penalty(h, writtenUnixMs)));
    return new Fleet(sessions, leases, hosts);
  }
}
