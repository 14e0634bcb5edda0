package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.berth.server.settings.Addresses;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Three in-process members on loopback; n3 joins a running cluster with another API address for n1
 * and another Raft address for n2 in its {@code cluster.peers}. It says so, naming both members and
 * both addresses, instead of joining silently and sending workers to a wrong leader address.
 */
class PeerListMismatchIT {
  @Test
  @Timeout(60)
  void memberWithAnotherPeerList_namesEachDifference() throws Exception {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger node = context.getLogger(RaftNode.class);
    ListAppender<ILoggingEvent> lines = new ListAppender<>();
    lines.start();
    node.addAppender(lines);
    try (LocalCluster c = new LocalCluster("peer-list", UnaryOperator.identity())) {
      c.start(0);
      c.start(1);
      int leader = c.awaitGranting(Duration.ofSeconds(30));
      ClusterSettings right = c.settings[2];
      Map<String, Peer> wrong = new LinkedHashMap<>(right.peers());
      Peer n1 = wrong.get("n1");
      Peer n2 = wrong.get("n2");
      wrong.put(
          "n1", new Peer("n1", n1.raft(), Addresses.parse("cluster.peers.n1.api", "127.0.0.1:9")));
      wrong.put(
          "n2", new Peer("n2", Addresses.parse("cluster.peers.n2.raft", "127.0.0.1:1"), n2.api()));
      c.settings[2] = withPeers(right, wrong);
      c.start(2);

      String leaderId = LocalCluster.id(leader);
      String leadersN1Api =
          "cluster.peers.n1.api is 127.0.0.1:9 here but " + n1.apiAddress() + " on " + leaderId;
      String leadersN2Raft =
          "cluster.peers.n2.raft is 127.0.0.1:1 here but " + n2.raftAddress() + " on " + leaderId;
      String raftConf =
          "cluster.peers.n2.raft is 127.0.0.1:1 on this member, but the cluster's Raft"
              + " configuration has "
              + n2.raftAddress();
      LocalCluster.await(
          Duration.ofSeconds(30),
          () ->
              errors(lines).stream().anyMatch(l -> l.contains(leadersN1Api))
                  && errors(lines).stream().anyMatch(l -> l.contains(raftConf)),
          () -> "n3 naming its differences; logged: " + errors(lines));
      assertThat(errors(lines))
          .anyMatch(l -> l.contains("differ from those of the leader " + leaderId))
          .anyMatch(l -> l.contains(leadersN2Raft));
    } finally {
      node.detachAppender(lines);
    }
  }

  private static List<String> errors(ListAppender<ILoggingEvent> a) {
    synchronized (a) { // ListAppender appends under its own lock
      return a.list.stream()
          .filter(e -> e.getLevel() == Level.ERROR)
          .map(ILoggingEvent::getFormattedMessage)
          .toList();
    }
  }

  private static ClusterSettings withPeers(ClusterSettings s, Map<String, Peer> peers) {
    return new ClusterSettings(
        s.id(),
        s.self(),
        peers,
        s.electionTimeoutMin(),
        s.electionTimeoutMax(),
        s.leaderLease(),
        s.maxUncommittedGrants(),
        s.uncommittedLimitDivisor(),
        s.flushInterval(),
        s.batchRecords(),
        s.requestTimeout(),
        s.appendAttempts(),
        s.snapshotEvery(),
        s.maxRecordBytes(),
        s.pauseFatalAfter(),
        s.directMemoryBytes());
  }
}
