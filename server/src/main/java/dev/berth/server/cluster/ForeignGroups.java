package dev.berth.server.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.apache.ratis.protocol.RaftGroupId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this JVM's cluster members say when Raft messages reach a member that has no such Raft
 * group: a member running with another {@code cluster.id} (the group is named after it, see {@link
 * RaftGroups#groupId}), or another cluster's member at an address of this one. Ratis answers such a
 * message with a {@code GroupMismatchException} and logs a stack trace for each one, several per
 * second on every member; {@link ForeignGroupFilter} drops those traces and tells this class, which
 * logs one line per remote member at most every {@link #QUIET}:
 *
 * <ul>
 *   <li>on the member that receives messages for a group it does not have: a WARN naming the sender
 *       and the foreign group;
 *   <li>on a member whose own messages are refused that way: a WARN naming the member that refused;
 *   <li>on a member that receives messages for one foreign group from a majority of the members
 *       (counting those senders only): an ERROR saying that its own {@code cluster.id} is the odd
 *       one out, since the others agree among themselves.
 * </ul>
 *
 * <p>Members register while their Raft server runs ({@link #register}); a message about a member
 * that is not registered here (another JVM's, or none) is logged the same way without the cluster's
 * name. Thread-safe.
 */
final class ForeignGroups {
  /** The least time between two lines about the same remote member (or the same conclusion). */
  static final Duration QUIET = Duration.ofMinutes(1);

  static final ForeignGroups INSTANCE =
      new ForeignGroups(System::nanoTime, LoggerFactory.getLogger(ForeignGroups.class));

  /** A member of this JVM: its cluster, its id, its group as Ratis prints it, and its majority. */
  private record Local(String clusterId, String self, String group, int majority) {}

  private final LongSupplier nanos;
  private final Logger out;
  private final Map<String, Local> locals = new ConcurrentHashMap<>();
  private final Map<String, Long> lastLogged = new ConcurrentHashMap<>();

  /** By local member and foreign group: the members seen sending messages for that group. */
  private final Map<String, Set<String>> senders = new ConcurrentHashMap<>();

  ForeignGroups(LongSupplier nanos, Logger out) {
    this.nanos = nanos;
    this.out = out;
  }

  /**
   * Registers this JVM's member of {@code settings}'s cluster.
   *
   * @return unregisters it (and forgets what was seen about it)
   */
  Runnable register(ClusterSettings settings, RaftGroupId group) {
    String self = settings.self();
    locals.put(self, new Local(settings.id(), self, group.toString(), settings.majority()));
    return () -> {
      locals.remove(self);
      lastLogged.keySet().removeIf(k -> k.startsWith(self + "|"));
      senders.keySet().removeIf(k -> k.startsWith(self + "|"));
    };
  }

  /**
   * Ratis refused a message because member {@code lacking} has no group {@code group}.
   *
   * @param lacking the member that refused, as Ratis names it ({@code cluster.self})
   * @param group the group asked for, as Ratis prints it ({@code group-9C1A…})
   * @param sender the member that sent the message, or null when Ratis did not say
   * @param append whether the message was an append, which only the group's leader sends
   */
  void refused(String lacking, String group, String sender, boolean append) {
    Local receiver = locals.get(lacking);
    if (receiver != null) {
      received(receiver, group, sender, append);
      return;
    }
    Local asking = sender == null ? null : locals.get(sender);
    if (asking != null && asking.group().equals(group)) {
      if (due(asking.self() + "|refusedBy|" + lacking)) {
        out.warn(
            "cluster {}: member {} refuses this member's Raft messages: it has no Raft group of"
                + " cluster.id '{}' ({}). It runs with a different cluster.id, or its"
                + " cluster.peers.{}.raft address belongs to another cluster's member: give every"
                + " member the same cluster.id and cluster.peers (next such line about {} in {}s at"
                + " the earliest)",
            asking.clusterId(),
            lacking,
            asking.clusterId(),
            group,
            lacking,
            lacking,
            QUIET.toSeconds());
      }
      return;
    }
    if (due("?|" + lacking + "|" + sender)) {
      out.warn(
          "member {} refused a Raft message{} for {}: it has no such Raft group, so the two run with"
              + " different cluster.id settings; give every member the same cluster.id and"
              + " cluster.peers",
          lacking,
          sender == null ? "" : " from member " + sender,
          group);
    }
  }

  private void received(Local receiver, String group, String sender, boolean append) {
    if (group.equals(receiver.group())) {
      return; // its own group: Ratis has not started it yet, or stopped it
    }
    String who = sender == null ? "another member" : "member " + sender;
    if (due(receiver.self() + "|from|" + sender)) {
      out.warn(
          "cluster {}: {} sends Raft messages for {}, which is not this cluster's group ({}, named"
              + " after cluster.id '{}'): that member runs with a different cluster.id, or another"
              + " cluster's member uses its address; give every member the same cluster.id. Its"
              + " messages are refused (next such line about it in {}s at the earliest)",
          receiver.clusterId(),
          who,
          group,
          receiver.group(),
          receiver.clusterId(),
          QUIET.toSeconds());
    }
    if (sender == null) {
      return;
    }
    if (append && due(receiver.self() + "|odd")) {
      out.error(
          "cluster {}: this member ({}) is most likely the misconfigured one: member {} leads a"
              + " cluster ({}) that a majority of the members elected, and its cluster.id is not"
              + " this member's '{}'. Start this member with the cluster.id the others use (and"
              + " move its state directory's raft/ away: it holds this wrong cluster's log)",
          receiver.clusterId(),
          receiver.self(),
          sender,
          group,
          receiver.clusterId());
    }
    Set<String> seen =
        senders.computeIfAbsent(
            receiver.self() + "|" + group, k -> Collections.synchronizedSet(new TreeSet<>()));
    seen.add(sender);
    List<String> others;
    synchronized (seen) {
      others = new ArrayList<>(seen);
    }
    if (others.size() >= receiver.majority() && due(receiver.self() + "|odd")) {
      out.error(
          "cluster {}: this member ({}) is most likely the misconfigured one: members {}, a"
              + " majority, run one cluster ({}) whose cluster.id is not this member's '{}'. Start"
              + " it with the cluster.id the others use (and move its state directory's raft/"
              + " away: it holds this wrong cluster's log)",
          receiver.clusterId(),
          receiver.self(),
          others,
          group,
          receiver.clusterId());
    }
  }

  /**
   * Whether a line under {@code key} may be logged now; if so, the next one waits {@link #QUIET}.
   */
  private boolean due(String key) {
    long now = nanos.getAsLong();
    boolean[] due = {false};
    lastLogged.compute(
        key,
        (k, last) -> {
          if (last == null || now - last >= QUIET.toNanos()) {
            due[0] = true;
            return now;
          }
          return last;
        });
    return due[0];
  }
}
