package dev.berth.server.cluster;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.proto.cluster.v1.JournalBatch;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.server.time.TimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * The leader's journal of lease-state changes: collects entries from the broker (which adds them
 * under its own lock, one at a time) and replicates them in batches that grow with the load (group
 * commit), always on a scheduler thread and never on the caller's. It counts, per pool, the grants
 * whose entry is not committed yet ({@link #uncommitted}), so that the broker can keep that tail at
 * most the pool's K.
 *
 * <p>When to send: with no batch in flight, {@code flushInterval} after the first entry waits (the
 * bound on delay when idle); with one in flight, once it is committed and no sooner than {@code
 * flushInterval} after it was sent, so that what arrived meanwhile goes as one batch. A batch costs
 * a Raft append, two AppendEntries and their replies and a write and an apply on every member,
 * whatever its size, so under load the pace keeps the members' work per second flat instead of
 * growing with every commit that returns quickly. A full batch ({@code batchRecords} entries) goes
 * at once, beside those in flight; so does everything buffered on {@link #drain}, {@link #release}
 * and {@link #urge} (a pool's K holds a grant back: its tail should commit soon).
 *
 * <p>Folding: when a lease ends while its grant still waits in the buffer (a lease held for less
 * than about a flush interval), the grant leaves the buffer and the end is never added. Applied in
 * order the two would leave every replica as it was, so the log needs neither: a successor after a
 * crash knows the same leases (the lease has ended), holds back no less (the grant was uncommitted
 * either way, and no longer counts in {@link #uncommitted}), and carries no request id for it (a
 * successor remembers only the requests of leases it loads). Only within the buffer: a grant
 * already sent is in the log, and while {@linkplain #hold holding} an end follows the handoff.
 *
 * <p>Batches go to the {@link Appender} in the order their entries were added, at most {@code
 * maxInFlight} at a time. The first batch that fails fails the journal for good: {@link #healthy}
 * says no from then on, later entries are dropped, and the owner is told once, so it can step down.
 * A new leadership starts a new journal.
 *
 * <p>A handoff {@linkplain #hold holds} the entries added after it read the broker's state, so that
 * they reach the log after its handoff record, which carries that state: the entries before the
 * read are in the state and precede the record, and those after it follow the record and apply on
 * top of it.
 *
 * <p>Thread-safe: {@link #add} takes one short lock and never waits for the network.
 */
public final class Batcher {

  /** Replicates one batch; the future completes when a majority committed it. */
  @FunctionalInterface
  public interface Appender {
    CompletableFuture<?> append(JournalBatch batch);
  }

  /** Bytes left in a log entry for what surrounds the batch. */
  private static final int ENVELOPE_BYTES = 1024;

  private static final int KINDS = 8;

  private final TimeSource time;
  private final Appender appender;
  private final long flushNanos;
  private final int batchRecords;
  private final int batchBytes;
  private final int maxInFlight;
  private final Consumer<Throwable> onFailure;

  private final Object lock = new Object();
  private final IntConsumer batchSent;

  /** Held while a batch is taken from the buffer and handed to the appender, to keep order. */
  private final Object sendLock = new Object();

  // Guarded by lock. Null where a grant and its lease's end were folded away (see add()).
  private List<JournalEntry> buffer = new ArrayList<>();

  /** The entries of {@link #buffer} that are not null. */
  private int live;

  /**
   * Where each grant waiting in {@link #buffer} is, by lease id: its position among all ever added.
   */
  private final Map<String, Long> grantsBuffered = new HashMap<>();

  /** The position among all entries ever buffered of {@code buffer.get(0)}. */
  private long bufferBase;

  /** Entries added since {@link #hold}, not sent until {@link #release}; null when not holding. */
  private List<JournalEntry> held;

  /** An urged send is scheduled and has not run yet. */
  private boolean urgePending;

  /** The last batch was cut at the byte bound with entries left: those make a full batch too. */
  private boolean cutByBytes;

  private final int[] uncommittedGrants = new int[KINDS];

  /** Hold-back entries added but not yet committed ({@link #holdUncommitted}). */
  private int uncommittedHolds;

  private int inFlight;

  /** When the last batch went to the appender, on {@link TimeSource#nanoTime}. */
  private long lastSentNanos;

  /** {@link #send} held a short batch back because the last one went less than the pace ago. */
  private boolean paced;

  private boolean timerPending;
  private Throwable failure;
  private boolean closed;
  private final List<CompletableFuture<Void>> drains = new ArrayList<>();
  private long batchesSent;
  private long entriesSent;
  private long entriesCommitted;
  private long entriesFolded;
  private int largestBatch;

  /**
   * @param onFailure told once, on the thread that saw it, when a batch fails
   * @param batchSent told the number of entries of each batch handed to the appender, on the thread
   *     that sent it, outside the journal's locks (for the batch-size histogram)
   */
  public Batcher(
      TimeSource time,
      Appender appender,
      Duration flushInterval,
      int batchRecords,
      int maxRecordBytes,
      int maxInFlight,
      Consumer<Throwable> onFailure,
      IntConsumer batchSent) {
    this.batchSent = batchSent;
    this.time = time;
    this.appender = appender;
    this.flushNanos = flushInterval.toNanos();
    this.batchRecords = batchRecords;
    this.batchBytes = maxRecordBytes - ENVELOPE_BYTES;
    this.maxInFlight = maxInFlight;
    this.onFailure = onFailure;
  }

  /** A journal that drops everything and allows no grant, for a node that does not lead. */
  static Batcher closed(TimeSource time) {
    Batcher b =
        new Batcher(
            time,
            batch -> new CompletableFuture<>(),
            Duration.ofMillis(1),
            1,
            1 << 20,
            1,
            e -> {},
            n -> {});
    b.close();
    return b;
  }

  /**
   * Adds one change to the journal. Dropped when the journal has failed or is closed: a leader that
   * lost its journal no longer speaks for the cluster.
   */
  public void add(JournalEntry entry) {
    boolean flushNow = false;
    boolean startTimer = false;
    List<CompletableFuture<Void>> drained = List.of();
    synchronized (lock) {
      if (closed || failure != null) {
        return;
      }
      if (entry.hasLeaseGranted()) {
        uncommittedGrants[slot(entry.getLeaseGranted().getKind())]++;
      } else if (entry.hasHoldBack()) {
        uncommittedHolds++;
      }
      if (held != null) {
        held.add(entry);
        return;
      }
      if (entry.hasLeaseEnded() && fold(entry.getLeaseEnded().getLeaseId())) {
        if (live == 0 && inFlight == 0 && !drains.isEmpty()) {
          // A drain waited for what just folded away, and no batch is in flight whose commit
          // would complete it: nothing is left to commit.
          drained = new ArrayList<>(drains);
          drains.clear();
        }
      } else {
        if (entry.hasLeaseGranted()) {
          grantsBuffered.put(entry.getLeaseGranted().getLeaseId(), bufferBase + buffer.size());
        }
        buffer.add(entry);
        live++;
        if (live == batchRecords) {
          flushNow = true;
        } else if (!timerPending && inFlight == 0) {
          // With a batch in flight, its commit sends what waits (completed()).
          timerPending = true;
          startTimer = true;
        }
      }
    }
    drained.forEach(d -> d.complete(null));
    if (flushNow) {
      time.schedule(this::flush, 0);
    } else if (startTimer) {
      time.schedule(this::flush, flushNanos);
    }
  }

  /**
   * Folds away the grant of {@code leaseId} if it still waits in the buffer, together with the
   * lease's end (which the caller then drops): applied in order, the two leave every replica as it
   * was, so neither needs a place in the log. Only within the buffer, never while holding: a grant
   * already sent is in the log, and one sent before a handoff's read is in its state; their ends
   * must follow.
   *
   * @return whether the grant was there and is gone
   */
  @GuardedBy("lock")
  private boolean fold(String leaseId) {
    Long at = grantsBuffered.remove(leaseId);
    if (at == null) {
      return false;
    }
    JournalEntry grant = buffer.set((int) (at - bufferBase), null);
    uncommittedGrants[slot(grant.getLeaseGranted().getKind())]--;
    entriesFolded += 2;
    if (--live == 0) {
      bufferBase += buffer.size();
      buffer.clear();
    }
    return true;
  }

  /** Grants of {@code kind} added but not yet committed. */
  public int uncommitted(ResourceKind kind) {
    synchronized (lock) {
      return uncommittedGrants[slot(kind)];
    }
  }

  /**
   * Whether a hold-back entry was added and is not committed yet: a new leader grants nothing until
   * the slots it keeps for its predecessor's unseen grants are in the log, or a successor elected
   * meanwhile would not keep them.
   */
  public boolean holdUncommitted() {
    synchronized (lock) {
      return uncommittedHolds > 0;
    }
  }

  /**
   * Sends what is buffered now, on the scheduler, beside the batches in flight (within the
   * in-flight bound), instead of after the batch in flight commits: a pool's K holds a grant back,
   * so the grants it waits for should reach the log soon. Cheap; the broker calls it under its
   * lock.
   */
  public void urge() {
    synchronized (lock) {
      if (urgePending || live == 0 || closed || failure != null) {
        return;
      }
      urgePending = true;
    }
    time.schedule(
        () -> {
          synchronized (lock) {
            urgePending = false;
          }
          sendAll(maxInFlight, true);
        },
        0);
  }

  /**
   * Keeps every entry added from now on out of the log until {@link #release}: {@link #drain} then
   * covers only what was added before. Does nothing when already holding.
   */
  public void hold() {
    synchronized (lock) {
      if (held == null) {
        held = new ArrayList<>();
      }
    }
  }

  /**
   * Sends what {@link #hold} kept, after everything added before it, and adds to the log directly
   * again. Does nothing when not holding.
   */
  public void release() {
    boolean send;
    synchronized (lock) {
      if (held == null) {
        return;
      }
      send = !held.isEmpty() && !closed && failure == null;
      if (send) {
        // not indexed for folding: the few a handoff held need no such care
        buffer.addAll(held);
        live += held.size();
      }
      held = null;
    }
    if (send) {
      time.schedule(() -> sendAll(maxInFlight, true), 0);
    }
  }

  /** Whether the journal still replicates (it has neither failed nor been closed). */
  public boolean healthy() {
    synchronized (lock) {
      return !closed && failure == null;
    }
  }

  /** Counters for status and metrics. */
  public Stats stats() {
    synchronized (lock) {
      return new Stats(
          live + (held == null ? 0 : held.size()),
          inFlight,
          batchesSent,
          entriesSent,
          entriesCommitted,
          entriesFolded,
          largestBatch);
    }
  }

  /**
   * What the journal has done so far.
   *
   * @param buffered entries waiting to be sent (held ones included)
   * @param inFlight batches sent and not yet committed
   * @param batchesSent batches handed to the log
   * @param entriesSent entries in those batches
   * @param entriesCommitted entries a majority committed
   * @param entriesFolded entries never sent: grants whose lease ended before either was, with those
   *     ends
   * @param largestBatch the most entries one batch held
   */
  public record Stats(
      int buffered,
      int inFlight,
      long batchesSent,
      long entriesSent,
      long entriesCommitted,
      long entriesFolded,
      int largestBatch) {}

  /**
   * Sends what is buffered now (on the scheduler, at once, up to twice the in-flight bound; the
   * rest as batches commit) and completes when all of it is committed: what a leader does before it
   * hands off or changes the policy, so that those records follow every journal entry in the log
   * (while it {@linkplain #hold holds}, every entry added before the hold). Fails if the journal
   * fails or closes first.
   *
   * <p>It sends nothing on the caller's thread, which may be one of the log client's own: a send
   * there could wait for the send lock while the scheduler, holding it, waits for the client.
   */
  public CompletableFuture<Void> drain() {
    CompletableFuture<Void> done = new CompletableFuture<>();
    synchronized (lock) {
      if (failure != null) {
        done.completeExceptionally(failure);
      } else if (closed) {
        done.completeExceptionally(closedException());
      } else if (inFlight == 0 && live == 0) {
        done.complete(null);
      } else {
        drains.add(done);
      }
    }
    if (!done.isDone()) {
      // at once what a doubled bound allows; completions send the rest
      time.schedule(this::sendForDrains, 0);
    }
    return done;
  }

  /**
   * A drain's send, on the scheduler: everything, past the pace, while a drain still waits; by the
   * usual rules when every drain completed before it ran (a commit, or a fold that left nothing).
   */
  private void sendForDrains() {
    boolean waiting;
    synchronized (lock) {
      waiting = !drains.isEmpty();
    }
    sendAll(waiting ? 2 * maxInFlight : maxInFlight, waiting);
  }

  /** Stops the journal: nothing more is sent, buffered entries are dropped. */
  public void close() {
    List<CompletableFuture<Void>> waiting;
    synchronized (lock) {
      closed = true;
      buffer = new ArrayList<>();
      live = 0;
      bufferBase = 0;
      grantsBuffered.clear();
      held = null;
      waiting = new ArrayList<>(drains);
      drains.clear();
    }
    waiting.forEach(d -> d.completeExceptionally(closedException()));
  }

  /**
   * Runs on the scheduler (the flush interval, a full batch, a commit): sends what is buffered as
   * group commit allows.
   */
  private void flush() {
    synchronized (lock) {
      timerPending = false;
    }
    sendAll(maxInFlight, false);
  }

  /**
   * Sends batch after batch while {@link #send} allows; when the pace held back a short batch,
   * schedules the flush for when it is due (unless one is scheduled already).
   */
  private void sendAll(int bound, boolean everything) {
    synchronized (sendLock) {
      while (send(bound, everything)) {
        // keep sending while entries wait and the bound allows
      }
    }
    long delay;
    synchronized (lock) {
      if (!paced || timerPending || closed || failure != null) {
        paced = false;
        return;
      }
      paced = false;
      timerPending = true;
      delay = Math.max(0, lastSentNanos + flushNanos - time.nanoTime());
    }
    time.schedule(this::flush, delay);
  }

  /**
   * Takes one batch and hands it to the appender while fewer than {@code bound} are in flight and,
   * unless {@code everything}, when none is in flight or a full batch waits (group commit: the
   * commit of the one in flight sends the rest); false when nothing was sent.
   */
  private boolean send(int bound, boolean everything) {
    JournalBatch batch;
    int[] grants = new int[KINDS];
    int holds = 0;
    synchronized (lock) {
      if (closed || failure != null || live == 0) {
        return false;
      }
      if (inFlight >= bound) {
        return false; // a completion sends the rest
      }
      if (!everything && live < batchRecords && !cutByBytes) {
        if (inFlight > 0) {
          return false; // the commit of the batch in flight sends these as one
        }
        if (drains.isEmpty() && batchesSent > 0 && time.nanoTime() - lastSentNanos < flushNanos) {
          paced = true; // too soon after the last send: sendAll schedules the flush when due
          return false;
        }
      }
      JournalBatch.Builder b = JournalBatch.newBuilder();
      int bytes = 0;
      int taken = 0;
      int used = 0; // buffer positions consumed, folded ones included
      for (; used < buffer.size(); used++) {
        JournalEntry e = buffer.get(used);
        if (e == null) {
          continue;
        }
        int size = e.getSerializedSize() + 8;
        if (taken > 0 && (taken == batchRecords || bytes + size > batchBytes)) {
          cutByBytes = taken < batchRecords;
          break;
        }
        b.addEntries(e);
        bytes += size;
        taken++;
        if (e.hasLeaseGranted()) {
          grants[slot(e.getLeaseGranted().getKind())]++;
          grantsBuffered.remove(e.getLeaseGranted().getLeaseId());
        } else if (e.hasHoldBack()) {
          holds++;
        }
      }
      if (taken == live) {
        cutByBytes = false;
      }
      buffer = new ArrayList<>(buffer.subList(used, buffer.size()));
      bufferBase += used;
      live -= taken;
      batch = b.build();
      inFlight++;
      lastSentNanos = time.nanoTime();
      batchesSent++;
      entriesSent += taken;
      largestBatch = Math.max(largestBatch, taken);
    }
    CompletableFuture<?> committed;
    try {
      committed = appender.append(batch);
    } catch (RuntimeException e) {
      committed = CompletableFuture.failedFuture(e);
    }
    int count = batch.getEntriesCount();
    batchSent.accept(count);
    // completed() takes the failure in hand; the future of the callback itself carries nothing.
    int sentHolds = holds;
    var unused = committed.whenComplete((ok, error) -> completed(count, grants, sentHolds, error));
    return true;
  }

  private void completed(int count, int[] grants, int holds, Throwable error) {
    boolean report = false;
    boolean more;
    long delay = 0;
    List<CompletableFuture<Void>> finished = List.of();
    Throwable failed;
    synchronized (lock) {
      inFlight--;
      if (error != null) {
        report = failure == null && !closed;
        if (failure == null) {
          failure = error;
        }
      } else {
        for (int k = 0; k < KINDS; k++) {
          uncommittedGrants[k] -= grants[k];
        }
        uncommittedHolds -= holds;
        entriesCommitted += count;
      }
      failed = failure;
      more = failure == null && !closed && live > 0 && !timerPending;
      if (more) {
        // Paced: at most one batch per flush interval unless one fills up (see the class doc);
        // while a drain waits (a handoff or a policy change), no pace: send() skips it too.
        timerPending = true;
        delay = drains.isEmpty() ? Math.max(0, lastSentNanos + flushNanos - time.nanoTime()) : 0;
      }
      if (failure != null || (inFlight == 0 && live == 0)) {
        finished = new ArrayList<>(drains);
        drains.clear();
      }
    }
    for (CompletableFuture<Void> d : finished) {
      if (failed != null) {
        d.completeExceptionally(failed);
      } else {
        d.complete(null);
      }
    }
    if (report) {
      onFailure.accept(error);
    }
    if (more) {
      time.schedule(this::flush, delay);
    }
  }

  private static int slot(ResourceKind kind) {
    int n = kind == ResourceKind.UNRECOGNIZED ? 0 : kind.getNumber();
    return n >= 0 && n < KINDS ? n : 0;
  }

  private static ReplicationException closedException() {
    return new ReplicationException(
        ReplicationException.Reason.CLOSED, "the journal of this leadership is closed", null);
  }
}
