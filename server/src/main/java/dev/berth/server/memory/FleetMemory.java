package dev.berth.server.memory;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;

/**
 * Memory pressure for the fleet, for each worker and for the broker's own heap, with hysteresis.
 *
 * <p>A worker's usage is its last heartbeat's {@code memory_used_mb} plus the estimates of leases
 * granted to it since that heartbeat; the next heartbeat replaces both. The fleet's usage is the
 * sum over workers. The fleet limit is {@link MemoryConfig#fleetLimitMb()}, or the sum of the
 * limits workers report when that is 0; a worker's limit is the one it reports, or the configured
 * fleet limit when it reports none. Where no limit is known there is no pressure.
 *
 * <p>Each source (fleet, worker, heap) turns on at its {@code on} ratio and off only at its {@code
 * off} ratio or below; the level becomes CRITICAL at {@link MemoryConfig#critical()} (for the heap:
 * that or {@code broker_heap_on}, whichever is higher). Fleet and worker levels move as soon as a
 * report, charge or forget moves their usage, so a grant is refused right after the grant that
 * crossed the threshold; the heap level moves in {@link #evaluate}. Admission refuses new RENDER
 * and PDF grants for a session when {@link #blocks(String)}.
 *
 * <p>Not thread-safe: the broker calls it under its single lock. It reads no clock; callers pass
 * monotonic nanoseconds.
 */
public final class FleetMemory {
  /** Heavier users first; the session id breaks ties so the order is reproducible. */
  private static final Comparator<WorkerMemory> BY_USAGE_DESC =
      Comparator.comparingLong(WorkerMemory::usedMb).reversed().thenComparing(w -> w.sessionId);

  /** As {@link #BY_USAGE_DESC}, by what each counts in the fleet's usage. */
  private static final Comparator<WorkerMemory> BY_COUNTED_DESC =
      Comparator.comparingLong((WorkerMemory w) -> w.countedMb)
          .reversed()
          .thenComparing(w -> w.sessionId);

  private MemoryConfig config;

  /**
   * The usage thresholds of {@link #config}, one instance that every worker's level shares (a
   * record of its own per session would be 48 bytes of heap for each).
   */
  private Hysteresis.Thresholds usage;

  private final Map<String, WorkerMemory> workers = new HashMap<>();

  /** Sessions whose own level is not NONE, so the common no-pressure path touches nobody. */
  private final Set<String> pressured = new LinkedHashSet<>();

  /** The fleet's usage: each worker's, at most the limit it declared (see {@link #counted}). */
  private long countedMb;

  private long workerLimitsMb;

  private final Hysteresis fleet;
  private String fleetTrigger = "";
  private final Hysteresis heap;
  private String heapTrigger = "";

  /** The fleet-wide level and each moved worker's level as of the last {@link #evaluate}. */
  private PressureLevel levelAtEvaluate = PressureLevel.NONE;

  private final Map<String, PressureLevel> workerLevelsAtEvaluate = new LinkedHashMap<>();
  private String lastTransition = "";
  private long levelSinceNanos;

  public FleetMemory(MemoryConfig config) {
    this.config = Objects.requireNonNull(config, "config");
    this.usage = usageThresholds(config);
    this.fleet = new Hysteresis(usage);
    this.heap = new Hysteresis(heapThresholds(config));
  }

  public MemoryConfig config() {
    return config;
  }

  /**
   * Applies a reloaded policy. Every level is re-evaluated against the new thresholds at once; the
   * broker's heap at the next {@link #evaluate}.
   */
  public void reconfigure(MemoryConfig value) {
    this.config = Objects.requireNonNull(value, "config");
    this.usage = usageThresholds(value);
    fleet.thresholds(usage);
    heap.thresholds(heapThresholds(value));
    for (WorkerMemory w : workers.values()) {
      w.pressure.thresholds(usage);
      refreshWorker(w);
    }
    refreshFleet();
  }

  // ---------------------------------------------------------------- inputs

  /** As {@link #report(String, String, long, long, long)}, naming the worker by its session. */
  public void report(String sessionId, long usedMb, long limitMb, long nowNanos) {
    WorkerMemory w = workers.get(sessionId);
    report(sessionId, w == null ? sessionId : w.workerId, usedMb, limitMb, nowNanos);
  }

