package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.spi.FilterReply;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.TimeoutIOException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Ratis's log lines about a member of another {@code cluster.id}, as Ratis 3.2.2 writes them, go
 * through {@link ForeignGroupFilter} and come out as {@link ForeignGroups}'s few lines.
 */
class ForeignGroupFilterTest {
  private static final String OURS = RaftGroups.groupId("it").toString();
  private static final String THEIRS = RaftGroups.groupId("other").toString();

  private final LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
  private final Logger out = context.getLogger("dev.berth.test.foreign-groups");
  private final ListAppender<ILoggingEvent> lines = new ListAppender<>();
  private final AtomicLong nanos = new AtomicLong(1_000);
  private final ForeignGroups groups = new ForeignGroups(nanos::get, out);
  private final ForeignGroupFilter filter = new ForeignGroupFilter(groups);
  private final Logger server =
      context.getLogger("org.apache.ratis.grpc.server.GrpcServerProtocolService");
  private final Logger appender = context.getLogger("org.apache.ratis.grpc.server.GrpcLogAppender");

  @BeforeEach
  void capture() {
    lines.start();
    out.addAppender(lines);
    out.setAdditive(false);
  }

  @AfterEach
  void release() {
    out.detachAppender(lines);
  }

  /** As Ratis 3.2.2's {@code OrderedAsync.logError} writes it (a prefix, client, request, e). */
  private static final String FAILED_STAR = "{} {}: Failed* {} due to {} caused by {}";

  @Test
  void decide_theClientsRoutineRetriesAtAnElection_droppedOtherClientFailuresKept() {
    Logger client = context.getLogger("org.apache.ratis.client.impl.OrderedAsync");
    Object[] notLeader = {
      "", "client-1", "RaftClientRequest:client-1->n1", "e", "NotLeaderException"
    };
    Object[] closed = {
      "", "client-1", "RaftClientRequest:client-1->n1", "e", "AlreadyClosedException"
    };

    assertThat(filter.decide(null, client, Level.ERROR, FAILED_STAR, notLeader, null))
        .isEqualTo(FilterReply.DENY);
    Object[] otherKnown = {"", "client-1", "RaftClientRequest:client-1->n1", "e", "Something"};
    assertThat(filter.decide(null, client, Level.ERROR, FAILED_STAR, closed, null))
        .isEqualTo(FilterReply.DENY);
    assertThat(filter.decide(null, client, Level.ERROR, FAILED_STAR, otherKnown, null))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(filter.decide(null, server, Level.ERROR, FAILED_STAR, notLeader, null))
        .isEqualTo(FilterReply.NEUTRAL);
    // The long form: the exception last among the parameters, as logback hands it over.
    String longForm = "{} {}: Failed* {}";
    Object[] notReady = {
      "",
      "client-1",
      "req",
      new CompletionException(
          new org.apache.ratis.protocol.exceptions.LeaderNotReadyException(
              org.apache.ratis.protocol.RaftGroupMemberId.valueOf(
                  org.apache.ratis.protocol.RaftPeerId.valueOf("n2"),
                  org.apache.ratis.protocol.RaftGroupId.randomId())))
    };
    Object[] timedOut = {
      "", "client-1", "req", new CompletionException(new TimeoutIOException("t"))
    };
    assertThat(filter.decide(null, client, Level.ERROR, longForm, notReady, null))
        .isEqualTo(FilterReply.DENY);
    assertThat(filter.decide(null, client, Level.ERROR, longForm, timedOut, null))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(lines.list).isEmpty();
  }

  private static ClusterSettings member(String clusterId, String self) {
    return ClusterSettings.newBuilder()
        .id(clusterId)
        .self(self)
        .peer("n1", "127.0.0.1:1", "127.0.0.1:2")
        .peer("n2", "127.0.0.1:3", "127.0.0.1:4")
        .peer("n3", "127.0.0.1:5", "127.0.0.1:6")
        .build();
  }

  private FilterReply serverSaw(String receiver, String sender, String group) {
    return filter.decide(
        null,
        server,
        Level.WARN,
        receiver + ": Failed requestVote " + sender + "->" + receiver + "#7",
        null,
        new GroupMismatchException(receiver + ": " + group + " not found."));
  }

  private List<String> messages() {
    return lines.list.stream().map(e -> e.getLevel() + " " + e.getFormattedMessage()).toList();
  }

