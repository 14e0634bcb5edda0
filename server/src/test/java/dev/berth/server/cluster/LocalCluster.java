package dev.berth.server.cluster;

import dev.berth.server.time.SystemTimeSource;
import dev.berth.testkit.DaemonProcess;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.apache.ratis.conf.RaftProperties;

/**
 * Three real Raft nodes in this JVM, on loopback ports, each with its own state directory under
 * {@code target/cluster-it/}: for the integration tests of the cluster package. Nodes can be
 * stopped, restarted on their directory, or wiped.
 */
final class LocalCluster implements AutoCloseable {
  static final int SIZE = 3;

  final ClusterSettings[] settings = new ClusterSettings[SIZE];
  final RaftNode[] nodes = new RaftNode[SIZE];
  final RecordingSink[] sinks = new RecordingSink[SIZE];
  final RecordingRoles[] roles = new RecordingRoles[SIZE];

  /** Each node's single-node epoch, as its state directory would hold it. */
  final long[] floors = new long[SIZE];

  final SystemTimeSource time = new SystemTimeSource();
  private final Path root;
  private final Consumer<RaftProperties> tuning;
  private final String failOnSession;

  LocalCluster(String name, UnaryOperator<ClusterSettings.Builder> tune) throws IOException {
    this(name, tune, p -> {}, null);
  }

  LocalCluster(
      String name,
      UnaryOperator<ClusterSettings.Builder> tune,
      Consumer<RaftProperties> tuning,
      String failOnSession)
      throws IOException {
    this.root = Path.of("target", "cluster-it", name + "-" + System.nanoTime());
    this.tuning = tuning;
    this.failOnSession = failOnSession;
    // The OS may hand out a port it just freed again; the members' ports must all differ.
    java.util.Set<Integer> ports = new java.util.LinkedHashSet<>();
    while (ports.size() < 2 * SIZE) {
      ports.add(DaemonProcess.freePort());
    }
    Integer[] free = ports.toArray(new Integer[0]);
    int[] raft = new int[SIZE];
    int[] api = new int[SIZE];
    for (int i = 0; i < SIZE; i++) {
      raft[i] = free[2 * i];
      api[i] = free[2 * i + 1];
    }
    for (int i = 0; i < SIZE; i++) {
      ClusterSettings.Builder b = ClusterSettings.newBuilder().id("it-" + name).self(id(i));
      for (int j = 0; j < SIZE; j++) {
        b.peer(id(j), "127.0.0.1:" + raft[j], "127.0.0.1:" + api[j]);
      }
      settings[i] = tune.apply(b).build();
    }
  }

  static String id(int i) {
    return "n" + (i + 1);
  }

  LocalCluster startAll() throws IOException {
    for (int i = 0; i < SIZE; i++) {
      start(i);
    }
    return this;
  }

  void start(int i) throws IOException {
    sinks[i] = new RecordingSink(failOnSession);
    roles[i] = new RecordingRoles();
    nodes[i] = RaftNode.start(settings[i], dir(i), floors[i], sinks[i], roles[i], time, tuning);
  }

  void stop(int i) {
    if (nodes[i] != null) {
      nodes[i].close();
      nodes[i] = null;
    }
  }

  void wipe(int i) {
    try (Stream<Path> files = Files.walk(dir(i))) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Path dir(int i) {
    return root.resolve(id(i));
  }

  /** Waits until exactly one node may grant, and returns its index. */
  int awaitGranting(Duration within) {
    int[] found = {-1};
    await(
        within,
        () -> {
          found[0] = granting();
          return found[0] >= 0;
        },
        () -> "a node that may grant; roles: " + describe());
    return found[0];
  }

  /** The one node that may grant now, or -1. Fails when two may. */
  int granting() {
    int found = -1;
    long now = System.nanoTime();
    for (int i = 0; i < SIZE; i++) {
      if (nodes[i] != null && nodes[i].canGrant(now)) {
        if (found >= 0) {
          throw new AssertionError("two nodes may grant at once: " + id(found) + ", " + id(i));
        }
        found = i;
      }
    }
    return found;
  }

  String describe() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < SIZE; i++) {
      sb.append(id(i)).append('=');
      sb.append(nodes[i] == null ? "stopped" : nodes[i].status().role() + "/" + roles[i].events());
      sb.append(' ');
    }
    return sb.toString();
  }

  static void await(Duration within, BooleanSupplier condition, Supplier<String> what) {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        throw new AssertionError("not within " + within + ": " + what.get());
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted", e);
      }
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < SIZE; i++) {
      stop(i);
    }
    time.close();
  }
}
