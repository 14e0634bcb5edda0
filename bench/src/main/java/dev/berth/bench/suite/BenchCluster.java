package dev.berth.bench.suite;

import dev.berth.proto.v1.AcquireResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Three bench brokers ({@link BenchServerMain}) in one Raft cluster on loopback, for goals C1-C3:
 * the given daemon flags plus the cluster's, each member in its own process and directory.
 *
 * <p>Not thread-safe: one goal at a time owns it.
 */
final class BenchCluster implements AutoCloseable {
  private static final String[] IDS = {"n1", "n2", "n3"};

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final List<ServerProcess> members;

  /** Each member's Prometheus port, in the order of {@link #members}. */
  private final int[] metrics;

  private BenchCluster(List<ServerProcess> members, int[] metrics) {
    this.members = members;
    this.metrics = metrics;
  }

  /** Starts the three members at once, with {@code flags} (their {@code --listen} replaced). */
  static BenchCluster start(List<String> jvm, List<String> flags) throws Exception {
    int[] api = new int[IDS.length];
    int[] metrics = new int[IDS.length];
    List<String> peers = new ArrayList<>();
    // api, raft and metrics port of each member, all distinct
    int[] ports = ServerProcess.freePorts(3 * IDS.length);
    for (int i = 0; i < IDS.length; i++) {
      api[i] = ports[3 * i];
      metrics[i] = ports[3 * i + 2];
      peers.addAll(
          List.of(
              "--cluster.peers." + IDS[i] + ".raft",
              "127.0.0.1:" + ports[3 * i + 1],
              "--cluster.peers." + IDS[i] + ".api",
              "127.0.0.1:" + api[i]));
    }
    List<CompletableFuture<ServerProcess>> starting = new ArrayList<>();
    for (int i = 0; i < IDS.length; i++) {
      List<String> args = new ArrayList<>(flags);
      args.set(args.indexOf("--listen") + 1, "127.0.0.1:" + api[i]);
      args.addAll(peers);
      // Metrics for the journal's counters (JournalCount); no dashboard, so C3's idle follower
      // does no more than the bench's lone broker would.
      args.addAll(
          List.of("--metrics.listen", "127.0.0.1:" + metrics[i], "--dashboard.enabled", "false"));
      // A one-TTL recovery window follows every takeover; 5 s keeps the wait short.
      args.addAll(
          List.of(
              "--cluster.id", "bench",
              "--cluster.self", IDS[i],
              "--session.heartbeat_interval", "1s",
              "--session.ttl", "5s"));
      String name = "berth-" + IDS[i];
      starting.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return ServerProcess.java(name, jvm, args);
                } catch (IOException e) {
                  throw new IllegalStateException("cannot start " + name, e);
                }
              }));
    }
    List<ServerProcess> members = new ArrayList<>();
    try {
      for (CompletableFuture<ServerProcess> f : starting) {
        members.add(f.get(120, TimeUnit.SECONDS));
      }
    } catch (Exception e) {
      members.forEach(ServerProcess::close);
      throw e;
    }
    return new BenchCluster(members, metrics);
  }

  /**
   * The member that serves the worker API, once a lease cycle succeeds on it (after the new
   * leader's recovery window); at most 60 s.
   */
  ServerProcess awaitLeaderGranting() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      for (ServerProcess m : members) {
        ManagedChannel channel = Channels.open(m.port());
        try {
          ServingStatus s =
              HealthGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(1, TimeUnit.SECONDS)
                  .check(HealthCheckRequest.newBuilder().setService("berth.v1.LeaseBroker").build())
                  .getStatus();
          if (s == ServingStatus.SERVING && grants(channel)) {
            return m;
          }
        } catch (StatusRuntimeException notYet) {
          // starting or electing
        } finally {
          channel.shutdownNow();
        }
      }
      Thread.sleep(200);
    }
    throw new IllegalStateException("no member of the bench cluster granted within 60 s");
  }

  private static boolean grants(ManagedChannel channel) throws InterruptedException {
    Streams.BerthSession session = Streams.openBerth(channel, "bench-probe", false);
    AcquireResponse r =
        dev.berth.proto.v1.LeaseBrokerGrpc.newBlockingStub(channel)
            .withDeadlineAfter(2, TimeUnit.SECONDS)
            .acquire(Ops.render(session.id(), Ops.CYCLE_URL));
    session.close();
    return r.hasGranted();
  }

  /** The journal's counters on {@code member} (a leader's: a follower's are zero). */
  JournalCount journal(ServerProcess member) throws IOException, InterruptedException {
    int port = metrics[members.indexOf(member)];
    HttpResponse<String> r =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    return new JournalCount(
        gauge(r.body(), "berth_journal_batches"),
        gauge(r.body(), "berth_journal_entries"),
        gauge(r.body(), "berth_journal_entries_folded"));
  }

  /** The value of an unlabelled sample {@code name} in a Prometheus text page; 0 when absent. */
  static long gauge(String page, String name) {
    for (String line : page.lines().toList()) {
      if (line.startsWith(name + " ")) {
        return (long) Double.parseDouble(line.substring(name.length() + 1).trim());
      }
    }
    return 0;
  }

  /**
   * Journal batches a leader sent, the entries in them, and the entries it never sent (a grant and
   * its lease's end folded away while both waited).
   */
  record JournalCount(long batches, long entries, long folded) {
    /** What was sent between {@code before} and this. */
    JournalCount minus(JournalCount before) {
      return new JournalCount(
          batches - before.batches, entries - before.entries, folded - before.folded);
    }

    @Override
    public String toString() {
      return String.format(
          Locale.ROOT,
          "%d batches of %.1f entries on average, %d entries folded",
          batches,
          batches == 0 ? 0.0 : (double) entries / batches,
          folded);
    }
  }

  /** Every member but {@code leader}. */
  List<ServerProcess> followers(ServerProcess leader) {
    return members.stream().filter(m -> m != leader).toList();
  }

  @Override
  public void close() {
    members.forEach(ServerProcess::close);
  }
}
