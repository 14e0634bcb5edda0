package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.cluster.v1.HoldBack;
import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LeaseEnded;
import dev.berth.proto.cluster.v1.LeaseGranted;
import dev.berth.proto.cluster.v1.PoolSlots;
import dev.berth.proto.cluster.v1.SessionOpened;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class BatcherTest {
  private static final ResourceKind RENDER = ResourceKind.RESOURCE_KIND_RENDER;
  private static final ResourceKind PDF = ResourceKind.RESOURCE_KIND_PDF;

  private final FakeTimeSource time = new FakeTimeSource();
  private final FakeLog log = new FakeLog();
  private final List<Throwable> failures = new ArrayList<>();

  /** A log that keeps each batch and its pending commit, for the test to complete. */
  static final class FakeLog implements Batcher.Appender {
    final List<JournalBatch> batches = new ArrayList<>();
    final List<CompletableFuture<Void>> commits = new ArrayList<>();
    final List<String> threads = new ArrayList<>();

    @Override
    public synchronized CompletableFuture<?> append(JournalBatch batch) {
      batches.add(batch);
      threads.add(Thread.currentThread().getName());
      CompletableFuture<Void> commit = new CompletableFuture<>();
      commits.add(commit);
      return commit;
    }

    void commit(int i) {
      commits.get(i).complete(null);
    }

    List<String> sessionIds() {
      List<String> ids = new ArrayList<>();
      for (JournalBatch b : batches) {
        for (JournalEntry e : b.getEntriesList()) {
          ids.add(
              e.hasSessionOpened()
                  ? e.getSessionOpened().getSessionId()
                  : e.hasLeaseGranted()
                      ? e.getLeaseGranted().getLeaseId()
                      : e.hasLeaseEnded() ? "end " + e.getLeaseEnded().getLeaseId() : "?");
        }
      }
      return ids;
    }
  }

  private Batcher batcher(int batchRecords, int maxInFlight) {
    return new Batcher(
        time,
        log,
        Duration.ofMillis(2),
        batchRecords,
        1 << 20,
        maxInFlight,
        failures::add,
        n -> {});
  }

  static JournalEntry opened(String id) {
    return JournalEntry.newBuilder()
        .setSessionOpened(SessionOpened.newBuilder().setSessionId(id))
        .build();
  }

  static JournalEntry ended(String lease) {
    return JournalEntry.newBuilder()
        .setLeaseEnded(LeaseEnded.newBuilder().setLeaseId(lease).setHow("RELEASED"))
        .build();
  }

  static JournalEntry granted(String lease, ResourceKind kind) {
    return JournalEntry.newBuilder()
        .setLeaseGranted(LeaseGranted.newBuilder().setLeaseId(lease).setKind(kind))
        .build();
  }

  @Test
  void add_sendsNothingOnTheCallersThread_untilTheFlushInterval() {
    Batcher b = batcher(256, 8);
    b.add(opened("s1"));
    b.add(opened("s2"));
    assertThat(log.batches).isEmpty();

    time.advance(Duration.ofNanos(1_999_999));
    assertThat(log.batches).isEmpty();

    time.advanceMillis(1);
    assertThat(log.batches).hasSize(1);
    assertThat(log.sessionIds()).containsExactly("s1", "s2");
    assertThat(b.stats().buffered()).isZero();
    assertThat(b.stats().inFlight()).isEqualTo(1);
  }

  @Test
  void add_atBatchRecords_flushesWithoutWaitingForTheInterval() {
    Batcher b = batcher(3, 8);
    b.add(opened("a"));
    b.add(opened("b"));
    b.add(opened("c"));
    assertThat(log.batches).as("still on the caller's thread").isEmpty();

    time.advance(Duration.ZERO);
    assertThat(log.batches).hasSize(1);
    assertThat(log.batches.get(0).getEntriesCount()).isEqualTo(3);
  }

  @Test
  void flush_keepsBatchesAtMostBatchRecords_inTheOrderAdded() {
    Batcher b = batcher(2, 8);
    for (int i = 0; i < 5; i++) {
      b.add(opened("s" + i));
    }
    time.advanceMillis(2);
    assertThat(log.batches).as("full ones at once").hasSize(2);
    log.commit(0);
    log.commit(1);
    time.advance(Duration.ZERO);
    assertThat(log.batches).extracting(JournalBatch::getEntriesCount).containsExactly(2, 2, 1);
    assertThat(log.sessionIds()).containsExactly("s0", "s1", "s2", "s3", "s4");
  }

  @Test
  void send_tellsTheObserverEachBatchsSize_inTheOrderSent() {
    List<Integer> sizes = new ArrayList<>();
    Batcher b =
        new Batcher(time, log, Duration.ofMillis(2), 2, 1 << 20, 8, failures::add, sizes::add);
    for (int i = 0; i < 5; i++) {
      b.add(opened("s" + i));
    }
    time.advanceMillis(2);
    log.commit(0);
    log.commit(1);
    time.advance(Duration.ZERO);

    assertThat(sizes).containsExactly(2, 2, 1);
  }

  @Test
  void add_whileABatchIsInFlight_waitsForItsCommit_thenGoesAsOneBatch() {
    Batcher b = batcher(256, 8);
    b.add(opened("a"));
    time.advanceMillis(2);
    assertThat(log.batches).hasSize(1);

    for (int i = 0; i < 5; i++) {
      b.add(opened("b" + i));
    }
    time.advanceMillis(50);
    assertThat(log.batches).as("past the interval, but one batch is in flight").hasSize(1);

    log.commit(0);
    assertThat(log.batches).as("still on the committing thread").hasSize(1);
    time.advance(Duration.ZERO);
    assertThat(log.batches).extracting(JournalBatch::getEntriesCount).containsExactly(1, 5);
    assertThat(log.sessionIds()).containsExactly("a", "b0", "b1", "b2", "b3", "b4");
  }

  @Test
  void commitSoonerThanTheFlushInterval_nextBatchWaitsForTheIntervalSinceTheLastSend() {
    Batcher b = batcher(256, 8);
    b.add(opened("a"));
    time.advanceMillis(2); // t = 2 ms: "a" goes
    for (int i = 0; i < 3; i++) {
      b.add(opened("b" + i));
    }
    time.advance(Duration.ofNanos(500_000));
    log.commit(0); // committed 0.5 ms after it was sent
    time.advance(Duration.ZERO);
    assertThat(log.batches).as("the pace: one batch per flush interval").hasSize(1);

    b.add(opened("b3"));
    time.advance(Duration.ofNanos(1_499_999));
    assertThat(log.batches).hasSize(1);
    time.advance(Duration.ofNanos(1));
    assertThat(log.batches)
        .as("2 ms after the last send, what arrived meanwhile goes as one batch")
        .extracting(JournalBatch::getEntriesCount)
        .containsExactly(1, 4);
  }

  @Test
  void add_aFullBatchWhileOneIsInFlight_goesAtOnce_theRestWaitsForACommit() {
    Batcher b = batcher(3, 8);
    b.add(opened("a"));
    time.advanceMillis(2);
    for (int i = 0; i < 4; i++) {
      b.add(opened("b" + i));
    }
    time.advance(Duration.ZERO);
    assertThat(log.batches).extracting(JournalBatch::getEntriesCount).containsExactly(1, 3);

    log.commit(0);
    time.advanceMillis(2); // the pace
    assertThat(log.batches).as("another batch is still in flight").hasSize(2);
    log.commit(1);
    time.advanceMillis(2);
    assertThat(log.batches).extracting(JournalBatch::getEntriesCount).containsExactly(1, 3, 1);
  }

  @Test
  void urge_sendsWhatWaitsBesideTheBatchInFlight_offTheCallersThread() {
    Batcher b = batcher(256, 8);
    b.add(granted("l1", RENDER));
    time.advanceMillis(2);
    b.add(granted("l2", RENDER));
    b.add(granted("l3", RENDER));

    b.urge();
    assertThat(log.batches).as("still on the caller's thread").hasSize(1);
    time.advance(Duration.ZERO);
    assertThat(log.batches).extracting(JournalBatch::getEntriesCount).containsExactly(1, 2);
    assertThat(b.uncommitted(RENDER)).isEqualTo(3);
    log.commit(1);
    assertThat(b.uncommitted(RENDER)).isOne();

    b.urge();
    time.advance(Duration.ZERO);
    assertThat(log.batches).as("nothing waits: an urge sends nothing").hasSize(2);
  }

  @Test
  void uncommitted_countsAPoolsGrantsUntilTheirBatchCommits() {
    Batcher b = batcher(256, 8);
    b.add(granted("l1", RENDER));
    assertThat(b.uncommitted(RENDER)).isOne();
    b.add(granted("l2", RENDER));
    assertThat(b.uncommitted(RENDER)).isEqualTo(2);
    assertThat(b.uncommitted(PDF)).as("another pool has its own tail").isZero();

    time.advanceMillis(2);
    assertThat(b.uncommitted(RENDER)).as("sent is not committed").isEqualTo(2);

    log.commit(0);
    assertThat(b.uncommitted(RENDER)).isZero();
    assertThat(b.stats().entriesCommitted()).isEqualTo(2);
  }

  @Test
  void holdUncommitted_fromItsAddUntilTheBatchCarryingItCommits_notUntilALaterOne() {
    Batcher b = batcher(256, 8);
    assertThat(b.holdUncommitted()).isFalse();
    b.add(holdBack());
    assertThat(b.holdUncommitted()).as("buffered").isTrue();

    time.advanceMillis(2);
    assertThat(b.holdUncommitted()).as("sent is not committed").isTrue();
    b.add(granted("l1", RENDER)); // waits for the batch in flight

    log.commit(0);
    assertThat(b.holdUncommitted()).isFalse();
    assertThat(b.uncommitted(RENDER)).as("the grant's batch is still to come").isOne();
  }

  @Test
  void holdUncommitted_addedWhileHolding_countsUntilReleasedAndCommitted() {
    Batcher b = batcher(256, 8);
    b.hold();
    b.add(holdBack());
    assertThat(b.holdUncommitted()).isTrue();

    b.release();
    time.advance(Duration.ZERO);
    assertThat(b.holdUncommitted()).isTrue();
    log.commit(0);
    assertThat(b.holdUncommitted()).isFalse();
  }

  static JournalEntry holdBack() {
    return JournalEntry.newBuilder()
        .setHoldBack(
            HoldBack.newBuilder()
                .setUntilUnixMs(90_000)
                .addPools(PoolSlots.newBuilder().setKind(RENDER).setSlots(4)))
        .build();
  }

  @Test
  void inFlightBound_holdsBackBatches_untilACommitSendsTheRest() {
    Batcher b = batcher(1, 2);
    for (int i = 0; i < 4; i++) {
      b.add(opened("s" + i));
    }
    time.advanceMillis(2);
    assertThat(log.batches).hasSize(2);
    assertThat(b.stats().buffered()).isEqualTo(2);

    log.commit(0);
    time.advanceMillis(2); // the pace
    assertThat(log.batches).hasSize(3);
    log.commit(1);
    log.commit(2);
    time.advanceMillis(2);
    assertThat(log.sessionIds()).containsExactly("s0", "s1", "s2", "s3");
  }

  @Test
  void failedBatch_failsTheJournalForGood_andTellsTheOwnerOnce() {
    Batcher b = batcher(1, 8);
    b.add(granted("l1", RENDER));
    b.add(granted("l2", RENDER));
    time.advanceMillis(2);
    RuntimeException lost = new RuntimeException("no majority");
    log.commits.get(0).completeExceptionally(lost);
    log.commits.get(1).completeExceptionally(lost);

    assertThat(failures).containsExactly(lost);
    assertThat(b.healthy()).isFalse();
    b.add(opened("after"));
    time.advanceMillis(10);
    assertThat(log.batches).as("nothing is sent after a failure").hasSize(2);
  }

  @Test
  void appenderThatThrows_failsTheJournal() {
    Batcher b =
        new Batcher(
            time,
            batch -> {
              throw new IllegalStateException("client refuses");
            },
            Duration.ofMillis(2),
            10,
            1 << 20,
            8,
            failures::add,
            n -> {});
    b.add(opened("s"));
    time.advanceMillis(2);
    assertThat(failures).hasSize(1);
    assertThat(b.healthy()).isFalse();
  }

  @Test
  void drain_sendsAtOnceOnTheSchedulerAndCompletesWhenEverythingIsCommitted() {
    Batcher b = batcher(256, 1);
    b.add(opened("a"));
    time.advanceMillis(2);
    b.add(opened("b"));
    CompletableFuture<Void> drained = b.drain();
    assertThat(log.batches).as("nothing sent on the caller's thread").hasSize(1);
    time.advance(Duration.ZERO);
    assertThat(log.batches).as("past the in-flight bound").hasSize(2);
    assertThat(drained).isNotDone();
    log.commit(0);
    assertThat(drained).isNotDone();
    log.commit(1);
    assertThat(drained).isCompleted();
  }

  @Test
  void drain_whatArrivesWhileItWaits_goesWithoutThePace() {
    Batcher b = batcher(256, 1);
    b.add(opened("a"));
    time.advanceMillis(2);
    b.add(opened("b"));
    CompletableFuture<Void> drained = b.drain();
    time.advance(Duration.ZERO);
    b.add(opened("c"));
    assertThat(log.batches).hasSize(2);

    log.commit(0);
    log.commit(1);
    time.advance(Duration.ZERO);
    assertThat(log.sessionIds())
        .as("sent at once, though the last send was less than the flush interval ago")
        .containsExactly("a", "b", "c");
    log.commit(2);
    assertThat(drained).isCompleted();
  }

  @Test
  void leaseEndedWhileItsGrantWaits_foldsBothAway_andTheGrantCountsNoLonger() {
    Batcher b = batcher(256, 8);
    b.add(opened("a"));
    b.add(granted("g", ResourceKind.RESOURCE_KIND_RENDER));
    b.add(opened("b"));
    assertThat(b.uncommitted(ResourceKind.RESOURCE_KIND_RENDER)).isEqualTo(1);

    b.add(ended("g"));

    assertThat(b.uncommitted(ResourceKind.RESOURCE_KIND_RENDER)).isZero();
    assertThat(b.stats().buffered()).isEqualTo(2);
    assertThat(b.stats().entriesFolded()).isEqualTo(2);
    time.advanceMillis(2);
    assertThat(log.sessionIds()).containsExactly("a", "b");
  }

  @Test
  void everythingBufferedFoldedAway_sendsNoBatch_andADrainCompletesAtOnce() {
    Batcher b = batcher(256, 8);
    b.add(granted("g", ResourceKind.RESOURCE_KIND_PDF));
    b.add(ended("g"));

    assertThat(b.drain()).isCompleted();
    time.advanceMillis(10);
    assertThat(log.batches).isEmpty();
    assertThat(b.stats().buffered()).isZero();
  }

  @Test
  void drainWaiting_whenWhatItWaitsForFoldsAway_completes() {
    Batcher b = batcher(256, 8);
    b.add(granted("g", ResourceKind.RESOURCE_KIND_RENDER));
    CompletableFuture<Void> drained = b.drain();
    assertThat(drained).as("its send is scheduled, not run").isNotDone();

    b.add(ended("g"));
    time.advanceMillis(10);

    assertThat(drained).isCompleted();
    assertThat(log.batches).isEmpty();
  }

  @Test
  void foldedEntries_doNotCountTowardsAFullBatch() {
    Batcher b = batcher(3, 8);
    b.add(granted("g", ResourceKind.RESOURCE_KIND_RENDER));
    b.add(opened("a"));
    b.add(ended("g"));
    b.add(opened("b"));
    time.advance(Duration.ZERO);
    assertThat(log.batches).as("two entries are not a full batch of three").isEmpty();

    b.add(opened("c"));
    time.advance(Duration.ZERO);
    assertThat(log.sessionIds()).containsExactly("a", "b", "c");
  }

  @Test
  void leaseEndedAfterItsGrantWasSent_goesToTheLog() {
    Batcher b = batcher(256, 8);
    b.add(granted("g", ResourceKind.RESOURCE_KIND_RENDER));
    time.advanceMillis(2);
    assertThat(log.batches).hasSize(1);

    b.add(ended("g"));
    log.commit(0);
    time.advanceMillis(2);

    assertThat(log.sessionIds()).containsExactly("g", "end g");
    assertThat(b.stats().entriesFolded()).isZero();
  }

  @Test
  void leaseEndedWhileHolding_isHeldAndFollows_itsBufferedGrantIsSentFirst() {
    Batcher b = batcher(256, 8);
    b.add(granted("g", ResourceKind.RESOURCE_KIND_RENDER));
    b.hold();
    b.add(ended("g"));

    CompletableFuture<Void> drained = b.drain();
    time.advance(Duration.ZERO);
    assertThat(log.sessionIds()).as("the handoff read saw the lease").containsExactly("g");
    log.commit(0);
    assertThat(drained).isCompleted();
    b.release();
    time.advance(Duration.ZERO);
    assertThat(log.sessionIds()).containsExactly("g", "end g");
  }

  @Test
  void hold_keepsLaterEntriesOutOfTheLog_drainCoversTheEarlierOnes_releaseSendsTheLaterAfter() {
    Batcher b = batcher(256, 8);
    b.add(opened("before"));
    b.hold();
    b.add(opened("after-1"));
    b.add(opened("after-2"));
    assertThat(b.stats().buffered()).isEqualTo(3);

    CompletableFuture<Void> drained = b.drain();
    time.advanceMillis(10);
    assertThat(log.sessionIds()).containsExactly("before");
    log.commit(0);
    assertThat(drained).as("held entries are not waited for").isCompleted();

    // Here a handoff commits its record; then what was held follows it.
    b.release();
    assertThat(log.batches).as("still on the caller's thread").hasSize(1);
    time.advance(Duration.ZERO);
    assertThat(log.sessionIds()).containsExactly("before", "after-1", "after-2");
    b.add(opened("direct"));
    log.commit(1);
    time.advanceMillis(2); // the pace
    assertThat(log.sessionIds()).endsWith("direct");
    b.release();
    assertThat(log.batches).as("a second release sends nothing more").hasSize(3);
  }

  @Test
  void hold_thenClose_dropsTheHeldEntries() {
    Batcher b = batcher(256, 8);
    b.hold();
    b.add(opened("held"));
    b.close();
    b.release();
    time.advanceMillis(10);
    assertThat(log.batches).isEmpty();
    assertThat(b.stats().buffered()).isZero();
  }

  @Test
  void drain_ofAnIdleJournal_isDoneAtOnce() {
    assertThat(batcher(256, 8).drain()).isCompleted();
  }

  @Test
  void close_dropsWhatIsBuffered_andFailsWaitingDrains() {
    Batcher b = batcher(256, 8);
    b.add(opened("a"));
    time.advanceMillis(2);
    CompletableFuture<Void> drained = b.drain();
    b.add(opened("dropped"));
    b.close();
    time.advanceMillis(10);
    assertThat(drained).isCompletedExceptionally();
    assertThat(log.sessionIds()).containsExactly("a");
    assertThat(b.healthy()).isFalse();
    assertThat(failures).as("closing is not a failure").isEmpty();
  }

  @Test
  void batch_staysWithinTheRecordSize() {
    Batcher b =
        new Batcher(time, log, Duration.ofMillis(2), 1000, 2048 + 1024, 8, failures::add, n -> {});
    String big = "x".repeat(700);
    for (int i = 0; i < 6; i++) {
      b.add(
          JournalEntry.newBuilder()
              .setLeaseEnded(LeaseEnded.newBuilder().setLeaseId(big + i))
              .build());
    }
    time.advanceMillis(2);
    assertThat(log.batches)
        .allSatisfy(batch -> assertThat(batch.getSerializedSize()).isLessThan(2048));
    assertThat(log.batches.stream().mapToInt(JournalBatch::getEntriesCount).sum()).isEqualTo(6);
  }

  @Test
  void closedJournal_allowsNoGrantAndDropsEntries() {
    Batcher none = Batcher.closed(time);
    none.add(opened("s"));
    assertThat(none.healthy()).isFalse();
    assertThat(none.stats().buffered()).isZero();
  }
}
