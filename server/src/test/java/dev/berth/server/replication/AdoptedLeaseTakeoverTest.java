package dev.berth.server.replication;

import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.groups.Tuple.tuple;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.HelloSpec.HeldLease;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A lease a worker took in safe mode and the leader adopted (fencing token 0, an id no broker
 * issued) across a change of cluster leader: carried by the journal to the replica, taken over by
 * the next leader, kept when its worker resumes there and declares it, and ended by its release
 * with the outcome. If the adoption (or the session's opening too) never reached the replica, the
 * next leader adopts it again into a slot it does not hold back, and counts it once.
 */
class AdoptedLeaseTakeoverTest {
  private static final Duration TTL = Duration.ofSeconds(10);
  private static final Policy POLICY =
      Policy.of(BrokerConfig.newBuilder().sessionTtl(TTL).limit(RENDER, 2).build());
  private static final HeldLease LOCAL = new HeldLease("local-1", 0, RENDER, "a.example", "", 300);

  private final FakeTimeSource time = new FakeTimeSource();
  private final Broker leader =
      new Broker(POLICY, time, 1, () -> 2, LeaseIds.seeded(1), HeapProbe.NONE);
  private final Broker next =
      new Broker(POLICY, time, 2, () -> 3, LeaseIds.seeded(2), HeapProbe.NONE);
  private final ReplicaFeed feed = new ReplicaFeed(new ReplicatedFleet(() -> 0, p -> {}));

  @AfterEach
  void close() {
    leader.close();
    next.close();
  }

  @Test
  void adoptionCommitted_nextLeaderKeepsTheLease_onceAndWithTokenZero_andItsReleaseEndsIt() {
    leader.journalTo(feed);
    String session = openOnTheLeader();
    adoptOnTheLeader(session);
    feed.flush();
    assertThat(feed.replica.fleet().leases())
        .extracting(Fleet.LeaseEntry::id, Fleet.LeaseEntry::fencingToken)
        .containsExactly(tuple("local-1", 0L));

    next.takeOver(5, feed.replica.fleet(), 1);
    assertThat(next.leases())
        .extracting(Lease::id, Lease::fencingToken)
        .containsExactly(tuple("local-1", 0L));

    keptAtTheNextLeaderUntilReleased(session);
  }

  @Test
  void adoptionNeverReachedTheReplica_nextLeaderAdoptsItAgain_intoASlotItDoesNotHoldBack() {
    leader.journalTo(feed);
    String session = openOnTheLeader();
    feed.flush(); // the session's opening is committed ...
    adoptOnTheLeader(session); // ... the adoption's grant is not
    assertThat(feed.replica.fleet().sessions()).hasSize(1);

    next.takeOver(5, feed.replica.fleet(), 1);
    assertThat(next.leases()).isEmpty();

    keptAtTheNextLeaderUntilReleased(session);
  }

  /**
   * The session opened and the adoption happened in the leader's last batch, which never reached
   * the replica: the next leader takes the session back under its id and adopts the lease as a
   * resume would, instead of reporting it lost (its worker would end a lease it holds).
   */
  @Test
  void sessionAndAdoptionNeverReachedTheReplica_nextLeaderTakesBothBack() {
    leader.journalTo(feed);
    String session = openOnTheLeader();
    adoptOnTheLeader(session); // nothing flushed

    next.takeOver(5, feed.replica.fleet(), 1);
    assertThat(next.sessions("", "", 10)).isEmpty();

    keptAtTheNextLeaderUntilReleased(session);
  }

  /** Opens a session of worker w1 on the leader. */
  private String openOnTheLeader() {
    return leader
        .open(
            HelloSpec.validate("w1", Map.of(), 0, "", List.of()),
            "p",
            new RecordingSessionChannel())
        .sessionId();
  }

  /** Resumes {@code session} on the leader declaring {@link #LOCAL}, which it adopts. */
  private void adoptOnTheLeader(String session) {
    Broker.Opened adopted =
        leader.open(
            HelloSpec.validate("w1", Map.of(), 0, session, List.of(LOCAL)),
            "p",
            new RecordingSessionChannel());
    assertThat(adopted.lostLeases()).as("adopted").isEmpty();
    assertThat(leader.inUse(RENDER)).isEqualTo(1);
  }

  /**
   * Resumes {@code session} on the next leader with a complete declaration ({@link #LOCAL}): the
   * session goes on under its id and the lease is kept with token 0, counted once (RENDER 2: the
   * lease and the slot held back for the old leader's unseen grants). Then releases it with a 429:
   * it ends as released, with its outcome.
   */
  private void keptAtTheNextLeaderUntilReleased(String session) {
    Broker.Opened resumed =
        next.open(
            HelloSpec.validate("w1", Map.of(), 0, session, List.of(LOCAL), "", true, List.of()),
            "p",
            new RecordingSessionChannel());

    assertThat(resumed.resumed()).isTrue();
    assertThat(resumed.sessionId()).isEqualTo(session);
    assertThat(resumed.lostLeases()).isEmpty();
    assertThat(next.leases())
        .extracting(Lease::id, Lease::fencingToken)
        .containsExactly(tuple("local-1", 0L));
    assertThat(next.inUse(RENDER)).as("counted once").isEqualTo(1);

    Broker.EndResult end =
        next.release(session, "local-1", "p", new Outcome(false, 1_000_000_000L, 429, 0, ""));

    assertThat(end.changed()).isTrue();
    assertThat(end.end()).isEqualTo(LeaseEnd.RELEASED);
    assertThat(next.inUse(RENDER)).isZero();
    assertThat(next.fleet().hosts())
        .as("the site's 429 reached the host's limit")
        .extracting(Fleet.HostPenalty::host, Fleet.HostPenalty::httpStatus)
        .containsExactly(tuple("a.example", 429));
  }
}
