package dev.berth.bench.suite;

import dev.berth.bench.suite.GoalResult.Target;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * G5: the live heap a server holds per idle, heartbeating session, Berth's daemon against a bare
 * grpc-java bidi stream server; and what leases on the stream add: Berth's sessions that have each
 * run one lease cycle on their stream (acquire and release as stream calls) against sessions that
 * only heartbeated. Each round starts fresh server processes (the daemon remembers closed sessions
 * for their TTL), connects, reads the heap after full GCs, opens the sessions, heartbeats each once
 * (and runs its stream cycle), and reads it again.
 */
final class HeapPerSession {
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
    double[] streamed = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      bare[r] = bytesPerSession(List.of("bare"), false);
      berth[r] = bytesPerSession(Suite.berthArgs(true), false);
      streamed[r] = bytesPerSession(Suite.berthArgs(true), true);
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
            "heap per session, after a stream lease cycle / heartbeats only",
            Spread.ratios(streamed, berth),
            Target.atMost(1.10),
            String.format(
                Locale.ROOT,
                "each session ran one acquire and one release on its stream, then idled: %s bytes"
                    + " per session",
                Report.number(Spread.of(streamed).median()))));
  }

  /** One stream lease cycle on each session, all at once, waiting for every one to finish. */
  private static void streamCycles(List<Streams.BerthSession> sessions)
      throws InterruptedException {
    java.util.concurrent.CountDownLatch left =
        new java.util.concurrent.CountDownLatch(sessions.size());
    java.util.concurrent.atomic.AtomicReference<Throwable> failure =
        new java.util.concurrent.atomic.AtomicReference<>();
    for (Streams.BerthSession s : sessions) {
      Ops.streamCycle(s)
          .start(
              error -> {
                if (error != null) {
                  failure.compareAndSet(null, error);
                }
                left.countDown();
              });
    }
    if (!left.await(60, java.util.concurrent.TimeUnit.SECONDS) || failure.get() != null) {
      throw new IllegalStateException(
          "stream cycles of the idle sessions failed or did not finish: " + failure.get());
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
   * @param streamCycle whether each session also runs one lease cycle on its stream
   */
  private double bytesPerSession(List<String> serverArgs, boolean streamCycle) throws Exception {
    String name = serverArgs.get(0);
    try (ServerProcess server = ServerProcess.java(name, Suite.SERVER_JVM, serverArgs);
        Clients c = new Clients(server.port(), connectionsFor(sessions), false, null)) {
      c.warm();
      long before = server.heapAfterFullGc();
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
        if (streamCycle) {
          streamCycles(open);
        }
        Thread.sleep(500);
        long after = server.heapAfterFullGc();
        return (double) (after - before) / sessions;
      } finally {
        open.forEach(Streams.Beating::close);
      }
    }
  }
}
