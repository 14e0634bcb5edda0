package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.BundleDecision;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.Callback;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.ScaledMins;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Invariants of bundles and of weighted fair share between jobs, over random interleavings on a
 * fake clock: no pool is ever granted past its limit, no bundle is ever partly held, every job of a
 * backlogged pool gets its weighted share of any 1,000 consecutive grants within ±10 %, no
 * backlogged job is starved, a job below its {@code min} is served first and no job passes its
 * {@code max}; while degradation lowers a pool, the same holds of the mins scaled to it.
 */
class BundleAndJobProperties {
  private static final String PRINCIPAL = "anonymous";
  private static final String URL = "https://example.com/page";
  private static final ResourceKind[] KINDS = ResourceKind.values();

  // ------------------------------------------------------------ bundles

  sealed interface Cmd permits Single, Bundle, Release, Limits, Advance, Cancel {}

  record Single(int session, ResourceKind kind, int waitMs) implements Cmd {}

  record Bundle(int session, List<ResourceKind> kinds, int waitMs) implements Cmd {}

  record Release(int lease) implements Cmd {}

  record Limits(int render, int pdf, int wasm) implements Cmd {}

  record Advance(int millis) implements Cmd {}

  record Cancel(int call) implements Cmd {}

  @Property(tries = 150, edgeCases = EdgeCasesMode.NONE)
  void anyInterleaving_noPoolPastItsLimitAndNoBundlePartlyHeld(
      @ForAll("commands") List<Cmd> commands) {
    try (BundleRun run = new BundleRun()) {
      for (Cmd cmd : commands) {
        Map<ResourceKind, Integer> before = run.inUse();
        run.apply(cmd);
        run.check(cmd, before);
      }
    }
  }