  /**
   * Records a heartbeat's memory report. The reported usage replaces the estimates charged since
   * the previous report, since the worker's own figure now includes those leases.
   *
   * @param workerId the worker's name, used in triggers
   * @param usedMb the worker's memory in use, 0..2^30
   * @param limitMb the worker's memory limit, 0..2^30; 0 keeps the last known limit
   */
  public void report(String sessionId, String workerId, long usedMb, long limitMb, long nowNanos) {
    Objects.requireNonNull(workerId, "workerId");
    checkMb("usedMb", usedMb);
    checkMb("limitMb", limitMb);
    WorkerMemory w = worker(sessionId);
    w.workerId = workerId;
    w.reportedMb = usedMb;
    w.chargedMb = 0;
    if (limitMb > 0) {
      workerLimitsMb += limitMb - w.limitMb;
      w.limitMb = limitMb;
    }
    recount(w);
    w.reportedAtNanos = nowNanos;
    refreshWorker(w);
    refreshFleet();
  }

  /**
   * Charges the memory estimate of a lease just granted to a session; it counts until the session's
   * next report.
   *
   * @param mb the lease's estimate, 0..2^30
   */
  public void charge(String sessionId, long mb) {
    checkMb("mb", mb);
    WorkerMemory w = worker(sessionId);
    w.chargedMb += mb;
    recount(w);
    refreshWorker(w);
    refreshFleet();
  }

  /** Drops an ended session: its usage and limit leave the fleet's figures. */
  public void forget(String sessionId) {
    WorkerMemory w = workers.remove(sessionId);
    if (w == null) {
      return;
    }
    countedMb -= w.countedMb;
    workerLimitsMb -= w.limitMb;
    pressured.remove(sessionId);
    workerLevelsAtEvaluate.remove(sessionId);
    refreshFleet();
  }

  /**
   * Updates the broker's heap level and reports what changed since the previous evaluation. The
   * broker calls it on its periodic sweep (not per heartbeat: reading the heap is not free), and
   * publishes the changes and sends cleanup pushes from there.
   *
   * @param brokerHeapUsedBytes the broker's heap in use
   * @param brokerHeapMaxBytes the broker's maximum heap; 0 or less when unknown (no heap pressure)
   */
  public PressureChange evaluate(long nowNanos, long brokerHeapUsedBytes, long brokerHeapMaxBytes) {
    double heapRatio =
        brokerHeapMaxBytes > 0 ? (double) brokerHeapUsedBytes / brokerHeapMaxBytes : Double.NaN;
    if (heap.update(heapRatio)) {
      heapTrigger =
          "broker heap "
              + (brokerHeapUsedBytes >> 20)
              + "/"
              + (brokerHeapMaxBytes >> 20)
              + " MB = "
              + Ratios.measured(heapRatio)
              + " "
              + heap.transition();
      lastTransition = heapTrigger;
    }
    List<PressureChange.Worker> moved = new ArrayList<>();
    workerLevelsAtEvaluate.forEach(
        (id, before) -> {
          WorkerMemory w = workers.get(id);
          if (w != null && w.level() != before) {
            moved.add(new PressureChange.Worker(id, w.workerId, before, w.level(), w.trigger));
          }
        });
    workerLevelsAtEvaluate.clear();
    PressureLevel now = level();
    String trigger = now != PressureLevel.NONE ? trigger() : lastTransition;
    PressureChange change = new PressureChange(levelAtEvaluate, now, trigger, moved);
    if (now != levelAtEvaluate) {
      levelSinceNanos = nowNanos;
      levelAtEvaluate = now;
    }
    return change;
  }

  // ---------------------------------------------------------------- state

  /** The fleet-wide level (fleet usage or the broker's heap), as told to every worker. */
  public PressureLevel level() {
    return PressureLevel.max(fleet.level(), heap.level());
  }

  /** The level to tell one worker: the fleet-wide level or its own, whichever is higher. */
  public PressureLevel level(String sessionId) {
    WorkerMemory w = workers.get(sessionId);
    return w == null ? level() : PressureLevel.max(level(), w.level());
  }