  @Test
  void memberOfTheRightCluster_namesTheSenderOnceAMinute_andRatisTraceIsDropped() {
    Runnable unregister = groups.register(member("it", "n1"), RaftGroups.groupId("it"));
    try {
      for (int i = 0; i < 50; i++) {
        assertThat(serverSaw("n1", "n3", THEIRS)).isEqualTo(FilterReply.DENY);
      }
      assertThat(messages())
          .singleElement()
          .asString()
          .startsWith("WARN cluster it: member n3 sends Raft messages for " + THEIRS)
          .contains("not this cluster's group (" + OURS + ", named after cluster.id 'it')")
          .contains("runs with a different cluster.id");

      nanos.addAndGet(ForeignGroups.QUIET.toNanos());
      serverSaw("n1", "n3", THEIRS);
      assertThat(messages()).hasSize(2);
    } finally {
      unregister.run();
    }
  }

  @Test
  void memberOfTheWrongCluster_hearingTheOthersLeader_saysItIsTheOddOne() {
    Runnable unregister = groups.register(member("other", "n3"), RaftGroups.groupId("other"));
    try {
      // As Ratis logs an append the leader n2 sent to the misconfigured n3.
      assertThat(
              filter.decide(
                  null,
                  server,
                  Level.WARN,
                  "n3: Failed APPEND_ENTRIES request n2->n3#1-t2,previous=<PROTO_DEFAULT>,"
                      + "leaderCommit=-1,initializing? false,entries: size=1",
                  null,
                  new CompletionException(
                      new GroupMismatchException("n3: " + OURS + " not found."))))
          .isEqualTo(FilterReply.DENY);
      serverSaw("n3", "n1", OURS); // a vote request: counts as one more sender, not as the leader

      assertThat(messages())
          .filteredOn(m -> m.startsWith("ERROR"))
          .singleElement()
          .asString()
          .contains("this member (n3) is most likely the misconfigured one")
          .contains("member n2 leads a cluster (" + OURS + ")")
          .contains("not this member's 'other'");
      assertThat(messages()).filteredOn(m -> m.startsWith("WARN")).hasSize(2);
    } finally {
      unregister.run();
    }
  }

  @Test
  void memberOfTheWrongCluster_hearingVotesFromAMajority_saysItIsTheOddOne() {
    Runnable unregister = groups.register(member("other", "n3"), RaftGroups.groupId("other"));
    try {
      serverSaw("n3", "n1", OURS);
      assertThat(messages()).noneMatch(m -> m.startsWith("ERROR"));
      serverSaw("n3", "n2", OURS);
      assertThat(messages())
          .filteredOn(m -> m.startsWith("ERROR"))
          .singleElement()
          .asString()
          .contains("members [n1, n2], a majority");
    } finally {
      unregister.run();
    }
  }

  @Test
  void leaderWhoseAppendsAreRefused_namesTheRefusingMember() {
    Runnable unregister = groups.register(member("it", "n2"), RaftGroups.groupId("it"));
    try {
      // The leader's appender: the trace-less form Ratis uses once gRPC wraps the exception.
      FilterReply reply =
          filter.decide(
              null,
              appender,
              Level.WARN,
              "n2@"
                  + OURS
                  + "->n3-AppendLogResponseHandler: Failed appendEntries (Repeated 24 times in the"
                  + " last 5.023s): org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException:"
                  + " UNKNOWN\n  Caused by: "
                  + GroupMismatchException.class.getName()
                  + ": n3: "
                  + OURS
                  + " not found.",
              null,
              null);
      assertThat(reply).isEqualTo(FilterReply.DENY);
      assertThat(messages())
          .singleElement()
          .asString()
          .startsWith("WARN cluster it: member n3 refuses this member's Raft messages")
          .contains("no Raft group of cluster.id 'it' (" + OURS + ")");
    } finally {
      unregister.run();
    }
  }

  @Test
  void otherRatisFailures_andDebugLines_passUntouched() {
    assertThat(
            filter.decide(
                null,
                appender,
                Level.WARN,
                "n2@" + OURS + "->n3-GrpcLogAppender: Failed appendEntries",
                null,
                new TimeoutIOException("slow")))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(
            filter.decide(
                null,
                server,
                Level.DEBUG,
                "n1: Failed requestVote n3->n1#1",
                null,
                new GroupMismatchException("n1: " + THEIRS + " not found.")))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(
            filter.decide(
                null,
                out,
                Level.WARN,
                "ours",
                null,
                new GroupMismatchException("n1: " + THEIRS + " not found.")))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(filter.decide(null, server, Level.WARN, null, null, null))
        .isEqualTo(FilterReply.NEUTRAL);
    assertThat(messages()).isEmpty();
  }

  @Test
  void install_addsTheFilterToLogbackOnce() {
    ForeignGroupFilter.install();
    ForeignGroupFilter.install();
    assertThat(context.getTurboFilterList())
        .filteredOn(f -> f instanceof ForeignGroupFilter)
        .hasSize(1);
  }
}
