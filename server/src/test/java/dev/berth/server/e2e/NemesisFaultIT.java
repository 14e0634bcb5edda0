package dev.berth.server.e2e;

import dev.berth.server.e2e.FaultCluster.Node;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.CleanupMode;
import org.junit.jupiter.api.io.TempDir;

/**
 * A seeded nemesis against three real daemons under load: for {@code berth.nemesis.duration}
 * (default {@code PT2M}) it picks, one at a time, a random fault (SIGKILL and restart of a random
 * member or of the leader, SIGSTOP of a member or of the leader for up to two TTLs, a member's
 * inbound Raft traffic cut off), holds it for a random time, undoes it and lets the cluster settle
 * for a moment. Then it requires a serving leader that grants within a TTL plus the failover bound,
 * and the timeline checker green over the whole run. The seed is printed; {@code
 * -Dberth.nemesis.seed=N} replays a run's choices (the timing of the processes differs).
 */
class NemesisFaultIT {
  // Kept when a test fails: the members' event logs are what explains the failure.
  @TempDir(cleanup = CleanupMode.ON_SUCCESS)
  Path dir;

  private FaultCluster cluster;
  private FaultLoad load;

  @AfterEach
  void stop() {
    if (load != null) {
      load.close();
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  @Test
  @Timeout(600)
  void randomKillsPausesAndPartitions_timelineStaysSafe_andTheClusterRecovers() throws Exception {
    long seed = Long.getLong("berth.nemesis.seed", System.nanoTime());
    Duration duration = Duration.parse(System.getProperty("berth.nemesis.duration", "PT2M"));
    System.out.printf(
        "nemesis seed %d for %s (replay with -Dberth.nemesis.seed=%d)%n", seed, duration, seed);
    Random random = new Random(seed);
    cluster = new FaultCluster(dir).start();
    cluster.awaitLeader(Duration.ofSeconds(30));
    List<Node> partitionable = cluster.proxied();
    load = new FaultLoad(cluster, 4);

    long end = System.nanoTime() + duration.toNanos();
    int faults = 0;
    while (System.nanoTime() < end) {
      Node target =
          random.nextBoolean()
              ? cluster.servingLeader().orElse(cluster.nodes.get(0))
              : cluster.nodes.get(random.nextInt(cluster.nodes.size()));
      long holdMillis = 500L + random.nextInt((int) FaultCluster.TTL.multipliedBy(2).toMillis());
      switch (random.nextInt(3)) {
        case 0 -> {
          cluster.kill(target);
          Thread.sleep(holdMillis);
          cluster.restart(target);
        }
        case 1 -> {
          cluster.pause(target);
          Thread.sleep(holdMillis);
          cluster.resume(target);
        }
        default -> {
          Node cut = partitionable.get(random.nextInt(partitionable.size()));
          cluster.cut(cut);
          Thread.sleep(holdMillis);
          cluster.heal(cut);
        }
      }
      faults++;
      Thread.sleep(1_000 + random.nextInt(3_000));
    }

    FaultCluster.Node leader = cluster.awaitLeader(Duration.ofSeconds(30));
    long before = load.grantsOn(leader);
    long deadline = System.nanoTime() + FaultCluster.TTL.plusSeconds(20).toNanos();
    while (load.grantsOn(leader) < before + 5) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            "no grants after the nemesis (seed " + seed + "): " + load + "\n" + cluster.logTails());
      }
      Thread.sleep(50);
    }
    System.out.printf(
        "nemesis seed %d: %d faults; %s; %s%n", seed, faults, load, cluster.checkTimeline());
  }
}
