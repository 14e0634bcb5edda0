package dev.berth.bench.fleet;

import com.google.protobuf.Duration;
import dev.berth.bench.suite.Channels;
import dev.berth.bench.suite.ServerProcess;
import dev.berth.proto.v1.Ack;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Goodbye;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Outcome;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs one fleet simulation: simulated workers in this process, each with its own session, speaking
 * real gRPC to a real daemon in its own process, fetching pages from simulated hosts (timers of
 * each host's drawn page time) under RENDER leases, and reporting what the hosts answered (HTTP 429
 * with Retry-After included) in each release's outcome, as the SDK does. Every worker draws from
 * its own random stream seeded from the run's seed, so the schedule of picks, page times and 429s
 * is the same on every run; the broker's timing is not, and is what is measured.
 *
 * <p>Not thread-safe: {@link #run} once. Workers run on gRPC's transport threads and a small timer
 * pool; they record into {@link Observations}.
 */
public final class Fleet {
  /** Channels: one per hundred workers, as workers on a few hosts would share connections. */
  private static final int WORKERS_PER_CHANNEL = 100;

  private static final int RATE_LIMITED = RefusalReason.REFUSAL_REASON_RATE_LIMITED_VALUE;
  private static final int TIMEOUT = RefusalReason.REFUSAL_REASON_TIMEOUT_VALUE;

  private final Scenario scenario;
  private final long seed;
  private final Observations obs;
  private final List<long[]> cpu = new ArrayList<>();
  private final ScheduledExecutorService timers =
      Executors.newScheduledThreadPool(
          2,
          r -> {
            Thread t = new Thread(r, "fleet-timer");
            t.setDaemon(true);
            return t;
          });
  private volatile boolean stopping;
  private volatile long t0;
  private volatile long t0WallMicros;

  public Fleet(Scenario scenario, long seed) {
    this.scenario = scenario;
    this.seed = seed;
    this.obs = new Observations(Scenario.JOBS.size(), scenario.hosts().size());
  }

  /**
   * What a run measured.
   *
   * @param observations what the workers saw
   * @param cpuSamples the broker's CPU as {@code [nanos since start, cpu micros]}, every second
   * @param t0WallMicros the wall clock at the start of the run, to set the workers' times beside
   *     the broker's {@code granted_at}
   *     <p>Immutable once the run is over.
   */
  public record Measured(Observations observations, List<long[]> cpuSamples, long t0WallMicros) {}

  /**
   * Opens every worker's session on {@code daemon}, runs the scenario for its duration, lets the
   * workers finish their pages, and ends their sessions.
   *
   * @return the observations and the broker's CPU as {@code [nanos since start, cpu micros]} pairs
   */
  public Measured run(ServerProcess daemon) throws InterruptedException {
    List<ManagedChannel> channels = new ArrayList<>();
    int n = scenario.workers();
    for (int i = 0; i < Math.max(1, (n + WORKERS_PER_CHANNEL - 1) / WORKERS_PER_CHANNEL); i++) {
      channels.add(Channels.open(daemon.port()));
    }
    List<Worker> workers = new ArrayList<>();
    CountDownLatch opened = new CountDownLatch(n);
    try {
      for (int i = 0; i < n; i++) {
        Worker w = new Worker(i, channels.get(i % channels.size()), opened);
        workers.add(w);
        w.open();
      }
      if (!opened.await(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException(
            "fleet: only " + (n - opened.getCount()) + " of " + n + " sessions opened in 60 s");
      }
      t0 = System.nanoTime();
      java.time.Instant wall = java.time.Instant.now();
      t0WallMicros = wall.getEpochSecond() * 1_000_000L + wall.getNano() / 1000;
      for (Worker w : workers) {
        // Staggered over the first second, so the fleet does not start in lock-step.
        later(w::nextPage, w.random.nextLong(1_000_000_000L));
        w.scheduleBeats();
      }
      every(() -> obs.sample(now()), 0, TimeUnit.MILLISECONDS.toNanos(100));
      every(
          () -> {
            synchronized (cpu) {
              cpu.add(new long[] {now(), daemon.cpuMicros()});
            }
          },
          0,
          TimeUnit.SECONDS.toNanos(1));
      TimeUnit.NANOSECONDS.sleep(scenario.duration());
      stopping = true;
      // Let held pages finish and queued acquires end (each waits at most acquireWait).
      long deadline = System.nanoTime() + scenario.acquireWait() + TimeUnit.SECONDS.toNanos(5);
      while (workers.stream().anyMatch(Worker::busy) && System.nanoTime() < deadline) {
        TimeUnit.MILLISECONDS.sleep(50);
      }
    } finally {
      timers.shutdownNow();
      workers.forEach(Worker::close);
      Channels.closeAll(channels);
    }
    synchronized (cpu) {
      return new Measured(obs, List.copyOf(cpu), t0WallMicros);
    }
  }

  /**
   * Runs {@code task} once after {@code delayNanos}. Its future is not kept: a task that throws is
   * recorded as a failure of the run instead, which is where the report looks.
   */
  private void later(Runnable task, long delayNanos) {
    Future<?> unused = timers.schedule(recorded(task), delayNanos, TimeUnit.NANOSECONDS);
  }

  /** Runs {@code task} every {@code periodNanos}; as {@link #later}, a failure is recorded. */
  private void every(Runnable task, long delayNanos, long periodNanos) {
    Future<?> unused =
        timers.scheduleAtFixedRate(recorded(task), delayNanos, periodNanos, TimeUnit.NANOSECONDS);
  }

  private Runnable recorded(Runnable task) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException e) {
        obs.failed(now(), "timer task: " + e);
      }
    };
  }

  private static Duration duration(long nanos) {
    return Duration.newBuilder()
        .setSeconds(nanos / 1_000_000_000L)
        .setNanos((int) (nanos % 1_000_000_000L))
        .build();
  }

  private static long nanos(Duration d) {
    return d.getSeconds() * 1_000_000_000L + d.getNanos();
  }

  private long now() {
    return System.nanoTime() - t0;
  }

  /** One simulated worker: one session, one page at a time. */
  private final class Worker implements StreamObserver<SessionEvent> {
    private final int id;
    private final int job;
    final SplittableRandom random;
    private final LeaseBrokerGrpc.LeaseBrokerStub stub;
    private final CountDownLatch opened;
    private StreamObserver<SessionRequest> requests;
    private volatile String sessionId;
    private volatile long heartbeatNanos = TimeUnit.SECONDS.toNanos(2);
    private volatile boolean busy;
    private volatile boolean closed;
    // Guarded by this: the heartbeat's memory figures and the stream's send order.
    private long seq;
    private int held;
    private double leakMb;
    private long lastBeat;
    private long lastReportedMb;
    private long page;

    Worker(int id, ManagedChannel channel, CountDownLatch opened) {
      this.id = id;
      this.job = scenario.jobOf(id);
      this.random = new SplittableRandom(seed * 1_000_003L + id);
      this.stub = LeaseBrokerGrpc.newStub(channel);
      this.opened = opened;
    }

    void open() {
      requests = stub.openSession(this);
      send(
          SessionRequest.newBuilder()
              .setHello(
                  Hello.newBuilder()
                      .setWorkerId("fleet-" + id)
                      .setJob(Scenario.JOBS.get(job).name())
                      .setMemoryLimitMb(Scenario.WORKER_LIMIT_MB))
              .build());
    }

    synchronized void send(SessionRequest r) {
      if (!closed) {
        requests.onNext(r);
      }
    }

    boolean busy() {
      return busy;
    }

    void scheduleBeats() {
      every(this::beat, random.nextLong(heartbeatNanos), heartbeatNanos);
    }

    /** A heartbeat with the memory this worker uses now: a base, its lease, and its leak. */
    synchronized void beat() {
      long t = now();
      if (scenario.leaks(id) && t >= scenario.leakStart() && t < scenario.leakEnd()) {
        double dt = (t - Math.max(lastBeat, scenario.leakStart())) / 1e9;
        leakMb = Math.min(Scenario.LEAK_CAP_MB, leakMb + scenario.leakMbPerSecond() * dt);
      }
      lastBeat = t;
      report();
      send(
          SessionRequest.newBuilder()
              .setHeartbeat(
                  Heartbeat.newBuilder()
                      .setSeq(++seq)
                      .setMemoryUsedMb(lastReportedMb)
                      .setMemoryLimitMb(Scenario.WORKER_LIMIT_MB))
              .build());
    }

    /** Brings the fleet's sum of reported memory up to this worker's current figure. */
    private void report() {
      long mb = Scenario.BASE_MB + held * Scenario.PER_LEASE_MB + Math.round(leakMb);
      obs.reportedDelta(mb - lastReportedMb);
      lastReportedMb = mb;
    }

    void nextPage() {
      if (stopping || closed) {
        busy = false;
        return;
      }
      busy = true;
      SimHost host = pick();
      long n;
      synchronized (this) {
        n = ++page;
      }
      obs.startedWanting(job, scenario.hosts().indexOf(host));
      acquire(host, "https://" + host.name() + "/w" + id + "/p" + n, now());
    }

    private SimHost pick() {
      double u = random.nextDouble();
      List<SimHost> hosts = scenario.hosts();
      for (SimHost h : hosts) {
        u -= h.pick();
        if (u < 0) {
          return h;
        }
      }
      return hosts.get(hosts.size() - 1);
    }

    private void acquire(SimHost host, String url, long asked) {
      long wait = scenario.acquireWait();
      stub.withDeadlineAfter(wait + TimeUnit.SECONDS.toNanos(10), TimeUnit.NANOSECONDS)
          .acquire(
              AcquireRequest.newBuilder()
                  .setSessionId(sessionId)
                  .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                  .setUrl(url)
                  .setWait(duration(wait))
                  .build(),
              new StreamObserver<AcquireResponse>() {
                @Override
                public void onNext(AcquireResponse r) {
                  if (r.hasGranted()) {
                    granted(host, asked, r);
                    return;
                  }
                  int reason = r.getRefused().getReasonValue();
                  obs.refused(job, reason, now());
                  if (reason == TIMEOUT || reason == RATE_LIMITED) {
                    moveOn(host);
                    return;
                  }
                  retry(host, url, asked, nanos(r.getRefused().getRetryAfter()));
                }

                @Override
                public void onError(Throwable t) {
                  obs.failed(now(), "acquire: " + t);
                  retry(host, url, asked, TimeUnit.SECONDS.toNanos(1));
                }

                @Override
                public void onCompleted() {}
              });
    }

    /**
     * Gives up the page whose acquire timed out or was refused for its host's rate, and takes the
     * next, as the reference worker does with a refused page: a worker that asked the same page
     * again until its host had a token would stay pinned to that host, and in a closed fleet a host
     * whose demand exceeds its rate (the storm host always, the hottest of the others at times)
     * would keep gathering workers until every spare worker waited there and the pool was no longer
     * contended (docs/fleet.md). The page goes back to the frontier, which the simulation models by
     * drawing the next page afresh: its host is drawn by the same pick weights.
     */
    private void moveOn(SimHost host) {
      obs.stoppedWanting(job, scenario.hosts().indexOf(host));
      nextPage();
    }

    /** Asks again for the same page after {@code delay} (at least 1 ms, at most the wait). */
    private void retry(SimHost host, String url, long asked, long delay) {
      if (stopping || closed) {
        obs.stoppedWanting(job, scenario.hosts().indexOf(host));
        busy = false;
        return;
      }
      long d = Math.max(1_000_000L, Math.min(delay, scenario.acquireWait()));
      obs.retrying(job, 1);
      later(
          () -> {
            obs.retrying(job, -1);
            acquire(host, url, asked);
          },
          d);
    }

    private void granted(SimHost host, long asked, AcquireResponse r) {
      long at = now();
      obs.granted(job, scenario.hosts().indexOf(host));
      synchronized (this) {
        held++;
        report();
      }
      String leaseId = r.getGranted().getLeaseId();
      var ts = r.getGranted().getGrantedAt();
      long brokerNanos = ts.getSeconds() * 1_000_000_000L + ts.getNanos();
      // The draws happen here, in this worker's order, so the schedule depends on the seed only.
      long pageNanos = host.pageNanos(random);
      boolean tooMany = host.answers429(scenario.inStorm(at), random);
      later(() -> release(host, asked, at, brokerNanos, leaseId, pageNanos, tooMany), pageNanos);
    }

    private void release(
        SimHost host,
        long asked,
        long grantedAt,
        long brokerNanos,
        String leaseId,
        long pageNanos,
        boolean tooMany) {
      Outcome.Builder outcome =
          Outcome.newBuilder()
              .setSuccess(!tooMany)
              .setHttpStatus(tooMany ? 429 : 200)
              .setDuration(duration(pageNanos));
      if (tooMany) {
        outcome.setRetryAfter(duration(TimeUnit.MILLISECONDS.toNanos(host.retryAfterMillis())));
      }
      long at = now();
      synchronized (this) {
        held--;
        report();
      }
      obs.released(
          new Hold(job, scenario.hosts().indexOf(host), asked, grantedAt, at, brokerNanos));
      stub.release(
          ReleaseRequest.newBuilder()
              .setSessionId(sessionId)
              .setLeaseId(leaseId)
              .setOutcome(outcome)
              .build(),
          new StreamObserver<ReleaseResponse>() {
            @Override
            public void onNext(ReleaseResponse value) {}

            @Override
            public void onError(Throwable t) {
              obs.failed(now(), "release: " + t);
              nextPage();
            }

            @Override
            public void onCompleted() {
              // The next page only once the broker has the outcome, as a worker's SDK does.
              nextPage();
            }
          });
    }

    @Override
    public void onNext(SessionEvent e) {
      switch (e.getEventCase()) {
        case OPENED -> {
          sessionId = e.getOpened().getSessionId();
          Duration hb = e.getOpened().getHeartbeatInterval();
          if (nanos(hb) > 0) {
            heartbeatNanos = nanos(hb);
          }
          opened.countDown();
        }
        case HEARTBEAT_ACK -> obs.ack(now(), e.getHeartbeatAck().getPressureValue());
        case CLEANUP -> {
          // The worker frees what it leaked (its browser restarts) and says so at once.
          obs.cleanup(now());
          synchronized (this) {
            leakMb = 0;
          }
          send(ack(e.getCleanup().getCommandId()));
          beat();
        }
        case REVOKE -> send(ack(e.getRevoke().getCommandId()));
        case DRAIN -> send(ack(e.getDrain().getCommandId()));
        default -> {}
      }
    }

    private SessionRequest ack(long commandId) {
      return SessionRequest.newBuilder().setAck(Ack.newBuilder().setCommandId(commandId)).build();
    }

    @Override
    public void onError(Throwable t) {
      if (!closed) {
        obs.failed(now(), "session of fleet-" + id + ": " + t);
      }
    }

    @Override
    public void onCompleted() {}

    synchronized void close() {
      if (closed) {
        return;
      }
      try {
        requests.onNext(
            SessionRequest.newBuilder().setGoodbye(Goodbye.getDefaultInstance()).build());
        requests.onCompleted();
      } catch (IllegalStateException e) {
        // the stream already ended
      }
      closed = true;
    }
  }
}