  /** When the fleet-wide level last changed, as seen by {@link #evaluate}. */
  public long levelSinceNanos() {
    return levelSinceNanos;
  }

  /** True when new RENDER and PDF grants are refused to everyone: fleet or heap pressure. */
  public boolean fleetBlocked() {
    return level() != PressureLevel.NONE;
  }

  /**
   * Whether the broker's own heap alone holds fleet-wide pressure on (the fleet's usage does not).
   */
  public boolean heapOnly() {
    return heap.level() != PressureLevel.NONE && fleet.level() == PressureLevel.NONE;
  }

  /** True when this worker is under its own pressure (regardless of the fleet's). */
  public boolean sessionBlocked(String sessionId) {
    WorkerMemory w = workers.get(sessionId);
    return w != null && w.level() != PressureLevel.NONE;
  }

  /** Admission's question: are new RENDER and PDF grants to this session refused? */
  public boolean blocks(String sessionId) {
    return fleetBlocked() || sessionBlocked(sessionId);
  }

  /**
   * The pressure that charging {@code extraMb} more to a session would turn on, without charging
   * it: how a bundle's item is checked with the estimates of the bundle's earlier items counted, as
   * if they had been granted one after another. Pressure already on is not reported here ({@link
   * #blocks} says so); nor is the broker's heap, which no charge moves.
   *
   * @param extraMb the estimates to count, 0..2^30
   * @return the pressure those would turn on (the fleet's first), or null when none
   */
  public Crossing crossingWith(String sessionId, long extraMb) {
    checkMb("extraMb", extraMb);
    if (extraMb == 0) {
      return null;
    }
    WorkerMemory w = workers.get(sessionId);
    long fleetUsed =
        w == null
            ? fleetUsedMb() + extraMb
            : fleetUsedMb() - w.countedMb + counted(w, w.usedMb() + extraMb);
    long fleetLimit = fleetLimitMb();
    double fleetRatio = fleetLimit > 0 ? (double) fleetUsed / fleetLimit : Double.NaN;
    PressureLevel fleetNext = fleet.next(fleetRatio);
    if (fleetNext != PressureLevel.NONE) {
      return new Crossing(
          true,
          "fleet " + describe(fleetUsed, fleetLimit, fleetRatio) + onRule(fleetNext, extraMb));
    }
    Hysteresis own = w != null ? w.pressure : new Hysteresis(usage);
    long used = (w != null ? w.usedMb() : 0) + extraMb;
    long limit = w != null ? limitOf(w) : config.fleetLimitMb();
    double ratio = limit > 0 ? (double) used / limit : Double.NaN;
    PressureLevel next = own.next(ratio);
    if (next == PressureLevel.NONE) {
      return null;
    }
    return new Crossing(
        false,
        "worker "
            + (w != null ? w.workerId : sessionId)
            + " (session "
            + sessionId
            + ") "
            + describe(used, limit, ratio)
            + onRule(next, extraMb));
  }

  /**
   * Pressure that counting a bundle's earlier items would turn on.
   *
   * @param fleet the fleet's pressure (for everyone), else the worker's own
   * @param trigger the rule in words, e.g. {@code fleet 3500/4000 MB = 0.88 >= pressure_on 0.85
   *     with 1024 MB estimated for this bundle's earlier items}
   */
  public record Crossing(boolean fleet, String trigger) {}

  private String onRule(PressureLevel next, long extraMb) {
    String rule =
        next == PressureLevel.CRITICAL
            ? " >= critical " + Ratios.format(config.critical())
            : " >= pressure_on " + Ratios.format(config.pressureOn());
    return rule + " with " + extraMb + " MB estimated for this bundle's earlier items";
  }

  /**
   * Reported usage plus estimates charged since each worker's last report, each worker's at most
   * the limit it declared.
   */
  public long fleetUsedMb() {
    return countedMb;
  }

  /**
   * What a worker adds to the fleet's usage: its own, but no more than the limit it declared. A
   * worker past its own limit is refused by its own pressure already; beyond that, its figure says
   * nothing about the rest of the fleet, and one worker reporting absurd usage (a bug, or RSS that
   * counts shared pages many times) must not refuse every other worker's RENDER and PDF. A worker
   * that declared no limit counts whole.
   */
  private static long counted(WorkerMemory w, long usedMb) {
    return w.limitMb > 0 ? Math.min(usedMb, w.limitMb) : usedMb;
  }

