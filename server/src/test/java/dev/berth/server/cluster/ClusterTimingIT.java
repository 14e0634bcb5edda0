package dev.berth.server.cluster;

import static dev.berth.server.cluster.LocalCluster.await;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.base.Splitter;
import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.proto.cluster.v1.SessionOpened;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The cluster's timing on loopback with the default settings, printed for docs/cluster.md and
 * checked against the issue's bounds where it sets one: a new leader ready within 3s at the median
 * and 5s at most after the old one stops.
 */
class ClusterTimingIT {
  /** The space-separated fields of a /proc stat line after the command name. */
  private static final Splitter FIELDS = Splitter.on(' ');

  private static final int FAILOVERS = 5;

  @Test
  void failover_appendLatency_andIdleCpu() throws Exception {
    try (LocalCluster c = new LocalCluster("timing", UnaryOperator.identity()).startAll()) {
      int leader = c.awaitGranting(Duration.ofSeconds(20));

      // A healthy idle leader keeps its lease between heartbeats: sampled every 10ms for 3s.
      int lapses = 0;
      for (int i = 0; i < 300; i++) {
        if (!c.nodes[leader].canGrant(System.nanoTime())) {
          lapses++;
        }
        Thread.sleep(10);
      }
      System.out.printf("idle leader: lease lapsed in %d of 300 samples%n", lapses);
      assertThat(lapses).isLessThanOrEqualTo(3);

      // Idle: three nodes, nothing written, for 10s.
      Map<String, Long> threadsBefore = threadTicks();
      double idleCores = cpuCores(Duration.ofSeconds(10));
      System.out.printf("idle 3-node group in one JVM: %.2f%% of one core%n", idleCores * 100);
      System.out.println("busiest threads while idle (ticks of 10ms): " + busiest(threadsBefore));

      // Append -> applied on the leader (the append's reply) and on every node.
      List<Long> leaderMicros = new ArrayList<>();
      List<Long> allMicros = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        JournalBatch.Builder batch = JournalBatch.newBuilder();
        for (int k = 0; k < 10; k++) {
          batch.addEntries(
              JournalEntry.newBuilder()
                  .setSessionOpened(SessionOpened.newBuilder().setSessionId("t" + i + "-" + k)));
        }
        long t0 = System.nanoTime();
        long index =
            c.nodes[leader]
                .append(LogRecord.newBuilder().setJournal(batch).build())
                .get(10, TimeUnit.SECONDS);
        leaderMicros.add((System.nanoTime() - t0) / 1_000);
        long last = 0;
        for (int n = 0; n < LocalCluster.SIZE; n++) {
          int node = n;
          await(
              Duration.ofSeconds(10),
              () -> c.sinks[node].appliedAtNanos(index) != null,
              () -> "index " + index + " on " + LocalCluster.id(node));
          last = Math.max(last, c.sinks[n].appliedAtNanos(index));
        }
        allMicros.add((last - t0) / 1_000);
      }
      System.out.printf(
          "append of a 10-entry batch: committed and applied on the leader p50 %dus p99 %dus;"
              + " applied on all three p50 %dus p99 %dus%n",
          pct(leaderMicros, 50), pct(leaderMicros, 99), pct(allMicros, 50), pct(allMicros, 99));

      // Failover: stop the leader, time until another node is ready and until it may grant.
      List<Long> readyMillis = new ArrayList<>();
      List<Long> grantMillis = new ArrayList<>();
      for (int round = 0; round < FAILOVERS; round++) {
        int old = c.awaitGranting(Duration.ofSeconds(30));
        long t0 = System.nanoTime();
        c.stop(old);
        int[] next = {-1};
        await(
            Duration.ofSeconds(20),
            () -> {
              for (int i = 0; i < LocalCluster.SIZE; i++) {
                if (i != old && c.nodes[i] != null && c.roles[i].ready()) {
                  next[0] = i;
                  return true;
                }
              }
              return false;
            },
            c::describe);
        readyMillis.add((System.nanoTime() - t0) / 1_000_000);
        await(
            Duration.ofSeconds(20),
            () -> c.nodes[next[0]].canGrant(System.nanoTime()),
            c::describe);
        grantMillis.add((System.nanoTime() - t0) / 1_000_000);
        // The stopped node comes back and follows the new leader before the next round: a member
        // that has not yet heard of the current term would slow the next election down.
        c.start(old);
        await(
            Duration.ofSeconds(20),
            () ->
                c.nodes[old].status().leaderId().equals(LocalCluster.id(next[0]))
                    && c.nodes[old].status().term() == c.nodes[next[0]].status().term(),
            c::describe);
      }
      System.out.printf(
          "failover after stopping the leader (%d runs): ready %s ms (median %d), may grant %s"
              + " ms (median %d)%n",
          FAILOVERS, readyMillis, pct(readyMillis, 50), grantMillis, pct(grantMillis, 50));
      assertThat(pct(readyMillis, 50)).isLessThanOrEqualTo(3_000);
      assertThat(Collections.max(readyMillis)).isLessThanOrEqualTo(5_000);
    }
  }

  private static long pct(List<Long> values, int p) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
  }

  /** This JVM's CPU use over {@code window}, in cores, from /proc/self/stat. */
  private static double cpuCores(Duration window) throws IOException, InterruptedException {
    long before = cpuTicks();
    long t0 = System.nanoTime();
    Thread.sleep(window.toMillis());
    long ticks = cpuTicks() - before;
    double seconds = (System.nanoTime() - t0) / 1e9;
    return ticks / 100.0 / seconds; // USER_HZ is 100 on Linux
  }

  /** CPU ticks per thread name (threads of one name summed), from /proc/self/task. */
  private static Map<String, Long> threadTicks() throws IOException {
    Map<String, Long> ticks = new HashMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : tasks.toList()) {
        try {
          String stat = Files.readString(task.resolve("stat"));
          String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
          List<String> f = FIELDS.splitToList(stat.substring(stat.lastIndexOf(')') + 2));
          ticks.merge(
              task.getFileName() + ":" + name,
              Long.parseLong(f.get(11)) + Long.parseLong(f.get(12)),
              Long::sum);
        } catch (IOException e) {
          // the thread ended meanwhile
        }
      }
    }
    return ticks;
  }

  private static String busiest(Map<String, Long> before) throws IOException {
    Map<String, Long> after = threadTicks();
    Map<String, Long> byName = new TreeMap<>();
    after.forEach(
        (k, v) -> {
          long d = v - before.getOrDefault(k, 0L);
          if (d > 0) {
            String name = k.substring(k.indexOf(':') + 1).replaceAll("[0-9]+$", "#");
            byName.merge(name, d, Long::sum);
          }
        });
    return byName.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .limit(12)
        .map(e -> e.getKey() + "=" + e.getValue())
        .toList()
        .toString();
  }

  private static long cpuTicks() throws IOException {
    String stat = Files.readString(Path.of("/proc/self/stat"));
    List<String> f = FIELDS.splitToList(stat.substring(stat.lastIndexOf(')') + 2));
    return Long.parseLong(f.get(11)) + Long.parseLong(f.get(12)); // utime + stime
  }
}
