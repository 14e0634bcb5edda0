package dev.berth.bench.fleet;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * Everything the simulated workers saw, as they saw it: every lease (asked, granted, released),
 * every refusal by job and reason, every heartbeat answer's pressure level, every cleanup push,
 * call failures, and a sample every 100 ms of how many workers of each job held or wanted a slot
 * and of the memory they had reported. The report is computed from this alone (and checked against
 * the broker's own status).
 *
 * <p>Thread-safe: workers record from gRPC and timer threads; the sampler reads the live counters.
 */
public final class Observations {
  /** Refusal reasons by their {@code RefusalReason} number, 0 to 5. */
  static final int REASONS = 6;

  private final int jobs;
  private final ConcurrentLinkedQueue<Hold> holds = new ConcurrentLinkedQueue<>();
  private final LongAdder[][] refusals;
  private final ConcurrentLinkedQueue<long[]> acks = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Long> cleanups = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Long> pressureRefusals = new ConcurrentLinkedQueue<>();
  private final LongAdder failures = new LongAdder();
  private final AtomicLong firstFailureAt = new AtomicLong(-1);
  private volatile String firstFailure;
  private final int hosts;
  private final AtomicIntegerArray wanting;
  private final AtomicIntegerArray holding;
  private final AtomicIntegerArray retrying;
  // [job * hosts + host]: workers of the job that want a slot for a page of the host.
  private final AtomicIntegerArray wantingAt;
  private final AtomicLong reportedMb = new AtomicLong();
  private final ConcurrentLinkedQueue<Sample> samples = new ConcurrentLinkedQueue<>();

  /**
   * The live counters at one instant.
   *
   * @param at nanoseconds since the start of the run
   * @param wanting per job, workers that asked for a slot and do not have it yet
   * @param holding per job, workers holding a slot
   * @param retrying per job, wanting workers not at the broker now: between a refusal (a timed-out
   *     wait included) and asking again
   * @param wantingAt per job and host ({@code job × hosts + host}), wanting workers whose page is
   *     on the host
   * @param reportedMb the sum of every worker's last reported memory use
   *     <p>Immutable.
   */
  public record Sample(
      long at,
      List<Integer> wanting,
      List<Integer> holding,
      List<Integer> retrying,
      List<Integer> wantingAt,
      long reportedMb) {
    public Sample {
      wanting = List.copyOf(wanting);
      holding = List.copyOf(holding);
      retrying = List.copyOf(retrying);
      wantingAt = List.copyOf(wantingAt);
    }

    /** Wanting workers of {@code job} whose page is on {@code host}. */
    public int wantingAt(int job, int host) {
      return wantingAt.get(job * (wantingAt.size() / wanting.size()) + host);
    }
  }

  public Observations(int jobs, int hosts) {
    this.jobs = jobs;
    this.hosts = hosts;
    this.retrying = new AtomicIntegerArray(jobs);
    this.wantingAt = new AtomicIntegerArray(jobs * hosts);
    this.refusals = new LongAdder[jobs][REASONS];
    for (LongAdder[] row : refusals) {
      Arrays.setAll(row, i -> new LongAdder());
    }
    this.wanting = new AtomicIntegerArray(jobs);
    this.holding = new AtomicIntegerArray(jobs);
  }

  public int jobs() {
    return jobs;
  }

  public int hosts() {
    return hosts;
  }

  void startedWanting(int job, int host) {
    wanting.incrementAndGet(job);
    wantingAt.incrementAndGet(job * hosts + host);
  }

  void granted(int job, int host) {
    wanting.decrementAndGet(job);
    wantingAt.decrementAndGet(job * hosts + host);
    holding.incrementAndGet(job);
  }

  /** A wanting worker of {@code job} was refused and waits to ask again ({@code +1}), or asks. */
  void retrying(int job, int delta) {
    retrying.addAndGet(job, delta);
  }

  void released(Hold hold) {
    holding.decrementAndGet(hold.job());
    holds.add(hold);
  }

  void stoppedWanting(int job, int host) {
    wanting.decrementAndGet(job);
    wantingAt.decrementAndGet(job * hosts + host);
  }

  void refused(int job, int reason, long at) {
    refusals[job][Math.min(reason, REASONS - 1)].increment();
    if (reason == 3) { // MEMORY_PRESSURE
      pressureRefusals.add(at);
    }
  }

  void ack(long at, int level) {
    acks.add(new long[] {at, level});
  }

  void cleanup(long at) {
    cleanups.add(at);
  }

  void reportedDelta(long mb) {
    reportedMb.addAndGet(mb);
  }

  void failed(long at, String what) {
    failures.increment();
    if (firstFailureAt.compareAndSet(-1, at)) {
      firstFailure = what;
    }
  }

  /** Records the live counters as one sample at {@code at}. */
  void sample(long at) {
    List<Integer> w = new ArrayList<>();
    List<Integer> h = new ArrayList<>();
    List<Integer> r = new ArrayList<>();
    for (int j = 0; j < jobs; j++) {
      w.add(wanting.get(j));
      h.add(holding.get(j));
      r.add(retrying.get(j));
    }
    List<Integer> perHost = new ArrayList<>(jobs * hosts);
    for (int i = 0; i < jobs * hosts; i++) {
      perHost.add(wantingAt.get(i));
    }
    samples.add(new Sample(at, w, h, r, perHost, reportedMb.get()));
  }

  public List<Hold> holds() {
    return List.copyOf(holds);
  }

  public long refusals(int job, int reason) {
    return refusals[job][reason].sum();
  }

  /** Heartbeat answers as {@code [time, level]}, in time order. */
  public List<long[]> acks() {
    List<long[]> out = new ArrayList<>(acks);
    out.sort((a, b) -> Long.compare(a[0], b[0]));
    return out;
  }

  public List<Long> cleanups() {
    return List.copyOf(cleanups);
  }

  public List<Long> pressureRefusals() {
    return List.copyOf(pressureRefusals);
  }

  public long failures() {
    return failures.sum();
  }

  /** The first failure, with when it happened, or null when none. */
  public String firstFailure() {
    long at = firstFailureAt.get();
    return at < 0 ? null : String.format("%.1fs: %s", at / 1e9, firstFailure);
  }

  public List<Sample> samples() {
    List<Sample> out = new ArrayList<>(samples);
    out.sort((a, b) -> Long.compare(a.at(), b.at()));
    return out;
  }
}
