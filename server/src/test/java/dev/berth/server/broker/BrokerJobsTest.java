package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.admission.Admission;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.Lease;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Jobs: how a session finds its job, quotas, mins, weights and live changes, on a fake clock. */
class BrokerJobsTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static Policy policy(JobsConfig jobs) {
    return BrokerHarness.withoutHostLimits(
            BrokerConfig.newBuilder()
                .heartbeatInterval(Duration.ofSeconds(2))
                .sessionTtl(Duration.ofSeconds(10))
                .limit(RENDER, 4)
                .limit(PDF, 1)
                .build())
        .withJobs(jobs);
  }

  private static BrokerHarness harness(JobsConfig jobs) {
    return new BrokerHarness(policy(jobs), HeapProbe.NONE);
  }

  private static Worker open(BrokerHarness h, String workerId, String job) {
    RecordingSessionChannel channel = new RecordingSessionChannel();
    Broker.Opened opened =
        h.broker.open(
            HelloSpec.validate(workerId, Map.of(), 0, "", List.of(), job), PRINCIPAL, channel);
    return new Worker(opened.sessionId(), channel);
  }

  private static Views.Job job(BrokerHarness h, String name) {
    return h.broker.status().jobs().stream()
        .filter(j -> j.name().equals(name))
        .findFirst()
        .orElseThrow();
  }

  private static int held(BrokerHarness h, String name, dev.berth.server.lease.ResourceKind kind) {
    return job(h, name).kinds().stream()
        .filter(k -> k.kind() == kind)
        .findFirst()
        .orElseThrow()
        .held();
  }

  @Test
  void open_helloNamesAConfiguredJob_leasesCountForIt() {
    try (BrokerHarness h = harness(JobsConfig.newBuilder().weight("urgent", 3).build())) {
      Worker a = open(h, "a", "urgent");

      h.grant(a, RENDER);

      assertThat(held(h, "urgent", RENDER)).isEqualTo(1);
      assertThat(held(h, JobsConfig.DEFAULT_JOB, RENDER)).isZero();
      assertThat(job(h, "urgent").weight()).isEqualTo(3);
    }
  }

  @Test
  void open_unconfiguredJobOrNone_runsAsDefault() {
    try (BrokerHarness h = harness(JobsConfig.newBuilder().weight("urgent", 3).build())) {
      h.grant(open(h, "a", "nobody"), RENDER);
      h.grant(open(h, "b", ""), RENDER); // its principal, "anonymous", is no job either

      assertThat(held(h, JobsConfig.DEFAULT_JOB, RENDER)).isEqualTo(2);
      assertThat(h.broker.status().jobs())
          .extracting(Views.Job::name)
          .containsExactlyInAnyOrder(JobsConfig.DEFAULT_JOB, "urgent");
    }
  }

  @Test
  void acquire_jobAtItsMax_refusedNamingTheJobsMaxKey() {
    try (BrokerHarness h = harness(JobsConfig.newBuilder().max("recrawl", RENDER, 1).build())) {
      Worker a = open(h, "a", "recrawl");
      h.grant(a, RENDER);

      RecordingAcquireCallback refused = h.acquire(a, RENDER);

      assertThat(refused.refused().reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(refused.refused().rule()).isEqualTo("jobs.recrawl.max.render");
      assertThat(refused.refused().detail()).contains("job recrawl holds 1/1 RENDER");
      assertThat(job(h, "recrawl").refusals()).isEqualTo(1);
      // Others are not held back by recrawl's quota.
      h.grant(open(h, "b", ""), RENDER);
    }
  }

  @Test
  void acquire_jobAtItsMaxWaiting_passedOverAndGrantedWhenItsOwnLeaseEnds() {
    try (BrokerHarness h = harness(JobsConfig.newBuilder().max("recrawl", RENDER, 1).build())) {
      Worker r = open(h, "r", "recrawl");
      Worker d = open(h, "d", "");
      Lease recrawlHolds = h.grant(r, RENDER);
      List<Lease> defaultHolds = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        defaultHolds.add(h.grant(d, RENDER));
      }
      RecordingAcquireCallback recrawl = h.acquire(r, RENDER, WAIT);
      RecordingAcquireCallback other = h.acquire(d, RENDER, WAIT);

      h.release(d, defaultHolds.get(0));

      // recrawl came first but holds its max: the freed slot goes to the next job at once.
      assertThat(other.granted().sessionId()).isEqualTo(d.sessionId());
      assertThat(recrawl.isAnswered()).isFalse();
      h.release(r, recrawlHolds);
      assertThat(recrawl.granted().sessionId()).isEqualTo(r.sessionId());
    }
  }

  @Test
  void pump_backloggedPool_grantsFollowTheWeights() {
    try (BrokerHarness h =
        harness(JobsConfig.newBuilder().weight("heavy", 3).weight("light", 1).build())) {
      Worker heavy = open(h, "h", "heavy");
      Worker light = open(h, "l", "light");
      Lease first = h.grant(heavy, PDF);
      List<RecordingAcquireCallback> lights = new ArrayList<>();
      List<RecordingAcquireCallback> heavies = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        lights.add(h.acquire(light, PDF, WAIT));
        heavies.add(h.acquire(heavy, PDF, WAIT));
      }

      // The first lease, granted on arrival, counts in heavy's share as a queued grant does.
      List<String> order = new ArrayList<>(List.of("heavy"));
      Lease current = first;
      for (int i = 0; i < 7; i++) {
        h.release(current.sessionId().equals(heavy.sessionId()) ? heavy : light, current);
        current = null;
        for (RecordingAcquireCallback c : heavies) {
          if (c.isAnswered() && current == null && h.isLive(c.granted())) {
            current = c.granted();
            order.add("heavy");
          }
        }
        for (RecordingAcquireCallback c : lights) {
          if (c.isAnswered() && current == null && h.isLive(c.granted())) {
            current = c.granted();
            order.add("light");
          }
        }
      }

      assertThat(order.stream().filter("heavy"::equals).count()).isEqualTo(6);
      assertThat(order.stream().filter("light"::equals).count()).isEqualTo(2);
    }
  }

  @Test
  void pump_jobBelowItsMin_servedBeforeAHeavierJob() {
    try (BrokerHarness h =
        harness(JobsConfig.newBuilder().weight("heavy", 100).min("small", PDF, 1).build())) {
      Worker heavy = open(h, "h", "heavy");
      Worker small = open(h, "s", "small");
      Lease held = h.grant(heavy, PDF);
      RecordingAcquireCallback heavyWaits = h.acquire(heavy, PDF, WAIT);
      RecordingAcquireCallback smallWaits = h.acquire(small, PDF, WAIT);

      h.release(heavy, held);

      assertThat(smallWaits.granted().sessionId()).isEqualTo(small.sessionId());
      assertThat(heavyWaits.isAnswered()).isFalse();
    }
  }

  @Test
  void updatePolicy_jobRemoved_sessionsRunAsDefaultAndWaitersKeepWaiting() {
    try (BrokerHarness h = harness(JobsConfig.newBuilder().weight("urgent", 3).build())) {
      Worker a = open(h, "a", "urgent");
      Lease held = h.grant(a, PDF);
      RecordingAcquireCallback waiting = h.acquire(a, PDF, WAIT);

      h.broker.updatePolicy(policy(JobsConfig.defaults()));

      assertThat(h.broker.status().jobs())
          .extracting(Views.Job::name)
          .containsExactly(JobsConfig.DEFAULT_JOB);
      assertThat(held(h, JobsConfig.DEFAULT_JOB, PDF)).isEqualTo(1);
      assertThat(job(h, JobsConfig.DEFAULT_JOB).waiting()).isEqualTo(1);
      h.release(a, held);
      assertThat(waiting.granted().sessionId()).isEqualTo(a.sessionId());
    }
  }

  // ------------------------------------------------------------ mins of a degraded pool

  /**
   * RENDER 8 shared by {@code jobs}, a TTL of one hour, degradation judged after a few outcomes.
   */
  private static BrokerHarness renderOfEight(JobsConfig jobs) {
    return new BrokerHarness(
        BrokerHarness.withoutHostLimits(
                BrokerConfig.newBuilder()
                    .heartbeatInterval(Duration.ofMinutes(10))
                    .sessionTtl(Duration.ofHours(1))
                    .limit(RENDER, 8)
                    .build())
            .withPerformance(BrokerHarness.JUDGE_QUICKLY)
            .withJobs(jobs),
        HeapProbe.NONE);
  }

  /** RENDER 8, halved to 4 by degradation; {@code jobs} share it. */
  private static BrokerHarness degraded(JobsConfig jobs) {
    BrokerHarness h = renderOfEight(jobs);
    Worker probe = open(h, "probe", "");
    for (int i = 0; i < 4; i++) {
      Lease lease = h.grant(probe, RENDER);
      h.broker.release(probe.sessionId(), lease.id(), PRINCIPAL, BrokerHarness.SLOW_FAILURE);
    }
    h.time.advance(Duration.ofSeconds(1));
    assertThat(h.broker.status().pools().stream().filter(p -> p.kind() == RENDER).findFirst().get())
        .extracting(Views.Pool::limit, Views.Pool::effectiveLimit)
        .containsExactly(8, 4);
    return h;
  }

  private static String jobStep(BrokerHarness h, Worker w) {
    return h.broker.explain(BrokerHarness.spec(w.sessionId(), RENDER, null, "", 0)).steps().stream()
        .filter(s -> s.rule().equals("job quota"))
        .map(Admission.Step::detail)
        .findFirst()
        .orElseThrow();
  }

  /**
   * {@code holder} takes the whole (degraded) pool, each of {@code waiters} in turn queues an
   * acquire, four rounds; then the holder's leases end one by one, each slot going to the queue.
   */
  private static void handOver(BrokerHarness h, Worker holder, Worker... waiters) {
    List<Lease> holds = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      holds.add(h.grant(holder, RENDER));
    }
    for (int i = 0; i < 4; i++) {
      for (Worker w : waiters) {
        h.acquire(w, RENDER, WAIT);
      }
    }
    for (Lease lease : holds) {
      h.release(holder, lease);
    }
  }

  /**
   * Jobs {@code a}, {@code b} and {@code c} each open a session; {@code c}'s takes the four slots
   * and hands them over ({@link #handOver}) to the three. Returns {@code b}'s session.
   */
  private static Worker handOverFromC(BrokerHarness h) {
    Worker a = open(h, "a", "a");
    Worker b = open(h, "b", "b");
    Worker c = open(h, "c", "c");
    handOver(h, c, c, a, b);
    return b;
  }

  /** The RENDER leases jobs {@code a}, {@code b} and {@code c} hold. */
  private static List<Integer> heldOfABC(BrokerHarness h) {
    return List.of(held(h, "a", RENDER), held(h, "b", RENDER), held(h, "c", RENDER));
  }

  @Test
  void pump_degradedBelowTheSumOfMins_jobWithoutMinStillGetsItsWeightedShare() {
    // urgent's min 4 is half of RENDER 8; degraded to 4, it is guaranteed 2, and bulk (same
    // weight, no min) shares the rest: it must not be starved by urgent's unscaled min.
    try (BrokerHarness h =
        degraded(JobsConfig.newBuilder().min("urgent", RENDER, 4).job("bulk").build())) {
      Worker urgent = open(h, "u", "urgent");
      Worker bulk = open(h, "b", "bulk");

      handOver(h, urgent, urgent, bulk);

      // The 4 slots freed went 2 and 2: urgent to its scaled min, bulk to its weighted share.
      assertThat(held(h, "urgent", RENDER)).isEqualTo(2);
      assertThat(held(h, "bulk", RENDER)).isEqualTo(2);
      assertThat(jobStep(h, urgent))
          .isEqualTo(
              "job urgent holds 2 RENDER, no max; at or above its min 2"
                  + " (jobs.urgent.min.render 4 scaled to the effective limit 4)");
    }
  }

  @Test
  void pump_degradedMinsSumToTheConfiguredLimit_guaranteesAddUpToTheEffectiveOne() {
    // a 5 + b 3 = 8, the whole configured pool; at 4 their exact shares are 2.5 + 1.5, rounded
    // to 3 + 1 (the fractions tie, and the slot rounding leaves goes to a, configured first): 4
    // in all, never more than the pool nor fewer (unscaled, a and b each got 2 of the 4).
    try (BrokerHarness h =
        degraded(
            JobsConfig.newBuilder().min("a", RENDER, 5).min("b", RENDER, 3).job("c").build())) {
      Worker b = handOverFromC(h);

      assertThat(heldOfABC(h)).containsExactly(3, 1, 0);
      assertThat(jobStep(h, b))
          .isEqualTo(
              "job b holds 1 RENDER, no max; at or above its min 1"
                  + " (jobs.b.min.render 3 scaled to the effective limit 4)");
    }
  }

  // ------------------------------------------- mins while a new leader holds slots back

  /**
   * RENDER 8, led anew from a replica holding {@code s-9} (worker {@code w9}, job {@code c}, no
   * leases), with 4 RENDER slots held back for one hour (the TTL) for leases the earlier leader may
   * have granted: 4 usable.
   */
  private static BrokerHarness holdingBack(JobsConfig jobs) {
    BrokerHarness h = renderOfEight(jobs);
    long wallMs = h.time.wallTime().toEpochMilli();
    h.broker.takeOver(
        7,
        new Fleet(
            List.of(new Fleet.SessionEntry("s-9", "w9", PRINCIPAL, Map.of(), 0, "c", wallMs)),
            List.of(),
            List.of()),
        kind -> kind == RENDER ? 4 : 0);
    h.time.advance(Duration.ofNanos(1_000)); // every host starts empty: refilled at 1e9/s
    return h;
  }

  private static Views.JobKind render(BrokerHarness h, String name) {
    return job(h, name).kinds().stream().filter(k -> k.kind() == RENDER).findFirst().orElseThrow();
  }

  private static JobsConfig minsOfThreeAndThree() {
    return JobsConfig.newBuilder().min("a", RENDER, 3).min("b", RENDER, 3).job("c").build();
  }

  @Test
  void pump_slotsHeldBackAfterAChangeOfLeader_minsScaleToTheUsablePart_jobWithoutMinIsServed() {
    // a 3 + b 3 of RENDER 8, 4 of it held back: the usable 4 guarantees exact 1.5 + 1.5, rounded
    // to 2 + 1 (the tie goes to a), and c (same weight, no min) shares the rest. Unscaled, a and b
    // took 2 and 2 as below their min 3, and c waited for up to a TTL.
    try (BrokerHarness h = holdingBack(minsOfThreeAndThree())) {
      Worker b = handOverFromC(h);

      assertThat(heldOfABC(h)).containsExactly(2, 1, 1);
      assertThat(render(h, "a"))
          .extracting(Views.JobKind::min, Views.JobKind::guaranteedMin)
          .containsExactly(3, 2);
      assertThat(render(h, "b").guaranteedMin()).isEqualTo(1);
      assertThat(jobStep(h, b))
          .isEqualTo(
              "job b holds 1 RENDER, no max; at or above its min 1 (jobs.b.min.render 3 scaled to"
                  + " 4 usable: the effective limit 8 less 4 held back after a change of cluster"
                  + " leader)");
    }
  }

  @Test
  void guaranteedMins_growBackAsReDeclaredLeasesFillHeldBackSlots_andWhenTheHoldBackEnds() {
    try (BrokerHarness h = holdingBack(minsOfThreeAndThree())) {
      assertThat(render(h, "a").guaranteedMin()).isEqualTo(2);
      assertThat(render(h, "b").guaranteedMin()).isEqualTo(1);

      // The earlier leader's two grants the replica missed are re-declared: each fills one
      // held-back slot, so 2 stay held back and 6 are usable (exact 2.25 + 2.25).
      long earlier = dev.berth.server.lease.FencingTokens.firstTokenOf(6);
      Broker.Opened resumed =
          h.broker.open(
              HelloSpec.validate(
                  "w9",
                  Map.of(),
                  0,
                  "s-9",
                  List.of(
                      new HelloSpec.HeldLease("l-1", earlier + 1, RENDER, "example.com", "", 0),
                      new HelloSpec.HeldLease("l-2", earlier + 2, RENDER, "example.com", "", 0)),
                  "c"),
              PRINCIPAL,
              new RecordingSessionChannel());
      assertThat(resumed.resumed()).isTrue();
      assertThat(h.broker.inUse(RENDER)).isEqualTo(2);
      assertThat(render(h, "a").guaranteedMin()).isEqualTo(2);
      assertThat(render(h, "b").guaranteedMin()).isEqualTo(2);

      // One TTL after the takeover nothing is held back: the mins are the configured ones again.
      h.time.advance(Duration.ofHours(1));

      assertThat(render(h, "a").guaranteedMin()).isEqualTo(3);
      assertThat(render(h, "b").guaranteedMin()).isEqualTo(3);
      Worker b = open(h, "b", "b");
      assertThat(jobStep(h, b))
          .isEqualTo(
              "job b holds 0 RENDER, no max; below its min 3: served" + " first when a slot frees");
    }
  }
}