  private void recount(WorkerMemory w) {
    long now = counted(w, w.usedMb());
    countedMb += now - w.countedMb;
    w.countedMb = now;
  }

  /** The fleet limit in force: configured, else the sum of worker limits; 0 when none is known. */
  public long fleetLimitMb() {
    return config.fleetLimitMb() > 0 ? config.fleetLimitMb() : workerLimitsMb;
  }

  /** One session's usage (reported plus charged), 0 when unknown. */
  public long usedMb(String sessionId) {
    WorkerMemory w = workers.get(sessionId);
    return w == null ? 0 : w.usedMb();
  }

  /** The limit one session's own pressure is measured against; 0 when none is known. */
  public long limitMb(String sessionId) {
    WorkerMemory w = workers.get(sessionId);
    return w == null ? 0 : limitOf(w);
  }

  /**
   * Which rules hold the fleet-wide level where it is, e.g. {@code fleet 3500/4000 MB = 0.88 >=
   * pressure_on 0.85}; several are joined by "; ". Empty when the level is NONE.
   */
  public String trigger() {
    List<String> parts = new ArrayList<>(2);
    if (fleet.level() != PressureLevel.NONE) {
      parts.add(fleetTrigger);
    }
    if (heap.level() != PressureLevel.NONE) {
      parts.add(heapTrigger);
    }
    return String.join("; ", parts);
  }

  /** The rule behind one worker's own level; empty when it has none. */
  public String trigger(String sessionId) {
    WorkerMemory w = workers.get(sessionId);
    return w == null || w.level() == PressureLevel.NONE ? "" : w.trigger;
  }

  /** Sessions known, for status. */
  public int sessions() {
    return workers.size();
  }

  // ---------------------------------------------------------------- cleanup

  /**
   * The cleanup pushes to send now, heaviest users first; calling it records them as sent.
   *
   * <p>Under fleet pressure the top {@link MemoryConfig#cleanupSessions()} users share the amount
   * that would bring the fleet down to {@code pressure_off}, in proportion to their usage (never
   * more than a session uses), each counted at most at its declared limit as in the fleet's usage.
   * A worker under its own pressure is asked for the amount that brings it down to {@code
   * pressure_off} of its limit; a session asked for both gets the larger. A session gets at most
   * one push per {@link MemoryConfig#cleanupInterval()}; a skipped session's share is not moved to
   * others. Heap pressure asks nobody: workers cannot free the broker's heap.
   */
  public List<CleanupTarget> cleanupTargets(long nowNanos) {
    if (fleet.level() == PressureLevel.NONE && pressured.isEmpty()) {
      return List.of(); // the common case allocates nothing
    }
    Map<String, CleanupTarget> wanted = new HashMap<>();
    if (fleet.level() != PressureLevel.NONE && config.cleanupSessions() > 0) {
      long total = excessMb(fleetUsedMb(), fleetLimitMb());
      List<WorkerMemory> top = topUsers(config.cleanupSessions());
      double topMb = top.stream().mapToLong(w -> w.countedMb).sum();
      for (WorkerMemory w : top) {
        long share = Math.min(w.countedMb, (long) Math.ceil(total * (w.countedMb / topMb)));
        if (share > 0) {
          wanted.put(w.sessionId, new CleanupTarget(w.sessionId, share, fleetTrigger));
        }
      }
    }
    for (String id : pressured) {
      WorkerMemory w = workers.get(id);
      long own = excessMb(w.usedMb(), limitOf(w));
      CleanupTarget fleetAsk = wanted.get(id);
      if (own > 0 && (fleetAsk == null || own > fleetAsk.targetFreeMb())) {
        wanted.put(id, new CleanupTarget(id, own, w.trigger));
      }
    }
    long interval = config.cleanupInterval().toNanos();
    List<CleanupTarget> due = new ArrayList<>();
    List<WorkerMemory> order = new ArrayList<>();
    for (CleanupTarget t : wanted.values()) {
      WorkerMemory w = workers.get(t.sessionId());
      if (!w.cleanupSent || nowNanos - w.lastCleanupNanos >= interval) {
        order.add(w);
      }
    }
    order.sort(BY_USAGE_DESC);
    for (WorkerMemory w : order) {
      w.cleanupSent = true;
      w.lastCleanupNanos = nowNanos;
      due.add(wanted.get(w.sessionId));
    }
    return due;
  }

