package dev.berth.bench.suite;

import dev.berth.bench.suite.GoalResult.Target;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.Bearer;
import dev.berth.testkit.FloodScenario;
import dev.berth.testkit.Flooder;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Goal G9: how much one principal's flood slows another principal's leases. The daemon runs with
 * the per-principal caps of the flood fault test (FloodIT, {@link FloodScenario}); a flooder in its
 * own process ({@link Flooder}) tries thousands of sessions, then floods Acquire with many calls in
 * flight. Two workers of another principal cycle Acquire and Release at a steady pace, below the
 * call-rate cap, in windows where the flooder is paused (SIGSTOP) and windows where it runs,
 * interleaved so that other load on the machine falls on both alike. The figure is the ratio of
 * their p99 call latency, flooded to unloaded.
 *
 * <p>Not thread-safe: one measurement at a time.
 */
final class Flood {
  private static final int WORKERS = 2;

  /** Time for calls in flight to be answered after a pause, or the flood to resume. */
  private static final long SETTLE_MILLIS = 200;

  private final SuiteOptions o;
  private final ScheduledExecutorService beats;

  Flood(SuiteOptions o, ScheduledExecutorService beats) {
    this.o = o;
    this.beats = beats;
  }

  List<GoalResult> measure() throws Exception {
    int attempts = o.smoke ? 2 * FloodScenario.SESSION_CAP : FloodScenario.SESSION_ATTEMPTS;
    try (ServerProcess berth = ServerProcess.java("berth-flood", Suite.SERVER_JVM, args())) {
      List<ManagedChannel> channels = new ArrayList<>();
      List<Streams.BerthSession> sessions = new ArrayList<>();
      ScheduledFuture<?> beating = null;
      try (Flooder flooder =
          Flooder.start(
              "127.0.0.1:" + berth.port(),
              FloodScenario.FLOODER_TOKEN,
              attempts,
              FloodScenario.IN_FLIGHT,
              ProcessBuilder.Redirect.DISCARD)) {
        for (int w = 0; w < WORKERS; w++) {
          channels.add(Channels.open(berth.port()));
          sessions.add(
              Streams.openBerth(
                  Bearer.as(channels.get(w), FloodScenario.FLEET_TOKEN), "fleet-" + w, false));
        }
        beating =
            beats.scheduleAtFixedRate(
                () -> sessions.forEach(Streams.BerthSession::beat), 1, 1, TimeUnit.SECONDS);
        String sessionsLine = flooder.next("SESSIONS", Duration.ofSeconds(60));
        flooder.next("FLOODING", Duration.ofSeconds(60));
        window(channels, sessions, o.warmup, null);
        double[] unloaded = new double[o.rounds];
        double[] flooded = new double[o.rounds];
        Histogram allUnloaded = new Histogram(3);
        Histogram allFlooded = new Histogram(3);
        for (int r = 0; r < o.rounds; r++) {
          flooder.pause();
          Thread.sleep(SETTLE_MILLIS);
          unloaded[r] = window(channels, sessions, o.round, allUnloaded);
          flooder.resume();
          Thread.sleep(SETTLE_MILLIS);
          flooded[r] = window(channels, sessions, o.round, allFlooded);
        }
        String acquiresLine = flooder.stop();
        String detail =
            String.format(
                Locale.ROOT,
                "%d workers of one principal, a cycle each %d ms, beside a flooder of another"
                    + " (%d sessions tried, %d calls in flight); p99 unloaded %s us, flooded %s"
                    + " us; flooder: %s; %s",
                WORKERS,
                FloodScenario.FLEET_PAUSE_MILLIS,
                attempts,
                FloodScenario.IN_FLIGHT,
                Report.number(allUnloaded.getValueAtPercentile(99) / 1000.0),
                Report.number(allFlooded.getValueAtPercentile(99) / 1000.0),
                sessionsLine,
                acquiresLine);
        return List.of(
            GoalResult.measured(
                "G9",
                "p99 of another principal's Acquire/Release, flooded / unloaded",
                Spread.ratios(flooded, unloaded),
                Target.atMost(2.0),
                detail));
      } finally {
        if (beating != null) {
          beating.cancel(false);
        }
        sessions.forEach(Streams.Beating::close);
        Channels.closeAll(channels);
      }
    }
  }

  /**
   * The daemon's flags: the caps of the flood test, two principals, no metrics endpoint, no memory
   * charged per lease.
   */
  private static List<String> args() {
    List<String> args = Suite.berthServer();
    // The flooder never releases what it is granted; no memory is charged, so no memory pressure
    // refuses the fleet: the goal is about the caps, not memory.
    args.addAll(List.of("--pools.render.memory_estimate_mb", "0"));
    args.addAll(FloodScenario.daemonFlags());
    return args;
  }

  /**
   * Every worker cycles Acquire and Release, paced, for {@code length}; each call's latency goes to
   * the window's histogram and to {@code all} (none: a warm-up).
   *
   * @return the window's p99 in microseconds
   */
  private static double window(
      List<ManagedChannel> channels,
      List<Streams.BerthSession> sessions,
      Duration length,
      Histogram all)
      throws InterruptedException {
    ConcurrentHistogram latency = new ConcurrentHistogram(3);
    long end = System.nanoTime() + length.toNanos();
    List<Thread> threads = new ArrayList<>();
    List<Throwable> failures = new ArrayList<>();
    for (int w = 0; w < channels.size(); w++) {
      Channel channel = Bearer.as(channels.get(w), FloodScenario.FLEET_TOKEN);
      String session = sessions.get(w).id();
      Thread t =
          new Thread(
              () -> {
                try {
                  cycles(channel, session, end, latency);
                } catch (Throwable e) {
                  synchronized (failures) {
                    failures.add(e);
                  }
                }
              },
              "bench-flood-fleet-" + w);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    if (!failures.isEmpty()) {
      throw new IllegalStateException("a fleet call failed: " + failures.get(0), failures.get(0));
    }
    if (all != null) {
      all.add(latency);
    }
    return latency.getValueAtPercentile(99) / 1000.0;
  }

  private static void cycles(Channel channel, String session, long end, Histogram latency)
      throws InterruptedException {
    LeaseBrokerGrpc.LeaseBrokerBlockingStub stub = LeaseBrokerGrpc.newBlockingStub(channel);
    for (int i = 0; System.nanoTime() < end; i++) {
      long start = System.nanoTime();
      AcquireResponse granted =
          stub.withDeadlineAfter(10, TimeUnit.SECONDS)
              .acquire(
                  AcquireRequest.newBuilder()
                      .setSessionId(session)
                      .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                      .setUrl("https://fleet-" + i + ".bench.invalid/")
                      .build());
      long acquired = System.nanoTime();
      if (!granted.hasGranted()) {
        throw new IllegalStateException("a fleet acquire was refused: " + granted.getRefused());
      }
      stub.withDeadlineAfter(10, TimeUnit.SECONDS)
          .release(
              ReleaseRequest.newBuilder()
                  .setSessionId(session)
                  .setLeaseId(granted.getGranted().getLeaseId())
                  .build());
      long released = System.nanoTime();
      latency.recordValue(acquired - start);
      latency.recordValue(released - acquired);
      Thread.sleep(FloodScenario.FLEET_PAUSE_MILLIS);
    }
  }
}
