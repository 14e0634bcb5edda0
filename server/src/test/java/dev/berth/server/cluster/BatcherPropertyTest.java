package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever the order of adds, clock steps and commits: every entry is sent exactly once and in the
 * order added, at most the in-flight bound of batches waits for commit, each pool's uncommitted
 * count is its grants added minus its grants committed, a batch short of {@code batchRecords} goes
 * only while no other is in flight and a flush interval after the last send at the soonest (group
 * commit with a pace), and an entry waiting with nothing in flight always has a flush scheduled.
 */
class BatcherPropertyTest {
  private static final ResourceKind[] POOLS = {
    ResourceKind.RESOURCE_KIND_RENDER,
    ResourceKind.RESOURCE_KIND_PDF,
    ResourceKind.RESOURCE_KIND_WASM
  };
  private static final int MAX_IN_FLIGHT = 3;

  /** One step: add a grant of pool 0-2, add another change (3), let time pass (4), commit (5). */
  @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
  void anySequence_keepsOrderBoundsAndCounts(@ForAll("steps") List<Integer> steps) {
    FakeTimeSource time = new FakeTimeSource();
    List<JournalBatch> sent = new ArrayList<>();
    List<CompletableFuture<Void>> pending = new ArrayList<>();
    int[] committed = {0};
    long[] lastSent = {Long.MIN_VALUE};
    Batcher b =
        new Batcher(
            time,
            batch -> {
              if (batch.getEntriesCount() < 4) {
                assertThat(pending.size() - committed[0])
                    .as("a short batch waits for the one in flight")
                    .isZero();
                if (lastSent[0] != Long.MIN_VALUE) {
                  assertThat(time.nanoTime() - lastSent[0])
                      .as("a short batch goes a flush interval after the last send at the soonest")
                      .isGreaterThanOrEqualTo(Duration.ofMillis(2).toNanos());
                }
              }
              lastSent[0] = time.nanoTime();
              sent.add(batch);
              CompletableFuture<Void> commit = new CompletableFuture<>();
              pending.add(commit);
              return commit;
            },
            Duration.ofMillis(2),
            4,
            1 << 20,
            MAX_IN_FLIGHT,
            e -> {
              throw new AssertionError("no batch fails here", e);
            },
            n -> {});
    List<String> added = new ArrayList<>();
    int[] granted = new int[POOLS.length];
    int committedBatches = 0;
    for (int step : steps) {
      if (step < 3) {
        String id = "g" + added.size();
        added.add(id);
        granted[step]++;
        b.add(BatcherTest.granted(id, POOLS[step]));
      } else if (step == 3) {
        String id = "s" + added.size();
        added.add(id);
        b.add(BatcherTest.opened(id));
      } else if (step == 4) {
        time.advanceMillis(1);
      } else if (committedBatches < pending.size()) {
        committed[0] = ++committedBatches;
        pending.get(committedBatches - 1).complete(null);
        time.advance(Duration.ZERO);
      }
      if (b.stats().buffered() > 0 && b.stats().inFlight() == 0) {
        assertThat(time.pendingTasks()).as("a flush is scheduled").isPositive();
      }
      assertThat(pending.size() - committedBatches).isLessThanOrEqualTo(MAX_IN_FLIGHT);
      int[] committedGrants = new int[POOLS.length];
      for (int i = 0; i < committedBatches; i++) {
        for (JournalEntry e : sent.get(i).getEntriesList()) {
          if (e.hasLeaseGranted()) {
            committedGrants[e.getLeaseGranted().getKindValue() - 1]++;
          }
        }
      }
      for (int p = 0; p < POOLS.length; p++) {
        assertThat(b.uncommitted(POOLS[p])).isEqualTo(granted[p] - committedGrants[p]);
      }
    }
    // Let everything out.
    while (committedBatches < pending.size() || b.stats().buffered() > 0) {
      time.advanceMillis(2);
      while (committedBatches < pending.size()) {
        committed[0] = ++committedBatches;
        pending.get(committedBatches - 1).complete(null);
      }
      time.advance(Duration.ZERO);
    }
    List<String> ids = new ArrayList<>();
    for (JournalBatch batch : sent) {
      for (JournalEntry e : batch.getEntriesList()) {
        ids.add(
            e.hasLeaseGranted()
                ? e.getLeaseGranted().getLeaseId()
                : e.getSessionOpened().getSessionId());
      }
    }
    assertThat(ids).isEqualTo(added);
    for (ResourceKind pool : POOLS) {
      assertThat(b.uncommitted(pool)).isZero();
    }
  }

  @Provide
  Arbitrary<List<Integer>> steps() {
    return Arbitraries.integers().between(0, 5).list().ofMaxSize(120);
  }
}
