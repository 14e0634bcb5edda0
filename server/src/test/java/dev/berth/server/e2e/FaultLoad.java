package dev.berth.server.e2e;

import dev.berth.proto.v1.AcquireResponse;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Workers that keep acquiring, holding briefly and releasing RENDER leases on whichever member
 * serves, over the raw stubs ({@link LiveSession}); when a call fails they find the serving leader
 * again and open a new session there. Counts grants, refusals and errors by status code, so a test
 * can assert liveness; safety is the timeline checker's business.
 *
 * <p>Thread-safe.
 */
final class FaultLoad implements AutoCloseable {
  private static final String[] HOSTS = {"a.example", "b.example", "c.example"};

  private final FaultCluster cluster;
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stopped;
  final AtomicLong grants = new AtomicLong();
  final AtomicLong refusals = new AtomicLong();
  final Map<Status.Code, AtomicLong> errors = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> grantsByNode = new ConcurrentHashMap<>();

  FaultLoad(FaultCluster cluster, int workers) {
    this.cluster = cluster;
    for (int i = 0; i < workers; i++) {
      String worker = "worker-" + i;
      Thread t = new Thread(() -> run(worker), "fault-load-" + i);
      t.setDaemon(true);
      threads.add(t);
    }
    threads.forEach(Thread::start);
  }

  /** Grants made by {@code node} so far. */
  long grantsOn(FaultCluster.Node node) {
    AtomicLong n = grantsByNode.get(node.id);
    return n == null ? 0 : n.get();
  }

  private void run(String worker) {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    while (!stopped) {
      Optional<FaultCluster.Node> leader = cluster.servingLeader();
      if (leader.isEmpty()) {
        pause(100);
        continue;
      }
      FaultCluster.Node node = leader.get();
      try (LiveSession session = new LiveSession(node.channel, worker)) {
        while (!stopped) {
          String host = HOSTS[random.nextInt(HOSTS.length)];
          AcquireResponse r = session.acquireRender("https://" + host + "/p", 500);
          if (r.hasGranted()) {
            grants.incrementAndGet();
            grantsByNode.computeIfAbsent(node.id, k -> new AtomicLong()).incrementAndGet();
            pause(20 + random.nextInt(80));
            session.release(r.getGranted().getLeaseId());
          } else {
            refusals.incrementAndGet();
            pause(50);
          }
        }
      } catch (Exception e) {
        errors
            .computeIfAbsent(Status.fromThrowable(e).getCode(), c -> new AtomicLong())
            .incrementAndGet();
        pause(100);
      }
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "grants "
        + grants
        + " "
        + grantsByNode
        + ", refusals "
        + refusals
        + ", errors "
        + errors;
  }

  @Override
  public void close() {
    stopped = true;
    for (Thread t : threads) {
      try {
        t.join(15_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
