package dev.berth.server.web;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.broker.Views;
import dev.berth.server.memory.PressureLevel;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.List;

/**
 * The dashboard's short history: one {@link Sample} of the broker's figures per {@link
 * Dashboard#SAMPLE_PERIOD}, the newest {@link #CAPACITY} kept (five minutes), for the charts of a
 * page that has just opened. Thread-safe.
 */
final class History {
  /** Samples kept. */
  static final int CAPACITY = 300;

  /**
   * The figures of one moment.
   *
   * @param pools each pool's limits, use and queue
   * @param waitsKnown whether the pools' queues are known: false for a follower's replica, whose
   *     pools read as having none
   * @param pressure the fleet-wide memory pressure level (fleet or broker heap)
   * @param degradation the RENDER degradation score, 0 healthy .. 1 broken
   * @param heapUsedBytes the broker's heap in use after its last collection
   * @param heapMaxBytes the most heap the broker may use; 0 when unknown
   */
  record Sample(
      Instant at,
      List<Views.Pool> pools,
      boolean waitsKnown,
      PressureLevel pressure,
      long fleetUsedMb,
      long fleetLimitMb,
      double degradation,
      long heapUsedBytes,
      long heapMaxBytes) {

    static Sample of(
        Instant at,
        Views.Status status,
        boolean waitsKnown,
        long heapUsedBytes,
        long heapMaxBytes) {
      return new Sample(
          at,
          List.copyOf(status.pools()),
          waitsKnown,
          status.pressure().level(),
          status.pressure().fleetUsedMb(),
          status.pressure().fleetLimitMb(),
          status.degradationScore(),
          heapUsedBytes,
          heapMaxBytes);
    }
  }

  @GuardedBy("this")
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();

  synchronized void add(Sample sample) {
    samples.addLast(sample);
    if (samples.size() > CAPACITY) {
      samples.removeFirst();
    }
  }

  /** Every sample kept, oldest first. */
  synchronized List<Sample> all() {
    return List.copyOf(samples);
  }
}
