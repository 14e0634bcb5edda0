package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.time.FakeTimeSource;
import dev.berth.testkit.DaemonProcess;
import java.lang.reflect.Field;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a node announces to its role listener as Raft tells it of leaders. The node is one member of
 * three whose peers do not run and whose election timeout is an hour, so Raft itself never elects
 * anyone nor reports a change; the test plays Raft's part by calling the node's state machine as
 * Ratis would, on this thread, and reads the listener's events in order. It starts a real Raft
 * server on one loopback port but opens no connection.
 */
class RaftNodeAnnouncementTest {
  /** A bound on each wait for the events thread; it never paces the test. */
  private static final long EVENT_WAIT_SECONDS = 30;

  /** A listener whose events the test takes one by one, in the order they were told. */
  private static final class Events implements RoleListener {
    final BlockingQueue<String> told = new LinkedBlockingQueue<>();

    @Override
    public void elected(long term) {
      told.add("elected");
    }

    @Override
    public void leaderReady(long term, long epoch) {
      told.add("ready");
    }

    @Override
    public void following(Optional<Peer> leader) {
      told.add("following " + leader.map(Peer::id).orElse("nobody"));
    }

    @Override
    public void fatal(String reason, Throwable cause) {
      told.add("fatal " + reason);
    }

    /**
     * The events up to and including the {@code n}th "elected", failing when the node announces
     * fewer: what was told before a later event is all there is, since one thread tells them in
     * order.
     */
    List<String> throughElected(int n) throws InterruptedException {
      List<String> events = new ArrayList<>();
      for (int elected = 0; elected < n; ) {
        String event = told.poll(EVENT_WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(event).as("the next event after %s", events).isNotNull();
        events.add(event);
        if (event.equals("elected")) {
          elected++;
        }
      }
      return events;
    }
  }

  /**
   * The node steps down to no known leader, leads again with nobody leading in between, and loses
   * it again to no known leader: the second loss is announced too, or the member would go on
   * serving as if it led (commit 686d912).
   */
  @Test
  void leadsAgainThenLosesItToNoKnownLeader_announcesTheLossAgain(@TempDir Path state)
      throws Exception {
    ClusterSettings settings =
        ClusterSettings.newBuilder()
            .id("announce")
            .self("n1")
            .peer("n1", loopback(), loopback())
            .peer("n2", loopback(), loopback())
            .peer("n3", loopback(), loopback())
            .build();
    Events events = new Events();
    try (RaftNode node =
        RaftNode.start(
            settings,
            state,
            0,
            new RecordingSink(),
            events,
            new FakeTimeSource(),
            p -> {
              TimeDuration hour = TimeDuration.valueOf(1, TimeUnit.HOURS);
              RaftServerConfigKeys.Rpc.setTimeoutMin(p, hour);
              RaftServerConfigKeys.Rpc.setTimeoutMax(p, hour.add(hour));
            })) {
      ClusterStateMachine raft = stateMachineOf(node);
      RaftPeerId self = RaftPeerId.valueOf("n1");
      RaftGroupMemberId member = RaftGroupMemberId.valueOf(self, RaftGroups.groupId("announce"));

      raft.notifyLeaderChanged(member, self);
      raft.notifyNotLeader(List.of()); // no leader known: Ratis reports none
      raft.notifyLeaderChanged(member, self);
      raft.notifyNotLeader(List.of());
      raft.notifyLeaderChanged(member, self); // marks the end: every event before it was told

      assertThat(events.throughElected(3))
          .containsExactly("elected", "following nobody", "elected", "following nobody", "elected");
    }
  }

  private static String loopback() throws java.io.IOException {
    return "127.0.0.1:" + DaemonProcess.freePort();
  }

  /** The state machine Ratis calls: the node's own, so the test speaks for Raft exactly. */
  private static ClusterStateMachine stateMachineOf(RaftNode node)
      throws ReflectiveOperationException {
    Field field = RaftNode.class.getDeclaredField("stateMachine");
    field.setAccessible(true);
    return (ClusterStateMachine) field.get(node);
  }
}
