package dev.berth.server.e2e;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.Refusal;
import dev.berth.proto.v1.ResourceKind;
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
 * again and open a new session there, or, {@linkplain #resuming resuming}, resume their session
 * there declaring the lease they hold, as the SDK does. Counts grants, refusals by rule, errors by
 * status code, and resumes that lost a session or lease, so a test can assert liveness; safety is
 * the timeline checker's business.
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

  /** Refusals by rule, a {@code replication} refusal by the check that made it (its detail). */
  final Map<String, AtomicLong> refusalsByRule = new ConcurrentHashMap<>();

  /** The description of the first error of each code, to tell them apart. */
  final Map<Status.Code, String> firstErrors = new ConcurrentHashMap<>();

  /** Sessions resumed on a member after a failed call. */
  final AtomicLong resumes = new AtomicLong();

  /** Resumes that came back with a new session instead of the old one. */
  final AtomicLong sessionsLost = new AtomicLong();

  /** Leases declared on a resume that the member did not keep ({@code Opened.lost_leases}). */
  final AtomicLong leasesLost = new AtomicLong();

  /**
   * The ids of those leases. A lease whose release was applied but whose answer was lost (the
   * member stopped before it was sent) is among them: the worker still declares it, and the member
   * rightly has no such lease. {@link FaultCluster#unreleased} tells the two apart.
   */
  final java.util.Set<String> lostLeaseIds = ConcurrentHashMap.newKeySet();

  private final boolean resume;

  /** Workers that open a new session after a failed call. */
  FaultLoad(FaultCluster cluster, int workers) {
    this(cluster, workers, false);
  }

  /** Workers that resume their session, with the lease they hold, after a failed call. */
  static FaultLoad resuming(FaultCluster cluster, int workers) {
    return new FaultLoad(cluster, workers, true);
  }

  private FaultLoad(FaultCluster cluster, int workers, boolean resume) {
    this.cluster = cluster;
    this.resume = resume;
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
    String sessionId = "";
    Lease held = null; // granted and not known to be released
    while (!stopped) {
      Optional<FaultCluster.Node> leader = cluster.servingLeader();
      if (leader.isEmpty()) {
        pause(100);
        continue;
      }
      FaultCluster.Node node = leader.get();
      Hello.Builder hello = Hello.newBuilder().setWorkerId(worker);
      boolean resuming = resume && !sessionId.isEmpty();
      if (resuming) {
        hello.setResumeSessionId(sessionId);
        if (held != null) {
          hello.addHeldLeases(held.declared());
        }
      }
      try (LiveSession session = new LiveSession(node.channel, hello)) {
        Opened opened = session.opened.join();
        if (resuming) {
          resumes.incrementAndGet();
          if (!opened.getResumed()) {
            sessionsLost.incrementAndGet();
          }
          leasesLost.addAndGet(opened.getLostLeasesCount());
          lostLeaseIds.addAll(opened.getLostLeasesList());
          if (held != null && opened.getLostLeasesList().contains(held.id())) {
            held = null;
          }
        }
        sessionId = opened.getSessionId();
        if (held != null) {
          session.release(held.id()); // carried over from the member before
          held = null;
        }
        while (!stopped) {
          String host = HOSTS[random.nextInt(HOSTS.length)];
          AcquireResponse r = session.acquireRender("https://" + host + "/p", 500);
          if (r.hasGranted()) {
            grants.incrementAndGet();
            grantsByNode.computeIfAbsent(node.id, k -> new AtomicLong()).incrementAndGet();
            held = new Lease(r.getGranted());
            pause(20 + random.nextInt(80));
            session.release(held.id());
            held = null;
          } else {
            refusals.incrementAndGet();
            refusalsByRule
                .computeIfAbsent(ruleOf(r.getRefused()), k -> new AtomicLong())
                .incrementAndGet();
            pause(50);
          }
        }
      } catch (Exception e) {
        Status status = Status.fromThrowable(e);
        errors.computeIfAbsent(status.getCode(), c -> new AtomicLong()).incrementAndGet();
        firstErrors.putIfAbsent(status.getCode(), String.valueOf(status.getDescription()));
        if (!resume) {
          held = null; // abandoned with its session
        }
        pause(100);
      }
    }
  }

  /**
   * The refusal's rule; for {@code replication}, also which check held the grant back: K grants
   * awaiting their commit (load), or the member not granting at all (a leader change or handoff).
   */
  private static String ruleOf(Refusal r) {
    if (!r.getRule().equals("replication")) {
      return r.getRule();
    }
    if (r.getDetail().contains("await their commit")) {
      return "replication (K uncommitted)";
    }
    return r.getDetail().contains("handing leadership")
        ? "replication (handing off)"
        : "replication (not granting)";
  }

  /** Refusals no load of this cluster causes by itself: only a leader change or restart does. */
  long refusalsCausedByRestarts() {
    return refusalsByRule.entrySet().stream()
        .filter(
            e ->
                e.getKey().equals("replication (not granting)")
                    || e.getKey().equals("replication (handing off)")
                    || e.getKey().equals("draining")
                    || e.getKey().equals("restart_recovery"))
        .mapToLong(e -> e.getValue().get())
        .sum();
  }

  /** A lease the worker holds, with what a resume declares of it. */
  private record Lease(String id, long token, String host) {
    Lease(dev.berth.proto.v1.Lease granted) {
      this(granted.getLeaseId(), granted.getFencingToken(), granted.getHost());
    }

    HeldLease declared() {
      return HeldLease.newBuilder()
          .setLeaseId(id)
          .setFencingToken(token)
          .setKind(ResourceKind.RESOURCE_KIND_RENDER)
          .setHost(host)
          .build();
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
        + " "
        + refusalsByRule
        + ", errors "
        + errors
        + " "
        + firstErrors
        + (resume
            ? ", resumes "
                + resumes
                + " (sessions lost "
                + sessionsLost
                + ", leases lost "
                + leasesLost
                + ")"
            : "");
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
