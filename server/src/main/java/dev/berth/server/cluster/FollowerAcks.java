package dev.berth.server.cluster;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.leader.FollowerInfo;

/**
 * What this node, while it leads, knows about its followers' acknowledgements: for each follower,
 * the send time of the latest message (entries or heartbeat) the follower answered. Ratis keeps
 * those times per follower; {@link AckTrackingRpcType} hands us each follower's record when a
 * leadership begins. Thread-safe.
 */
final class FollowerAcks {
  private record Leadership(long term, Map<RaftPeerId, FollowerInfo> followers) {}

  private volatile Leadership current = new Leadership(-1, Map.of());

  /** Ratis created a log appender for {@code follower} while leading {@code term}. */
  synchronized void add(long term, FollowerInfo follower) {
    if (term > current.term()) {
      current = new Leadership(term, new ConcurrentHashMap<>());
    }
    if (term == current.term()) {
      current.followers().put(follower.getId(), follower);
    }
  }

  /**
   * The {@link System#nanoTime()} at which each follower's latest answered message was sent, for
   * the leadership of {@code term}; empty when this node did not lead {@code term}. Each value is
   * rounded down (earlier), never up.
   */
  long[] ackSentNanos(long term) {
    Leadership l = current;
    if (l.term() != term) {
      return new long[0];
    }
    long[] sent = new long[l.followers().size()];
    int i = 0;
    long now = System.nanoTime();
    for (FollowerInfo f : l.followers().values()) {
      if (i == sent.length) {
        break; // a follower added meanwhile: the array holds those counted
      }
      long elapsed =
          f.getLastRespondedAppendEntriesSendTime().elapsedTime().toLong(TimeUnit.NANOSECONDS);
      sent[i++] = now - elapsed;
    }
    return sent;
  }
}
