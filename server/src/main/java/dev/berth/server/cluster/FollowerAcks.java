package dev.berth.server.cluster;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.RaftPeerId;

/**
 * What this node, while it leads, knows about its followers' acknowledgements: for each follower,
 * the send time of the latest message (entries or heartbeat) that the follower answered <em>as a
 * follower of this leadership's term</em>.
 *
 * <p>Ratis keeps a similar time per follower ({@code FollowerInfo#getLastRespondedAppendEntries
 * SendTime}), but sets it on every reply, including a reply that refuses the leader because the
 * follower has moved on to a higher term, and it does so before the leader steps down. A leader
 * that wakes from a long pause sends heartbeats at once; their refusals would make the stale
 * leader's lease look fresh for the moment until Ratis demotes it, and it could grant next to a
 * successor. So {@link AckTrackingRpcType} reports each reply here with its result, and only a
 * reply that accepts the term counts. A reply that shows a higher term deposes the leadership for
 * good: from then on it has no acknowledgements at all.
 *
 * <p>Thread-safe.
 */
final class FollowerAcks {
  private static final class Leadership {
    final long term;

    /** Per follower, the latest accepted send time; 0 until it first answers (0 never counts). */
    final Map<RaftPeerId, AtomicLong> sentNanos = new ConcurrentHashMap<>();

    volatile boolean deposed;

    Leadership(long term) {
      this.term = term;
    }
  }

  private volatile Leadership current = new Leadership(-1);

  /**
   * Ratis created a log appender for {@code follower} while leading {@code term}. A follower counts
   * only once it has answered; an appender created again for the same term keeps what was known.
   */
  synchronized void add(long term, RaftPeerId follower) {
    Leadership l = current;
    if (term > l.term) {
      l = new Leadership(term);
      current = l;
    }
    if (term == l.term) {
      l.sentNanos.putIfAbsent(follower, new AtomicLong());
    }
  }

  /**
   * A reply from {@code follower} to a message this node sent at {@code sentNanos} while leading
   * {@code term}.
   *
   * @param refused the follower answered that this node is not its leader
   * @param replyTerm the follower's term in the reply
   */
  void replied(long term, RaftPeerId follower, boolean refused, long replyTerm, long sentNanos) {
    Leadership l = current;
    if (l.term != term) {
      return;
    }
    if (refused || replyTerm != term) {
      if (replyTerm > term) {
        l.deposed = true;
      }
      return;
    }
    AtomicLong latest = l.sentNanos.get(follower);
    if (latest != null) {
      // A later send wins; the difference, not the values, so that nanoTime may wrap around.
      latest.accumulateAndGet(sentNanos, (was, now) -> was == 0 || now - was > 0 ? now : was);
    }
  }

  /** A follower answered with {@code followerTerm} while this node led {@code term}. */
  void followerTerm(long term, long followerTerm) {
    Leadership l = current;
    if (l.term == term && followerTerm > term) {
      l.deposed = true;
    }
  }

  /**
   * The {@link System#nanoTime()} at which {@code follower}'s latest accepting answer was sent, for
   * the leadership of {@code term}; 0 when it has not answered in that leadership, this node did
   * not lead {@code term}, or a follower has shown it a higher term.
   */
  long ackSentNanos(long term, RaftPeerId follower) {
    Leadership l = current;
    if (l.term != term || l.deposed) {
      return 0;
    }
    AtomicLong latest = l.sentNanos.get(follower);
    return latest == null ? 0 : latest.get();
  }

  /**
   * The {@link System#nanoTime()} at which each follower's latest accepting answer was sent, for
   * the leadership of {@code term}: only followers that have answered, and none at all when this
   * node did not lead {@code term} or a follower has shown it a higher term.
   */
  long[] ackSentNanos(long term) {
    Leadership l = current;
    if (l.term != term || l.deposed) {
      return new long[0];
    }
    long[] sent = new long[l.sentNanos.size()];
    int n = 0;
    for (AtomicLong a : l.sentNanos.values()) {
      long s = a.get();
      if (s != 0 && n < sent.length) {
        sent[n++] = s;
      }
    }
    return n == sent.length ? sent : Arrays.copyOf(sent, n);
  }
}
