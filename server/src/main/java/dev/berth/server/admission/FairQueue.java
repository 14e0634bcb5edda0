package dev.berth.server.admission;

import dev.berth.server.lease.ResourceKind;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The wait queue of one resource kind, shared fairly between jobs: each job waits in its own lane
 * (higher priority first, FIFO within a priority), and the lanes are served by weighted fair
 * queuing on virtual time (start-time fair queuing, also known as stride scheduling):
 *
 * <ul>
 *   <li>each job has a virtual time per kind; a grant from the queue advances it by {@code STRIDE /
 *       weight}, so a job of weight 4 advances a quarter as fast as one of weight 1;
 *   <li>the next grant goes to a job below its guaranteed min for the kind ({@link Job#belowMin}:
 *       its {@code min}, scaled down while degradation lowers the pool, see {@link ScaledMins}) if
 *       there is one, else to the job with the least virtual time (ties: the lane whose head came
 *       first);
 *   <li>the queue's own virtual time is the start of the last grant chosen that way; a job whose
 *       lane was empty (idle) comes back at no less than it, and a job passed over because none of
 *       its waiters could be granted is moved up to it, so neither saves up credit for a burst;
 *   <li>a job that cannot use its turn (host rate, its {@code max}, ...) is passed over at once:
 *       the capacity goes to the others (work-conserving).
 * </ul>
 *
 * <p>Any backlogged job's grants stay within about one grant of its weighted share over any window,
 * whatever the others do. A bundle stands in the queue of every kind it asks for, as one waiter.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 */
public final class FairQueue {
  /**
   * The virtual time one grant costs a job of weight 1: 720720, the least common multiple of 1..16,
   * so weights up to 16 divide it exactly and larger ones (up to 1000) within 0.14 %. A job of
   * weight 1 would need some 10^13 contended grants to overflow its virtual time.
   */
  static final long STRIDE = 720_720L;

  /**
   * How far behind the queue's virtual time a job passed over for its own reasons may stay: two
   * rounds (in which every backlogged job gets its weight's worth of grants). Tags of backlogged
   * jobs served by weight stay within one round of each other, so this keeps a job's place through
   * a run of turns it could not use (a token arrived for a host none of its waiters wants), and
   * bounds what it may catch up on to twice its weight in grants.
   */
  static final long LAG = 2 * STRIDE;

  private static final Comparator<Waiter<?>> ORDER =
      Comparator.comparingInt((Waiter<?> w) -> -w.request().priority())
          .thenComparingLong(Waiter::seq);

  /** One job's waiters of this kind, and its progress through the current pump pass. */
  public static final class Lane {
    private final Job job;
    private final TreeSet<Waiter<?>> waiters = new TreeSet<>(ORDER);
    private long pass = -1;
    private Iterator<Waiter<?>> cursor;
    private boolean exhausted;

    private Lane(Job job) {
      this.job = job;
    }

    public Job job() {
      return job;
    }
  }

  private final ResourceKind kind;
  private final Map<Job, Lane> lanes = new LinkedHashMap<>();
  private long virtualTime;
  private int size;

  public FairQueue(ResourceKind kind) {
    this.kind = kind;
  }

  public ResourceKind kind() {
    return kind;
  }

  /** Adds a waiter to its job's lane. */
  public void add(Waiter<?> waiter) {
    add(waiter, false);
  }

  /**
   * Files {@code waiters} again from scratch, after the jobs changed (a waiter may now run as
   * another job). A job that was waiting here before keeps its virtual time, and with it the place
   * it had earned by being passed over (at most {@link #LAG}); only a job that was not waiting here
   * starts level with the queue, as one back from idle does. The jobs' waiting counts are the
   * caller's to reset first ({@link Jobs#resetCounts}).
   */
  public void refile(Collection<Waiter<?>> waiters) {
    Set<Job> wasWaiting = new HashSet<>(lanes.keySet());
    lanes.clear();
    size = 0;
    for (Waiter<?> waiter : waiters) {
      add(waiter, wasWaiting.contains(waiter.job()));
    }
  }

  private void add(Waiter<?> waiter, boolean keepsItsTime) {
    Job job = waiter.job();
    Lane lane = lanes.get(job);
    if (lane == null) {
      lane = new Lane(job);
      lanes.put(job, lane);
      if (!keepsItsTime) {
        // Back from idle: no credit for the time it did not compete.
        job.tag(kind, Math.max(job.tag(kind), virtualTime));
      }
    }
    if (lane.waiters.add(waiter)) {
      size++;
      job.enqueued(kind);
    }
  }

  /** Removes a waiter wherever it stands; false when it was not queued here. */
  public boolean remove(Waiter<?> waiter) {
    Lane lane = lanes.get(waiter.job());
    if (lane == null || !lane.waiters.remove(waiter)) {
      return false;
    }
    removed(lane);
    return true;
  }

  private void removed(Lane lane) {
    size--;
    lane.job.dequeued(kind);
    if (lane.waiters.isEmpty()) {
      lanes.remove(lane.job);
    }
  }

  /** Waiters queued, each once. */
  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
  }

  /** A copy of every waiter, lane by lane, for changes that touch many (drain, session end). */
  public List<Waiter<?>> waiters() {
    List<Waiter<?>> all = new ArrayList<>(size);
    for (Lane lane : lanes.values()) {
      all.addAll(lane.waiters);
    }
    return all;
  }

  // ------------------------------------------------------------ one pass of a pump

  /**
   * The lane to try next in pass {@code pass}: among lanes not yet found unable to use the capacity
   * in this pass, a job below its guaranteed min first, then the least virtual time, then the
   * earliest head. Null when every lane has been tried. The caller brings the guaranteed mins in
   * line with the pool's limit first ({@link Jobs#guarantee}).
   */
  public Lane next(long pass) {
    Lane best = null;
    for (Lane lane : lanes.values()) {
      if (lane.pass == pass && lane.exhausted) {
        continue;
      }
      if (best == null || before(lane, best)) {
        best = lane;
      }
    }
    return best;
  }

  private boolean before(Lane a, Lane b) {
    boolean aMin = a.job.belowMin(kind);
    if (aMin != b.job.belowMin(kind)) {
      return aMin;
    }
    long ta = a.job.tag(kind);
    long tb = b.job.tag(kind);
    if (ta != tb) {
      return ta < tb;
    }
    return a.waiters.first().seq() < b.waiters.first().seq();
  }

  /**
   * The lane's waiters in order, resuming where this pass left it: a waiter passed over once in a
   * pass is not looked at again in it (grants only take capacity, so it cannot have become
   * grantable). Use {@link #removeCurrent} to take the last one returned out.
   */
  public Iterator<Waiter<?>> cursor(Lane lane, long pass) {
    if (lane.pass != pass) {
      lane.pass = pass;
      lane.cursor = lane.waiters.iterator();
      lane.exhausted = false;
    }
    return lane.cursor;
  }

  /** Removes the waiter {@code cursor} returned last. */
  public void removeCurrent(Lane lane, Iterator<Waiter<?>> cursor) {
    cursor.remove();
    removed(lane);
  }

  /** No waiter of the lane can use the capacity in this pass. */
  public void exhausted(Lane lane, long pass) {
    lane.pass = pass;
    lane.exhausted = true;
  }

  /**
   * Charges {@code job} for one lease of this kind granted from the queue, before its count grows.
   * When the queue's order chose it ({@code chosen}, and not for its guaranteed min) the queue's
   * virtual time moves to its start.
   */
  public void charge(Job job, boolean chosen) {
    long tag = job.tag(kind);
    if (chosen && !job.belowMin(kind)) {
      virtualTime = Math.max(virtualTime, tag);
    }
    job.tag(kind, tag + STRIDE / job.settings().weight());
  }

  /**
   * Charges {@code job} for one lease of this kind granted on arrival, without queuing: the pool
   * had room that no waiter could use (each was held by its host, its worker or its job). The grant
   * counts as chosen, as one from the queue does (the job's virtual time first comes up to the
   * queue's when it has no waiter here, as on {@link #add}); so a job that gets its leases this way
   * pays for them in the queue's order, and one that got many while the others were held back gives
   * way to them once they can be served again. {@code first} is false for the second and later
   * items of this kind in one bundle, which only count.
   */
  public void chargeArrival(Job job, boolean first) {
    if (first && !lanes.containsKey(job)) {
      job.tag(kind, Math.max(job.tag(kind), virtualTime));
    }
    charge(job, first);
  }

  /**
   * Ends pass {@code pass}: a job that could not use its turn (each of its waiters held by its
   * host, its worker or its job) keeps its place, but at most {@link #LAG} behind the queue's
   * virtual time, so it is served first once a waiter of it can be served again, without saving up
   * more than a bounded burst for the time it could not compete.
   */
  public void endPass(long pass) {
    long floor = virtualTime - LAG;
    for (Lane lane : lanes.values()) {
      if (lane.pass == pass && lane.exhausted) {
        lane.job.tag(kind, Math.max(lane.job.tag(kind), floor));
      }
    }
  }

  /** The queue's virtual time, for tests and status. */
  long virtualTime() {
    return virtualTime;
  }
}
