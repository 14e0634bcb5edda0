package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Whatever the order of adds, lease ends, clock steps and commits: every entry is sent exactly once
 * and in the order added, except a grant whose lease ended while it was still unsent, which is
 * folded away with that end; a replica that applies the batches ends with exactly the leases the
 * leader holds; at most the in-flight bound of batches waits for commit, each pool's uncommitted
 * count is its grants added minus those committed and those folded, a batch short of {@code
 * batchRecords} goes only while no other is in flight and a flush interval after the last send at
 * the soonest (group commit with a pace) unless a drain waits, an entry waiting with nothing in
 * flight always has a flush scheduled, and every drain completes once everything is committed.
 */
class BatcherPropertyTest {
  private static final ResourceKind[] POOLS = {
    ResourceKind.RESOURCE_KIND_RENDER,
    ResourceKind.RESOURCE_KIND_PDF,
    ResourceKind.RESOURCE_KIND_WASM
  };
  private static final int MAX_IN_FLIGHT = 3;

  /**
   * One step: add a grant of pool 0-2, add another change (3), let time pass (4), commit (5), end
   * the newest (6) or the oldest (7) lease held, drain (8).
   */
  @Property(tries = 300, edgeCases = EdgeCasesMode.NONE)
  void anySequence_keepsOrderBoundsAndCounts(@ForAll("steps") List<Integer> steps) {
    FakeTimeSource time = new FakeTimeSource();
    List<JournalBatch> sent = new ArrayList<>();
    List<CompletableFuture<Void>> pending = new ArrayList<>();
    int[] committed = {0};
    long[] lastSent = {Long.MIN_VALUE};
    List<CompletableFuture<Void>> drains = new ArrayList<>();
    Batcher b =
        new Batcher(
            time,
            batch -> {
              // a drain sends at once, beside the batches in flight and without the pace
              if (batch.getEntriesCount() < 4 && drains.stream().allMatch(d -> d.isDone())) {
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
    int[] folded = new int[POOLS.length];
    List<String> held = new ArrayList<>();
    Map<String, Integer> poolOf = new HashMap<>();
    int committedBatches = 0;
    int next = 0;
    for (int step : steps) {
      if (step == 8) {
        drains.add(b.drain());
      } else if (step < 3) {
        String id = "g" + next++;
        added.add(id);
        granted[step]++;
        held.add(id);
        poolOf.put(id, step);
        b.add(BatcherTest.granted(id, POOLS[step]));
      } else if (step == 3) {
        String id = "s" + next++;
        added.add(id);
        b.add(BatcherTest.opened(id));
      } else if (step >= 6) {
        if (held.isEmpty()) {
          continue;
        }
        String lease = held.remove(step == 6 ? held.size() - 1 : 0);
        if (sentIds(sent).contains(lease)) {
          added.add("end " + lease);
        } else {
          added.remove(lease); // folded: neither it nor its end reaches the log
          folded[poolOf.get(lease)]++;
        }
        b.add(BatcherTest.ended(lease));
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
      // a drain may send up to twice the bound at once
      assertThat(pending.size() - committedBatches)
          .isLessThanOrEqualTo(drains.isEmpty() ? MAX_IN_FLIGHT : 2 * MAX_IN_FLIGHT);
      int[] committedGrants = new int[POOLS.length];
      for (int i = 0; i < committedBatches; i++) {
        for (JournalEntry e : sent.get(i).getEntriesList()) {
          if (e.hasLeaseGranted()) {
            committedGrants[e.getLeaseGranted().getKindValue() - 1]++;
          }
        }
      }
      for (int p = 0; p < POOLS.length; p++) {
        assertThat(b.uncommitted(POOLS[p])).isEqualTo(granted[p] - committedGrants[p] - folded[p]);
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
    assertThat(sentIds(sent)).isEqualTo(added);
    assertThat(drains).as("every drain completes once all is committed").allMatch(d -> d.isDone());
    Set<String> replica = new HashSet<>();
    for (JournalBatch batch : sent) {
      for (JournalEntry e : batch.getEntriesList()) {
        if (e.hasLeaseGranted()) {
          replica.add(e.getLeaseGranted().getLeaseId());
        } else if (e.hasLeaseEnded()) {
          assertThat(replica.remove(e.getLeaseEnded().getLeaseId()))
              .as("an end follows its grant")
              .isTrue();
        }
      }
    }
    assertThat(replica).containsExactlyInAnyOrderElementsOf(held);
    for (ResourceKind pool : POOLS) {
      assertThat(b.uncommitted(pool)).isZero();
    }
  }

  /** Every entry sent, in order: a grant or session by its id, an end as "end " and its lease. */
  private static List<String> sentIds(List<JournalBatch> sent) {
    List<String> ids = new ArrayList<>();
    for (JournalBatch batch : sent) {
      for (JournalEntry e : batch.getEntriesList()) {
        ids.add(
            e.hasLeaseGranted()
                ? e.getLeaseGranted().getLeaseId()
                : e.hasLeaseEnded()
                    ? "end " + e.getLeaseEnded().getLeaseId()
                    : e.getSessionOpened().getSessionId());
      }
    }
    return ids;
  }

  @Provide
  Arbitrary<List<Integer>> steps() {
    return Arbitraries.integers().between(0, 8).list().ofMaxSize(120);
  }
}