  /**
   * The {@code n} heaviest users by what they count in the fleet's usage (each at most its declared
   * limit), heaviest first: one worker reporting absurd usage is asked for its share, not for all
   * of the fleet's excess in place of the workers that really hold it.
   */
  private List<WorkerMemory> topUsers(int n) {
    PriorityQueue<WorkerMemory> lightestFirst = new PriorityQueue<>(BY_COUNTED_DESC.reversed());
    for (WorkerMemory w : workers.values()) {
      if (w.countedMb <= 0) {
        continue;
      }
      lightestFirst.add(w);
      if (lightestFirst.size() > n) {
        lightestFirst.poll();
      }
    }
    List<WorkerMemory> top = new ArrayList<>(lightestFirst);
    top.sort(BY_COUNTED_DESC);
    return top;
  }

  /** MB to free so that {@code used} comes down to {@code pressure_off} of {@code limit}. */
  private long excessMb(long used, long limit) {
    if (limit <= 0) {
      return 0;
    }
    return Math.max(0, (long) Math.ceil(used - config.pressureOff() * limit));
  }

  // ---------------------------------------------------------------- levels

  private WorkerMemory worker(String sessionId) {
    Objects.requireNonNull(sessionId, "sessionId");
    // get, then put: a computeIfAbsent lambda captures this, one object per charge and release
    WorkerMemory w = workers.get(sessionId);
    if (w == null) {
      w = new WorkerMemory(sessionId, sessionId, usage);
      workers.put(sessionId, w);
    }
    return w;
  }

  private long limitOf(WorkerMemory w) {
    return w.limitMb > 0 ? w.limitMb : config.fleetLimitMb();
  }

  private void refreshWorker(WorkerMemory w) {
    PressureLevel before = w.level();
    long limit = limitOf(w);
    double ratio = limit > 0 ? (double) w.usedMb() / limit : Double.NaN;
    if (!w.pressure.update(ratio)) {
      return;
    }
    w.trigger =
        "worker "
            + w.workerId
            + " (session "
            + w.sessionId
            + ") "
            + describe(w.usedMb(), limit, ratio)
            + " "
            + w.pressure.transition();
    workerLevelsAtEvaluate.putIfAbsent(w.sessionId, before);
    if (w.level() == PressureLevel.NONE) {
      pressured.remove(w.sessionId);
    } else {
      pressured.add(w.sessionId);
    }
  }

  private void refreshFleet() {
    long limit = fleetLimitMb();
    long used = fleetUsedMb();
    double ratio = limit > 0 ? (double) used / limit : Double.NaN;
    if (fleet.update(ratio)) {
      fleetTrigger = "fleet " + describe(used, limit, ratio) + " " + fleet.transition();
      lastTransition = fleetTrigger;
    }
  }

  private static String describe(long used, long limit, double ratio) {
    return limit > 0 ? used + "/" + limit + " MB = " + Ratios.measured(ratio) : used + " MB";
  }

  private static Hysteresis.Thresholds usageThresholds(MemoryConfig c) {
    return new Hysteresis.Thresholds(
        c.pressureOn(), "pressure_on", c.pressureOff(), "pressure_off", c.critical(), "critical");
  }

  private static Hysteresis.Thresholds heapThresholds(MemoryConfig c) {
    boolean ownCritical = c.brokerHeapOn() > c.critical();
    return new Hysteresis.Thresholds(
        c.brokerHeapOn(),
        "broker_heap_on",
        c.brokerHeapOff(),
        "broker_heap_off",
        ownCritical ? c.brokerHeapOn() : c.critical(),
        ownCritical ? "broker_heap_on" : "critical");
  }

  private static void checkMb(String name, long mb) {
    Preconditions.checkArgument(
        mb >= 0 && mb <= MemoryConfig.MAX_MB, "%s must be 0..2^30 MB, got %s", name, mb);
  }
}
