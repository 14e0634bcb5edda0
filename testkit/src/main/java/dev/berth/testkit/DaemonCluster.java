package dev.berth.testkit;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.ClusterNode;
import dev.berth.proto.v1.ClusterRole;
import dev.berth.proto.v1.GetStatusRequest;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Three real daemons on loopback as one cluster (members {@code n1}..{@code n3}, each with its own
 * API and Raft port and state directory), for the {@code *ClusterIT} tests; and the polls those
 * tests share. Not thread-safe: one test drives it.
 */
public final class DaemonCluster implements AutoCloseable {
  private final List<Member> members;

  /**
   * One member: its id ({@code cluster.self}), its process, a plaintext channel to it, and the port
   * of its metrics listener (0 when off, as {@link #start} leaves it).
   */
  public record Member(String id, DaemonProcess daemon, ManagedChannel channel, int metricsPort) {
    /** Its API address, {@code 127.0.0.1:PORT}, as the cluster's hints name it. */
    public String api() {
      return "127.0.0.1:" + daemon.port();
    }
  }

  private DaemonCluster(List<Member> members) {
    this.members = List.copyOf(members);
  }

  /**
   * Starts three members under {@code dir} (state in {@code dir/nX}, logs in {@code dir/nX.log}),
   * each with {@code flags} as well, and returns once each answers health.
   */
  public static DaemonCluster start(Path dir, String clusterId, String... flags) throws Exception {
    return start(dir, clusterId, false, flags);
  }

  /**
   * As {@link #start}, each member with its metrics listener (and dashboard) on a free loopback
   * port, named as its {@code cluster.peers.<id>.dashboard}.
   */
  public static DaemonCluster startWithMetrics(Path dir, String clusterId, String... flags)
      throws Exception {
    return start(dir, clusterId, true, flags);
  }

  private static DaemonCluster start(Path dir, String clusterId, boolean metrics, String... flags)
      throws Exception {
    String[] ids = {"n1", "n2", "n3"};
    int[] api = new int[ids.length];
    int[] metricsPorts = new int[ids.length];
    List<String> peers = new ArrayList<>();
    for (int i = 0; i < ids.length; i++) {
      api[i] = DaemonProcess.freePort();
      if (metrics) {
        metricsPorts[i] = DaemonProcess.freePort();
        peers.addAll(
            List.of(
                "--cluster.peers." + ids[i] + ".dashboard",
                "http://127.0.0.1:" + metricsPorts[i] + "/"));
      }
      peers.addAll(
          List.of(
              "--cluster.peers." + ids[i] + ".raft", "127.0.0.1:" + DaemonProcess.freePort(),
              "--cluster.peers." + ids[i] + ".api", "127.0.0.1:" + api[i]));
    }
    List<Member> started = new ArrayList<>();
    try {
      for (int i = 0; i < ids.length; i++) {
        Path state = Files.createDirectories(dir.resolve(ids[i]));
        List<String> all = new ArrayList<>(peers);
        all.addAll(List.of("--cluster.id", clusterId, "--cluster.self", ids[i]));
        all.addAll(List.of(flags));
        DaemonProcess daemon =
            DaemonProcess.newBuilder(state, dir.resolve(ids[i] + ".log"))
                .port(api[i])
                .metricsListen(metrics ? "127.0.0.1:" + metricsPorts[i] : "off")
                .flags(all.toArray(String[]::new))
                .start();
        started.add(new Member(ids[i], daemon, daemon.channel(), metricsPorts[i]));
      }
    } catch (Exception | Error e) {
      new DaemonCluster(started).close();
      throw e;
    }
    return new DaemonCluster(started);
  }

  /** The members, n1 first. */
  public List<Member> members() {
    return members;
  }

  /** Every member's API address, in order. */
  public String[] apis() {
    return members.stream().map(Member::api).toArray(String[]::new);
  }

  /** {@code m}'s own view of the cluster ({@code GetStatus.cluster}), within 2 s. */
  public static ClusterNode status(Member m) {
    return BrokerAdminGrpc.newBlockingStub(m.channel())
        .withDeadlineAfter(2, TimeUnit.SECONDS)
        .getStatus(GetStatusRequest.getDefaultInstance())
        .getCluster();
  }

  /**
   * Polls the admin status of {@code candidates} until one is the ready leader and reports {@code
   * berth.v1.LeaseBroker} SERVING in health.
   *
   * @throws AssertionError with the candidates' log tails when none is within {@code timeout}
   */
  public static Member awaitReadyLeader(List<Member> candidates, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (Member m : candidates) {
        try {
          ClusterNode c = status(m);
          if (c.getRole() == ClusterRole.CLUSTER_ROLE_LEADER
              && c.getReady()
              && HealthGrpc.newBlockingStub(m.channel())
                      .withDeadlineAfter(2, TimeUnit.SECONDS)
                      .check(
                          HealthCheckRequest.newBuilder()
                              .setService("berth.v1.LeaseBroker")
                              .build())
                      .getStatus()
                  == ServingStatus.SERVING) {
            return m;
          }
        } catch (StatusRuntimeException notYet) {
          // starting, or just killed
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError(
        "no ready leader among "
            + candidates.stream().map(Member::id).toList()
            + ":\n"
            + candidates.stream().map(m -> m.daemon().logTail(30)).toList());
  }

  /**
   * Waits until {@code follower} names {@code leader}'s API address as the leader it knows: it has
   * heard from the leader (a follower's hint is empty until the leader's first append reaches it).
   */
  public static void awaitLeaderKnown(Member follower, Member leader, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!status(follower).getLeaderApi().equals(leader.api())) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            follower.id()
                + " did not learn the leader within "
                + timeout
                + ":\n"
                + follower.daemon().logTail(30));
      }
      Thread.sleep(50);
    }
  }

  /**
   * Waits until {@code leader}'s log has committed every lease-state change it journaled ({@code
   * GetStatus.cluster.uncommitted_entries} is 0): a test that kills the leader and then expects its
   * successor to know every lease calls this first, since grants are journaled after they are
   * answered, and a crash may lose the last few (the successor holds back slots for them instead).
   */
  public static void awaitCommitted(Member leader, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long left;
    while ((left = status(leader).getUncommittedEntries()) > 0) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            leader.id()
                + " still has "
                + left
                + " uncommitted entries after "
                + timeout
                + ":\n"
                + leader.daemon().logTail(30));
      }
      Thread.sleep(10);
    }
  }

  /** Stops every member (SIGTERM, then SIGKILL) and closes the channels. */
  @Override
  public void close() {
    for (Member m : members) {
      m.channel().shutdownNow();
      m.daemon().close();
    }
  }
}