  @Provide
  Arbitrary<List<Cmd>> commands() {
    Arbitrary<Integer> session = Arbitraries.integers().between(0, 2);
    Arbitrary<Integer> wait = Arbitraries.of(0, 0, 100, 400, 1_000);
    Arbitrary<ResourceKind> kind = Arbitraries.of(ResourceKind.class);
    Arbitrary<Cmd> single =
        Combinators.combine(session, kind, wait).as((s, k, w) -> (Cmd) new Single(s, k, w));
    Arbitrary<Cmd> bundle =
        Combinators.combine(session, kind.list().ofMinSize(2).ofMaxSize(4), wait)
            .as((s, ks, w) -> (Cmd) new Bundle(s, ks, w));
    Arbitrary<Cmd> release = Arbitraries.integers().between(0, 20).map(i -> (Cmd) new Release(i));
    Arbitrary<Cmd> limits =
        Combinators.combine(
                Arbitraries.integers().between(1, 4),
                Arbitraries.integers().between(1, 3),
                Arbitraries.integers().between(1, 3))
            .as((r, p, w) -> (Cmd) new Limits(r, p, w));
    Arbitrary<Cmd> advance =
        Arbitraries.integers().between(1, 12).map(n -> (Cmd) new Advance(n * 50));
    Arbitrary<Cmd> cancel = Arbitraries.integers().between(0, 20).map(i -> (Cmd) new Cancel(i));
    return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(4, single),
            net.jqwik.api.Tuple.of(4, bundle),
            net.jqwik.api.Tuple.of(4, release),
            net.jqwik.api.Tuple.of(1, limits),
            net.jqwik.api.Tuple.of(2, advance),
            net.jqwik.api.Tuple.of(1, cancel))
        .list()
        .ofMinSize(10)
        .ofMaxSize(80);
  }

  /** A broker, three sessions, and what the test was told it holds. */
  private static final class BundleRun implements AutoCloseable {
    final FakeTimeSource time = new FakeTimeSource();
    final Broker broker;
    final List<String> sessions = new ArrayList<>();
    final Map<ResourceKind, Integer> limits = new EnumMap<>(ResourceKind.class);

    /** Leases callbacks reported granted and not yet released. */
    final Map<String, Lease> told = new LinkedHashMap<>();

    final List<Broker.PendingAcquire> calls = new ArrayList<>();
    final List<String> violations = new ArrayList<>();

    BundleRun() {
      limits.put(ResourceKind.RENDER, 3);
      limits.put(ResourceKind.PDF, 2);
      limits.put(ResourceKind.WASM, 2);
      broker =
          new Broker(
              policy(),
              time,
              1,
              () -> 2,
              LeaseIds.seeded(7),
              HeapProbe.NONE,
              ModuleRegistry.empty());
      for (int i = 0; i < 3; i++) {
        sessions.add(
            broker
                .open(
                    HelloSpec.validate("w" + i, Map.of(), 0, "", List.of()),
                    PRINCIPAL,
                    new RecordingSessionChannel())
                .sessionId());
      }
    }

    Policy policy() {
      BrokerConfig.Builder config =
          BrokerConfig.newBuilder()
              .heartbeatInterval(Duration.ofMinutes(10))
              .sessionTtl(Duration.ofHours(1))
              .sweepInterval(Duration.ofMillis(250));
      limits.forEach(config::limit);
      for (ResourceKind kind : KINDS) {
        config.maxHold(kind, Duration.ofHours(1));
      }
      return BrokerHarness.withoutHostLimits(config.build());
    }

    Map<ResourceKind, Integer> inUse() {
      Map<ResourceKind, Integer> m = new EnumMap<>(ResourceKind.class);
      for (ResourceKind kind : KINDS) {
        m.put(kind, broker.inUse(kind));
      }
      return m;
    }

    void granted(Lease lease) {
      // A WASM item of a session that holds one answers the lease it holds.
      told.put(lease.id(), lease);
    }

    void apply(Cmd cmd) {
      try {
        if (cmd instanceof Single s) {
          AcquireSpec spec =
              AcquireSpec.validate(
                  sessions.get(s.session()),
                  s.kind(),
                  s.kind() == ResourceKind.RENDER ? URL : "",
                  "",
                  Duration.ofMillis(s.waitMs()),
                  "",
                  0,
                  0);
          calls.add(
              broker.acquire(
                  spec,
                  PRINCIPAL,
                  new Callback<Decision>() {
                    boolean answered;

                    @Override
                    public void decided(Decision d) {
                      once();
                      if (d instanceof Decision.Granted g) {
                        granted(g.lease());
                      }
                    }

                    @Override
                    public void failed(BrokerException e) {
                      once();
                    }

                    void once() {
                      if (answered) {
                        violations.add("acquire answered twice");
                      }
                      answered = true;
                    }
                  }));
        } else if (cmd instanceof Bundle b) {
          if (b.kinds().stream().filter(k -> k == ResourceKind.WASM).count() > 1) {
            return; // invalid: validation's own tests cover it
          }
          List<BundleSpec.Item> items = new ArrayList<>();
          for (ResourceKind kind : b.kinds()) {
            items.add(
                new BundleSpec.Item(
                    "", kind, kind == ResourceKind.RENDER ? URL : "", "", null, "", 0, 0));
          }
          BundleSpec spec =
              BundleSpec.validate(
                  sessions.get(b.session()), items, Duration.ofMillis(b.waitMs()), "", 0);
          calls.add(
              broker.acquireBundle(
                  spec,
                  PRINCIPAL,
                  new Callback<BundleDecision>() {
                    boolean answered;

                    @Override
                    public void decided(BundleDecision d) {
                      once();
                      if (d instanceof BundleDecision.Granted g) {
                        if (g.leases().size() != b.kinds().size()) {
                          violations.add("bundle of " + b.kinds() + " granted " + g.leases());
                        }
                        for (int i = 0; i < g.leases().size(); i++) {
                          if (g.leases().get(i).kind() != b.kinds().get(i)) {
                            violations.add("item " + i + " granted " + g.leases().get(i));
                          }
                          granted(g.leases().get(i));
                        }
                      }
                    }

                    @Override
                    public void failed(BrokerException e) {
                      once();
                    }

                    void once() {
                      if (answered) {
                        violations.add("bundle answered twice");
                      }
                      answered = true;
                    }
                  }));
        } else if (cmd instanceof Release r) {
          if (told.isEmpty()) {
            return;
          }
          Lease lease = new ArrayList<>(told.values()).get(r.lease() % told.size());
          told.remove(lease.id());
          broker.release(lease.sessionId(), lease.id(), PRINCIPAL, Outcome.UNKNOWN);
        } else if (cmd instanceof Limits l) {
          limits.put(ResourceKind.RENDER, l.render());
          limits.put(ResourceKind.PDF, l.pdf());
          limits.put(ResourceKind.WASM, l.wasm());
          broker.updatePolicy(policy());
        } else if (cmd instanceof Advance a) {
          time.advance(Duration.ofMillis(a.millis()));
        } else if (cmd instanceof Cancel c) {
          if (!calls.isEmpty()) {
            calls.get(c.call() % calls.size()).cancel();
          }
        }
      } catch (BrokerException e) {
        // Nothing here is refused with an error (no cap is near, no session ends): a throw is a
        // fault, told after the command like any broken invariant.
        violations.add(cmd + " threw " + e);
      }
    }

    void check(Cmd cmd, Map<ResourceKind, Integer> before) {
      assertThat(violations).as("after %s", cmd).isEmpty();
      for (ResourceKind kind : KINDS) {
        int now = broker.inUse(kind);
        // A lowered limit keeps leases; it only stops grants while use is at or above it.
        assertThat(now)
            .as("%s in use after %s (limit %s, before %s)", kind, cmd, limits.get(kind), before)
            .isLessThanOrEqualTo(Math.max(limits.get(kind), before.get(kind)));
      }
      Set<String> live = new HashSet<>();
      for (Lease lease : broker.leases()) {
        live.add(lease.id());
      }
      // Every lease in the table was reported to a caller whole: no item of a bundle is held
      // before (or without) the rest.
      assertThat(live).as("leases held after %s", cmd).isEqualTo(told.keySet());
    }

    @Override
    public void close() {
      broker.close();
    }
  }

  // ------------------------------------------------------------ fair share

  /**
   * A backlogged PDF pool shared by 2..4 jobs of random weights (one with a min, one with a max):
   * each job keeps {@code backlog} requests waiting; the oldest lease is released, one at a time,
   * and the grant it frees is recorded.
   */
  @Property(tries = 40, edgeCases = EdgeCasesMode.NONE)
  void backloggedPool_anyThousandGrants_shareWithinTenPercentOfWeight(
      @ForAll @Size(min = 2, max = 4) List<@IntRange(min = 1, max = 6) Integer> weights,
      @ForAll @IntRange(min = 1, max = 4) int limit,
      @ForAll long seed) {
    try (FairRun run = new FairRun(weights, limit, 0, 0, seed)) {
      run.grants(300); // reach the steady state
      List<String> window = run.grants(1_000);

      int total = weights.stream().mapToInt(Integer::intValue).sum();
      for (int j = 0; j < weights.size(); j++) {
        String job = "j" + j;
        double expected = (double) weights.get(j) / total;
        double share = window.stream().filter(job::equals).count() / 1_000.0;
        assertThat(share)
            .as("%s of weight %d among %s", job, weights.get(j), weights)
            .isBetween(expected * 0.9, expected * 1.1);
        // Nobody waits for ever: every job is served again within a bounded number of grants.
        assertThat(run.longestGap(window, job))
            .as("grants between two of %s", job)
            .isLessThanOrEqualTo(2 * total / weights.get(j) + weights.size() + limit);
      }
    }
  }

  @Property(tries = 40, edgeCases = EdgeCasesMode.NONE)
  void backloggedPool_minFirstAndMaxNeverPassed(
      @ForAll @Size(min = 2, max = 4) List<@IntRange(min = 1, max = 6) Integer> weights,
      @ForAll @IntRange(min = 2, max = 5) int limit,
      @ForAll @IntRange(min = 1, max = 2) int min,
      @ForAll @IntRange(min = 1, max = 2) int max,
      @ForAll long seed) {
    // j0 has the min, j1 the max; a random release order makes j0 fall below its min.
    try (FairRun run = new FairRun(weights, limit, Math.min(min, limit - 1), max, seed)) {
      run.randomReleases = true;
      run.grants(500);
      assertThat(run.minViolations).isEmpty();
      assertThat(run.maxSeen).isLessThanOrEqualTo(max);
    }
  }

  /**
   * Degradation halves a backlogged PDF pool whose jobs have random mins (summing to at most its
   * configured limit): the guarantees the mins scale to never add up past the effective limit, the
   * broker's Explain reports them, a job under its guarantee is served before any job at or above
   * its own, and no job, with a min or not, is starved while the guarantees leave room.
   */
  @Property(tries = 40, edgeCases = EdgeCasesMode.NONE)
  void degradedPool_scaledMinsWithinTheLimitAndServedFirst(
      @ForAll @Size(min = 2, max = 4) List<@IntRange(min = 1, max = 6) Integer> weights,
      @ForAll @Size(min = 4, max = 4) List<@IntRange(min = 0, max = 4) Integer> wantedMins,
      @ForAll @IntRange(min = 4, max = 9) int limit,
      @ForAll long seed) {
    int[] mins = minsWithin(weights.size(), wantedMins, limit);
    try (FairRun run = new FairRun(weights, limit, mins, 0, seed)) {
      run.randomReleases = true;
      int effective = run.degrade();
      assertThat(effective).isEqualTo(Math.max(2, limit / 2));

      scaledMinsServedFirst(
          run, mins, effective, limit, "scaled to the effective limit " + effective);
    }
  }

  /**
   * A new cluster leader holds back random slots of a backlogged PDF pool whose jobs have random
   * mins (summing to at most its configured limit): the guarantees scale to the usable part (the
   * limit less the slots held back) and never add up past it, the broker's Explain reports them, a
   * job under its guarantee is served before any job at or above its own, and no job, with a min or
   * not, is starved while the guarantees leave room.
   */
  @Property(tries = 40, edgeCases = EdgeCasesMode.NONE)
  void heldBackPool_scaledMinsWithinTheUsablePartAndServedFirst(
      @ForAll @Size(min = 2, max = 4) List<@IntRange(min = 1, max = 6) Integer> weights,
      @ForAll @Size(min = 4, max = 4) List<@IntRange(min = 0, max = 4) Integer> wantedMins,
      @ForAll @IntRange(min = 4, max = 9) int limit,
      @ForAll @IntRange(min = 1, max = 7) int wantedHold,
      @ForAll long seed) {
    int[] mins = minsWithin(weights.size(), wantedMins, limit);
    int heldBack = Math.min(wantedHold, limit - 2);
    int usable = limit - heldBack;
    try (FairRun run = new FairRun(weights, limit, mins, heldBack, seed)) {
      run.randomReleases = true;

      scaledMinsServedFirst(
          run,
          mins,
          usable,
          limit,
          "scaled to "
              + usable
              + " usable: the effective limit "
              + limit
              + " less "
              + heldBack
              + " held back");
    }
  }

  /** The first {@code jobs} of {@code wanted}, cut so that they sum to at most {@code limit}. */
  private static int[] minsWithin(int jobs, List<Integer> wanted, int limit) {
    int[] mins = new int[jobs];
    int left = limit;
    for (int j = 0; j < mins.length; j++) {
      mins[j] = Math.min(wanted.get(j), left);
      left -= mins[j];
    }
    return mins;
  }

  /**
   * Checks that {@code run}'s jobs are guaranteed their {@code mins} scaled to the {@code usable}
   * part of the configured {@code limit}, within it, that Explain says so ({@code scaledTo} names
   * what they were scaled to), and that 300 grants serve a job under its guarantee first and starve
   * no job while the guarantees leave room.
   */
  private static void scaledMinsServedFirst(
      FairRun run, int[] mins, int usable, int limit, String scaledTo) {
    int[] guaranteed = ScaledMins.scale(mins, usable, limit);
    assertThat(Arrays.stream(guaranteed).sum()).isLessThanOrEqualTo(usable);
    for (int j = 0; j < mins.length; j++) {
      if (mins[j] > 0) {
        String detail = run.explainJob("j" + j);
        assertThat(detail).containsPattern("its min " + guaranteed[j] + "\\b");
        if (guaranteed[j] != mins[j]) {
          assertThat(detail).contains("min.pdf " + mins[j] + " " + scaledTo);
        }
      }
    }
    run.guaranteed = guaranteed;
    List<String> window = run.grants(300);

    assertThat(run.minViolations).isEmpty();
    if (Arrays.stream(guaranteed).sum() < usable) {
      assertThat(window).containsAll(run.jobs);
    }
  }

  private static final class FairRun implements AutoCloseable {
    final FakeTimeSource time = new FakeTimeSource();
    final Broker broker;
    final List<String> jobs = new ArrayList<>();
    final Map<String, String> sessionOf = new HashMap<>();
    final Map<String, String> jobOfSession = new HashMap<>();
    final ArrayDeque<Lease> held = new ArrayDeque<>();
    final Map<String, Integer> heldBy = new HashMap<>();
    final List<String> order = new ArrayList<>();
    final List<String> minViolations = new ArrayList<>();
    final Random random;
    final int min;
    final int max;
    int maxSeen;
    boolean randomReleases;

    /** Each job's guarantee while checked, by index; null before. */
    int[] guaranteed;

    /** Inside a release: a grant now comes from the queue, in its order. */
    private boolean releasing;

    /** What releases report: slow failures while {@link #degrade} lowers the limit. */
    private Outcome outcome = Outcome.UNKNOWN;

    /** Closing the broker refuses every waiter DRAINING; the run is over by then. */
    private boolean closed;

    private final int backlog = 3;
    private final Map<String, Integer> waiting = new HashMap<>();

    FairRun(List<Integer> weights, int limit, int min, int max, long seed) {
      this(weights, limit, min, max, new int[0], 0, seed);
    }

    /**
     * Jobs with {@code mins} of PDF (by index), under a policy that judges PDF quickly, on a broker
     * that has taken over as a cluster leader holding back {@code heldBack} PDF slots (none: 0).
     */
    FairRun(List<Integer> weights, int limit, int[] mins, int heldBack, long seed) {
      this(weights, limit, 0, 0, mins, heldBack, seed);
    }

    private FairRun(
        List<Integer> weights, int limit, int min, int max, int[] mins, int heldBack, long seed) {
      this.random = new Random(seed);
      this.min = min;
      this.max = max;
      JobsConfig.Builder jobsConfig = JobsConfig.newBuilder();
      for (int j = 0; j < weights.size(); j++) {
        jobs.add("j" + j);
        jobsConfig.weight("j" + j, weights.get(j));
        if (j < mins.length && mins[j] > 0) {
          jobsConfig.min("j" + j, ResourceKind.PDF, mins[j]);
        }
      }
      if (min > 0) {
        jobsConfig.min("j0", ResourceKind.PDF, min);
      }
      if (max > 0) {
        jobsConfig.max("j1", ResourceKind.PDF, max);
      }
      Policy policy =
          BrokerHarness.withoutHostLimits(
                  BrokerConfig.newBuilder()
                      .heartbeatInterval(Duration.ofMinutes(10))
                      .sessionTtl(Duration.ofHours(10))
                      .limit(ResourceKind.PDF, limit)
                      .maxHold(ResourceKind.PDF, Duration.ofHours(10))
                      .build())
              .withJobs(jobsConfig.build());
      if (mins.length > 0) {
        policy = policy.withPerformance(BrokerHarness.JUDGE_QUICKLY);
      }
      broker =
          new Broker(
              policy,
              time,
              1,
              () -> 2,
              LeaseIds.seeded(seed),
              HeapProbe.NONE,
              ModuleRegistry.empty());
      if (heldBack > 0) {
        // For the whole run: the hold-back lasts one TTL, and the fake clock stands still.
        broker.takeOver(7, Fleet.EMPTY, kind -> kind == ResourceKind.PDF ? heldBack : 0);
      }
      for (String job : jobs) {
        String session =
            broker
                .open(
                    HelloSpec.validate(job + "-worker", Map.of(), 0, "", List.of(), job),
                    PRINCIPAL,
                    new RecordingSessionChannel())
                .sessionId();
        sessionOf.put(job, session);
        jobOfSession.put(session, job);
      }
      // Fill the pool and the backlog, in a shuffled order so no job starts ahead.
      List<String> arrivals = new ArrayList<>();
      for (int i = 0; i < backlog + limit; i++) {
        arrivals.addAll(jobs);
      }
      java.util.Collections.shuffle(arrivals, random);
      for (String job : arrivals) {
        ask(job);
      }
    }

    private void ask(String job) {
      waiting.merge(job, 1, Integer::sum);
      AcquireSpec spec =
          AcquireSpec.validate(
              sessionOf.get(job),
              ResourceKind.PDF,
              "",
              "",
              Duration.ofHours(1),
              "",
              random.nextInt(3),
              0);
      broker.acquire(
          spec,
          PRINCIPAL,
          new Callback<Decision>() {
            @Override
            public void decided(Decision d) {
              if (closed) {
                return;
              }
              if (!(d instanceof Decision.Granted g)) {
                throw new AssertionError("refused: " + d);
              }
              granted(job, g.lease());
            }

            @Override
            public void failed(BrokerException e) {
              if (!closed) {
                throw new AssertionError(e);
              }
            }
          });
    }

    private void granted(String job, Lease lease) {
      // Only a job below its min may be served while j0 (with the min) waits below it.
      if (min > 0
          && !job.equals("j0")
          && waiting.getOrDefault("j0", 0) > 0
          && heldBy.getOrDefault("j0", 0) < min
          && order.size() > 0) {
        minViolations.add(job + " served while j0 held " + heldBy.get("j0") + " < min " + min);
      }
      if (guaranteed != null && releasing) {
        int at = heldBy.getOrDefault(job, 0);
        for (int j = 0; j < jobs.size(); j++) {
          String other = jobs.get(j);
          int holds = heldBy.getOrDefault(other, 0);
          if (at >= guaranteed(job)
              && waiting.getOrDefault(other, 0) > 0
              && holds < guaranteed[j]) {
            minViolations.add(
                job
                    + " at "
                    + at
                    + " of its guaranteed "
                    + guaranteed(job)
                    + " served while "
                    + other
                    + " held "
                    + holds
                    + " < its guaranteed "
                    + guaranteed[j]);
          }
        }
      }
      waiting.merge(job, -1, Integer::sum);
      held.add(lease);
      int n = heldBy.merge(job, 1, Integer::sum);
      if (job.equals("j1") && max > 0) {
        maxSeen = Math.max(maxSeen, n);
      }
      order.add(job);
    }

    /** Releases leases until {@code n} more grants happened; the jobs granted, in order. */
    List<String> grants(int n) {
      int from = order.size();
      while (order.size() < from + n) {
        Lease lease;
        if (randomReleases) {
          List<Lease> all = new ArrayList<>(held);
          lease = all.get(random.nextInt(all.size()));
          held.remove(lease);
        } else {
          lease = held.poll();
        }
        String job = jobOfSession.get(lease.sessionId());
        heldBy.merge(job, -1, Integer::sum);
        releasing = true;
        broker.release(lease.sessionId(), lease.id(), PRINCIPAL, outcome);
        releasing = false;
        // Keep every job backlogged: whoever was granted asks again.
        for (String j : jobs) {
          while (waiting.getOrDefault(j, 0) < backlog) {
            ask(j);
          }
        }
      }
      return new ArrayList<>(order.subList(from, from + n));
    }

    private int guaranteed(String job) {
      return guaranteed[jobs.indexOf(job)];
    }

    /**
     * Reports 4 slow failures, the only outcomes so far, and lets the first sweep halve PDF ({@link
     * BrokerHarness#JUDGE_QUICKLY}); the effective limit. Grants stop until the leases above it
     * end.
     */
    int degrade() {
      outcome = BrokerHarness.SLOW_FAILURE;
      grants(4);
      outcome = Outcome.UNKNOWN;
      time.advance(Duration.ofSeconds(1));
      return broker.status().pools().stream()
          .filter(p -> p.kind() == ResourceKind.PDF)
          .findFirst()
          .orElseThrow()
          .effectiveLimit();
    }

    /** The detail of Explain's job step for a PDF acquire of {@code job}'s worker. */
    String explainJob(String job) {
      AcquireSpec spec =
          AcquireSpec.validate(sessionOf.get(job), ResourceKind.PDF, "", "", null, "", 0, 0);
      return broker.explain(spec).steps().stream()
          .filter(step -> step.rule().equals("job quota"))
          .findFirst()
          .orElseThrow()
          .detail();
    }

    int longestGap(List<String> window, String job) {
      int gap = 0;
      int longest = 0;
      for (String served : window) {
        gap = served.equals(job) ? 0 : gap + 1;
        longest = Math.max(longest, gap);
      }
      return longest;
    }

    @Override
    public void close() {
      closed = true;
      broker.close();
    }
  }
}
