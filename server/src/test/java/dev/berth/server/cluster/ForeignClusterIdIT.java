package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.LoggerFactory;

/**
 * Three in-process members on loopback, n3 with another {@code cluster.id}: Ratis refuses every
 * message between n3 and the others, and the log says so in a few lines of ours instead of a stack
 * trace per message: n1 and n2 name n3, n3 says that it is the odd one out.
 */
class ForeignClusterIdIT {
  private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();

  @Test
  @Timeout(60)
  void memberWithAnotherClusterId_isNamedOnceByEachMember_withoutRatisTraces() throws Exception {
    Logger ours = context.getLogger(ForeignGroups.class);
    Logger ratis = context.getLogger("org.apache.ratis");
    ListAppender<ILoggingEvent> ourLines = new ListAppender<>();
    ListAppender<ILoggingEvent> ratisLines = new ListAppender<>();
    ourLines.start();
    ratisLines.start();
    ours.addAppender(ourLines);
    ratis.addAppender(ratisLines);
    try (LocalCluster c = new LocalCluster("foreign-id", UnaryOperator.identity())) {
      c.settings[2] = withId(c.settings[2], "other");
      c.startAll();
      LocalCluster.await(
          Duration.ofSeconds(30),
          () -> lines(ourLines).stream().anyMatch(l -> l.contains("(n3) is most likely")),
          () -> "n3 saying it is misconfigured; logged: " + lines(ourLines));
      Thread.sleep(2_000); // more refusals, which must not add lines

      List<String> logged = lines(ourLines);
      assertThat(logged)
          .filteredOn(l -> l.contains("member n3 sends Raft messages for"))
          .hasSize(2); // once by n1, once by n2
      assertThat(logged)
          .filteredOn(l -> l.startsWith("ERROR"))
          .singleElement()
          .asString()
          .contains("not this member's 'other'");
      assertThat(logged).hasSizeLessThanOrEqualTo(6);
      assertThat(ratisLines.list)
          .noneMatch(e -> mentionsMismatch(e.getThrowableProxy()))
          .noneMatch(e -> e.getFormattedMessage().contains("GroupMismatchException"));
    } finally {
      ours.detachAppender(ourLines);
      ratis.detachAppender(ratisLines);
    }
  }

  private static List<String> lines(ListAppender<ILoggingEvent> a) {
    synchronized (a) { // ListAppender appends under its own lock
      return a.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
    }
  }

  private static boolean mentionsMismatch(IThrowableProxy t) {
    for (IThrowableProxy c = t; c != null; c = c.getCause()) {
      if (c.getClassName().endsWith("GroupMismatchException")) {
        return true;
      }
    }
    return false;
  }

  private static ClusterSettings withId(ClusterSettings s, String id) {
    return new ClusterSettings(
        id,
        s.self(),
        s.peers(),
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
