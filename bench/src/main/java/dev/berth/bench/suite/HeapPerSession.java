package dev.berth.bench.suite;

import dev.berth.bench.suite.GoalResult.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * G5: the live heap a server holds per idle, heartbeating session, Berth's daemon against a bare
 * grpc-java bidi stream server; and what leases on the stream add: Berth's sessions that have each
 * run one lease cycle on their stream (acquire and release as stream calls) against sessions that
 * ran theirs as unary calls. Each round starts fresh server processes (the daemon remembers closed
 * sessions for their TTL), connects, reads the heap after full GCs, opens the sessions, heartbeats
 * each once (and runs its stream cycle), and reads it again.
 */
final class HeapPerSession {
  /**
   * When set, a directory where each measurement also writes the server's heap histogram before and
   * after opening the sessions ({@code <server>-<cycle>-<n>-before.txt} and {@code -after}), to see
   * which classes the per-session bytes are made of.
   */
  static final String HISTOGRAM_ENV = "BERTH_BENCH_G5_HISTOGRAMS";

  /** Streams per connection; the daemon allows 1,000 calls per connection. */
  static final int SESSIONS_PER_CONNECTION = 900;

  private final int sessions;
  private final int rounds;

  HeapPerSession(int sessions, int rounds) {
    this.sessions = sessions;
    this.rounds = rounds;
  }

  List<GoalResult> measure() throws Exception {
    double[] berth = new double[rounds];
    double[] bare = new double[rounds];
    double[] unary = new double[rounds];
    double[] streamed = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      bare[r] = bytesPerSession(List.of("bare"), Cycle.NONE);
      berth[r] = bytesPerSession(Suite.berthArgs(true), Cycle.NONE);
      unary[r] = bytesPerSession(Suite.berthArgs(true), Cycle.UNARY);
      streamed[r] = bytesPerSession(Suite.berthArgs(true), Cycle.STREAM);
    }
    Spread perGib = Spread.of(perGib(berth));
    String detail =
        String.format(
            Locale.ROOT,
            "%d sessions on %d connections, heartbeating every 10 s; live heap after full GC per"
                + " session: Berth %s bytes, bare grpc-java stream %s bytes (median of %d rounds)",
            sessions,
            connectionsFor(sessions),
            Report.number(Spread.of(berth).median()),
            Report.number(Spread.of(bare).median()),
            rounds);
    return List.of(
        GoalResult.measured(
            "G5",
            "heap per session, Berth / bare bidi stream",
            Spread.ratios(berth, bare),
            Target.atMost(1.5),
            detail),
        GoalResult.measured(
            "G5", "sessions per GiB of heap (absolute)", perGib, Target.atLeast(200_000), ""),
        GoalResult.measured(
            "G5",
            "heap per session after a lease cycle, on the stream / unary",
            Spread.ratios(streamed, unary),
            Target.atMost(1.10),
            String.format(
                Locale.ROOT,
                "each session ran one acquire and one release, then idled: on its stream %s"
                    + " bytes per session, as unary calls %s, neither %s",
                Report.number(Spread.of(streamed).median()),
                Report.number(Spread.of(unary).median()),
                Report.number(Spread.of(berth).median()))));
  }

  private int histograms;

  /** Writes {@code server}'s heap histogram when {@link #HISTOGRAM_ENV} names a directory. */
  private void histogram(ServerProcess server, String name, Cycle cycle, String when)
      throws java.io.IOException, InterruptedException {
    String dir = System.getenv(HISTOGRAM_ENV);
    if (dir == null || dir.isEmpty()) {
      return;
    }
    if (when.equals("before")) {
      histograms++;
    }
    server.histogram(
        java.nio.file.Path.of(
            dir,
            name
                + "-"
                + cycle.name().toLowerCase(Locale.ROOT)
                + "-"
                + histograms
                + "-"
                + when
                + ".txt"));
  }

  /** Which lease cycle each idle session runs once before the heap is read. */
  enum Cycle {
    /** None: the session only heartbeats. */
    NONE,
    /** Acquire and release as unary calls. */
    UNARY,
    /** Acquire and release as calls on the session's stream. */
    STREAM
  }

  /** At most this many cycles at once: unary calls count against the per-connection call cap. */
  private static final int CYCLES_IN_FLIGHT = 64;

  /** Runs {@code ops}, at most {@link #CYCLES_IN_FLIGHT} at once, waiting for every one. */
  private static void runAll(List<LoadGen.Op> ops) throws InterruptedException {
    java.util.concurrent.Semaphore slots = new java.util.concurrent.Semaphore(CYCLES_IN_FLIGHT);
    java.util.concurrent.CountDownLatch left = new java.util.concurrent.CountDownLatch(ops.size());
    java.util.concurrent.atomic.AtomicReference<Throwable> failure =
        new java.util.concurrent.atomic.AtomicReference<>();
    for (LoadGen.Op op : ops) {
      slots.acquire();
      op.start(
          error -> {
            if (error != null) {
              failure.compareAndSet(null, error);
            }
            slots.release();
            left.countDown();
          });
    }
    if (!left.await(120, java.util.concurrent.TimeUnit.SECONDS) || failure.get() != null) {
      throw new IllegalStateException(
          "lease cycles of the idle sessions failed or did not finish: " + failure.get());
    }
  }

  private static double[] perGib(double[] bytes) {
    double[] out = new double[bytes.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (1L << 30) / bytes[i];
    }
    return out;
  }

  private static int connectionsFor(int sessions) {
    return Math.max(2, (sessions + SESSIONS_PER_CONNECTION - 1) / SESSIONS_PER_CONNECTION);
  }

  /**
   * Heap the server holds per open session: after minus before opening them, after full GCs.
   *
   * @param cycle the lease cycle each session runs once, if any
   */
  private double bytesPerSession(List<String> serverArgs, Cycle cycle) throws Exception {
    String name = serverArgs.get(0);
    try (ServerProcess server = ServerProcess.java(name, Suite.SERVER_JVM, serverArgs);
        Clients c = new Clients(server.port(), connectionsFor(sessions), false, null)) {
      c.warm();
      long before = server.heapAfterFullGc();
      histogram(server, name, cycle, "before");
      List<Streams.BerthSession> open = new ArrayList<>();
      try {
        for (int i = 0; i < sessions; i++) {
          open.add(Streams.startBerth(c.channel(i % c.size()), "idle-" + i, false));
        }
        for (Streams.BerthSession s : open) {
          s.awaitOpened();
        }
        for (Streams.BerthSession s : open) {
          s.beat(); // one heartbeat each: the session has seen the whole protocol
        }
        List<LoadGen.Op> cycles = new ArrayList<>();
        for (int i = 0; i < open.size(); i++) {
          Streams.BerthSession s = open.get(i);
          switch (cycle) {
            case NONE -> {}
            case UNARY -> cycles.add(Ops.berthCycle(c.channel(i % c.size()), s.id()));
            case STREAM -> cycles.add(Ops.streamCycle(s));
          }
        }
        runAll(cycles);
        Thread.sleep(500);
        long after = server.heapAfterFullGc();
        histogram(server, name, cycle, "after");
        return (double) (after - before) / sessions;
      } finally {
        open.forEach(Streams.Beating::close);
      }
    }
  }
}
