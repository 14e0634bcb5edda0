package dev.berth.server.broker;

import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Journal} that records what the broker journals, as short lines ({@code opened s-1},
 * {@code granted l-2 RENDER}, {@code ended l-2 RELEASED}, {@code closed s-1 SESSION_CLOSED}, {@code
 * penalty example.com 429}), and holds grants back while {@link #hold} is set ({@link #handingOff}
 * too, for a planned handoff).
 */
final class RecordingJournal implements Journal {
  final List<String> lines = new ArrayList<>();
  final List<Fleet.LeaseEntry> grants = new ArrayList<>();
  volatile String hold;
  volatile boolean handingOff;

  /** The fencing tokens left that each {@link #holdsBack} was told of, in order. */
  final List<Long> tokensLeft = new ArrayList<>();

  @Override
  public boolean handingOff() {
    return handingOff;
  }

  @Override
  public synchronized String holdsBack(
      ResourceKind kind, int alsoGranting, long tokensLeft, long nowNanos) {
    this.tokensLeft.add(tokensLeft);
    return hold;
  }

  @Override
  public synchronized void sessionOpened(Fleet.SessionEntry session) {
    lines.add("opened " + session.id());
  }

  @Override
  public synchronized void sessionEnded(String sessionId, String why) {
    lines.add("closed " + sessionId + " " + why);
  }

  @Override
  public synchronized void leaseGranted(Fleet.LeaseEntry lease) {
    grants.add(lease);
    lines.add("granted " + lease.id() + " " + lease.kind());
  }

  @Override
  public synchronized void leaseEnded(String leaseId, LeaseEnd how, RevokeReason revokeReason) {
    lines.add("ended " + leaseId + " " + how);
  }

  /** What {@link #holdingBack} was told, in order (not in {@link #lines}). */
  final List<Fleet.HoldBack> holdBacks = new ArrayList<>();

  @Override
  public synchronized void holdingBack(Fleet.HoldBack holdBack) {
    holdBacks.add(holdBack);
  }

  @Override
  public synchronized void hostPenalty(Fleet.HostPenalty penalty) {
    lines.add("penalty " + penalty.host() + " " + penalty.httpStatus());
  }
}
