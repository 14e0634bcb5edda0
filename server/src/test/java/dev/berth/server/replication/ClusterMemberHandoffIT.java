package dev.berth.server.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.cluster.ClusterSettings;
import dev.berth.server.cluster.Peer;
import dev.berth.server.cluster.RoleListener;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.time.SystemTimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.testkit.DaemonProcess;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three {@link ClusterMember}s with real Raft on loopback in this JVM, each with its own broker: a
 * leader hands off with the policy in force on its broker, not the one its replica last applied
 * from the log, and refuses a second handoff while one is under way (commit b6c569d).
 *
 * <p>The policy in force is made to differ from the last applied one without a race: after a
 * journaled change has been applied, the leader's broker adopts one more policy without journaling
 * it ({@link Broker#adoptPolicy}), which is what the leader looks like between an UpdateLimits and
 * the apply of its record.
 */
class ClusterMemberHandoffIT {
  private static final int SIZE = 3;
  private static final Duration WITHIN = Duration.ofSeconds(60);

  private final SystemTimeSource time = new SystemTimeSource();
  private final List<ClusterMember> members = new ArrayList<>();
  private final List<Broker> brokers = new ArrayList<>();
  private final List<String> fatal = new java.util.concurrent.CopyOnWriteArrayList<>();

  @TempDir Path state;

  private static Policy pdfLimit(int limit) {
    return Policy.of(BrokerConfig.newBuilder().limit(ResourceKind.PDF, limit).build());
  }

  private void start() throws Exception {
    List<Integer> ports = new ArrayList<>();
    while (ports.size() < 2 * SIZE) {
      int port = DaemonProcess.freePort();
      if (!ports.contains(port)) {
        ports.add(port);
      }
    }
    for (int i = 0; i < SIZE; i++) {
      ClusterSettings.Builder b = ClusterSettings.newBuilder().id("handoff").self("n" + i);
      for (int j = 0; j < SIZE; j++) {
        b.peer("n" + j, "127.0.0.1:" + ports.get(2 * j), "127.0.0.1:" + ports.get(2 * j + 1));
      }
      Broker broker =
          new Broker(
              pdfLimit(5),
              time,
              1,
              () -> 2,
              LeaseIds.seeded(i),
              HeapProbe.NONE,
              ModuleRegistry.empty());
      brokers.add(broker);
      members.add(
          ClusterMember.start(
              b.build(),
              state.resolve("n" + i),
              1,
              broker,
              new RoleListener() {
                @Override
                public void leaderReady(long term, long epoch) {}

                @Override
                public void following(Optional<Peer> leader) {}

                @Override
                public void fatal(String reason, Throwable cause) {}
              },
              time,
              fatal::add));
    }
  }

  @AfterEach
  void stop() {
    members.forEach(ClusterMember::close);
    brokers.forEach(Broker::close);
    time.close();
  }

  /** The member serving as leader, once one is. */
  private int awaitLeader() {
    int[] leader = {-1};
    await(
        () -> {
          for (int i = 0; i < SIZE; i++) {
            if (members.get(i).serving()) {
              leader[0] = i;
              return true;
            }
          }
          return false;
        },
        () -> "a serving leader");
    return leader[0];
  }

  private static void await(BooleanSupplier condition, Supplier<String> what) {
    long deadline = System.nanoTime() + WITHIN.toNanos();
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime() - deadline)
          .as("not within %s: %s", WITHIN, what.get())
          .isNegative();
      try {
        Thread.sleep(5); // polling real Raft; the bound above is the test's only timing
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  private int indexOf(String memberId) {
    return Integer.parseInt(memberId.substring(1));
  }

  @Test
  void handoff_carriesThePolicyInForce_notTheOneLastApplied() throws Exception {
    start();
    int first = awaitLeader();
    brokers.get(first).updatePolicy(pdfLimit(7)); // journaled, as UpdateLimits is
    await(
        () ->
            members.get(first).replica().policy() != null
                && brokers.stream().allMatch(b -> b.config().limit(ResourceKind.PDF) == 7),
        () -> "the journaled policy applied on every member");
    // In force on the leader, not yet in the log: a change whose record is not applied yet.
    brokers.get(first).adoptPolicy(pdfLimit(9));

    String to = members.get(first).transferTo("").get(WITHIN.toSeconds(), TimeUnit.SECONDS);

    int next = to.isEmpty() ? first : indexOf(to);
    assertThat(next).as("leadership moved").isNotEqualTo(first);
    await(() -> members.get(next).serving(), () -> "n" + next + " serves");
    assertThat(brokers.get(next).config().limit(ResourceKind.PDF))
        .as("the successor has the policy that was in force, not the one last applied")
        .isEqualTo(9);
    assertThat(fatal).isEmpty();
  }

  @Test
  void secondTransferWhileOneIsUnderWay_refused_theFirstGoesOn() throws Exception {
    start();
    int leader = awaitLeader();

    CompletableFuture<String> underWay = members.get(leader).transferTo("");
    CompletableFuture<String> second = members.get(leader).transferTo("");

    Throwable refused = catchThrowable(() -> second.get(WITHIN.toSeconds(), TimeUnit.SECONDS));
    assertThat(refused)
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("a leadership transfer is already under way");
    assertThat(underWay.get(WITHIN.toSeconds(), TimeUnit.SECONDS))
        .as("the first moved leadership on")
        .isNotIn("", "n" + leader);
    assertThat(fatal).isEmpty();
  }
}
