package dev.berth.bench.suite;

import dev.berth.proto.v1.AcquireResponse;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
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

  private final List<ServerProcess> members;

  private BenchCluster(List<ServerProcess> members) {
    this.members = members;
  }

  /** Starts the three members at once, with {@code flags} (their {@code --listen} replaced). */
  static BenchCluster start(List<String> jvm, List<String> flags) throws Exception {
    int[] api = new int[IDS.length];
    List<String> peers = new ArrayList<>();
    for (int i = 0; i < IDS.length; i++) {
      api[i] = ServerProcess.freePort();
      peers.addAll(
          List.of(
              "--cluster.peers." + IDS[i] + ".raft",
              "127.0.0.1:" + ServerProcess.freePort(),
              "--cluster.peers." + IDS[i] + ".api",
              "127.0.0.1:" + api[i]));
    }
    List<CompletableFuture<ServerProcess>> starting = new ArrayList<>();
    for (int i = 0; i < IDS.length; i++) {
      List<String> args = new ArrayList<>(flags);
      args.set(args.indexOf("--listen") + 1, "127.0.0.1:" + api[i]);
      args.addAll(peers);
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
    return new BenchCluster(members);
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

  /** Every member but {@code leader}. */
  List<ServerProcess> followers(ServerProcess leader) {
    return members.stream().filter(m -> m != leader).toList();
  }

  @Override
  public void close() {
    members.forEach(ServerProcess::close);
  }
}
