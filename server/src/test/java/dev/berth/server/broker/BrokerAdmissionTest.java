package dev.berth.server.broker;

import static dev.berth.server.broker.BrokerHarness.JUDGE_QUICKLY;
import static dev.berth.server.broker.BrokerHarness.PRINCIPAL;
import static dev.berth.server.broker.BrokerHarness.SLOW_FAILURE;
import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.BrokerHarness.Worker;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.ratelimit.HostStatus;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Admission beyond pool counts, through the broker on a fake clock: per-host token buckets and
 * their waits, memory pressure (fleet, worker, broker heap) with hysteresis and cleanup pushes,
 * degradation-adjusted limits, 429/503 feedback, and live policy updates.
 */
class BrokerAdmissionTest {
  private static final Duration HEARTBEAT = Duration.ofSeconds(2);

  /** Sessions outlive every test's clock, so no test has to keep them alive. */
  private static final BrokerConfig POOLS =
      BrokerConfig.newBuilder()
          .heartbeatInterval(HEARTBEAT)
          .sessionTtl(Duration.ofHours(1))
          .sweepInterval(Duration.ofMillis(250))
          .limit(RENDER, 8)
          .limit(PDF, 2)
          .limit(WASM, 4)
          .build();

  /** Host rates that never bind, for tests about something else. */
  private static final RateLimitConfig UNBOUNDED =
      RateLimitConfig.newBuilder().defaultRate(1e9).defaultBurst(1_000_000).build();

  /** 3 requests/s with a burst of 2: the next token after the burst is 1/3 s away. */
  private static final RateLimitConfig THREE_PER_SECOND =
      RateLimitConfig.newBuilder().defaultRate(3).defaultBurst(2).build();

  /** ⌈10^9 / 3⌉: the first nanosecond at which an empty 3/s bucket holds a whole token. */
  private static final long THIRD_OF_A_SECOND = 333_333_334L;

  private BrokerHarness h;
  private final Map<String, Long> seqs = new HashMap<>();

  @AfterEach
  void tearDown() {
    if (h != null) {
      h.close();
    }
  }

  private BrokerHarness start(Policy policy) {
    return start(policy, HeapProbe.NONE);
  }

  private BrokerHarness start(Policy policy, HeapProbe heap) {
    h = new BrokerHarness(policy, heap);
    return h;
  }

  private static Policy rates(RateLimitConfig rates) {
    return Policy.of(POOLS).withRateLimit(rates);
  }

  private static AcquireSpec spec(Worker w, ResourceKind kind, String host, Duration wait) {
    String url = host.isEmpty() ? "" : "https://" + host + "/page";
    return AcquireSpec.validate(w.sessionId(), kind, url, "", wait, "", 0, 0);
  }

  private RecordingAcquireCallback acquire(Worker w, ResourceKind kind, String host) {
    return h.acquire(spec(w, kind, host, null));
  }

  private RecordingAcquireCallback acquire(
      Worker w, ResourceKind kind, String host, Duration wait) {
    return h.acquire(spec(w, kind, host, wait));
  }

  private Lease render(Worker w, String host) {
    return acquire(w, RENDER, host).granted();
  }

  private PressureLevel heartbeat(Worker w, long usedMb, long limitMb) {
    long seq = seqs.merge(w.sessionId(), 1L, Long::sum);
    return h.broker.heartbeat(w.sessionId(), w.channel(), seq, usedMb, limitMb);
  }

  private void release(Worker w, Lease lease, Outcome outcome) {
    h.broker.release(w.sessionId(), lease.id(), PRINCIPAL, outcome);
  }

  /** Releases {@code lease} with the site's HTTP 429 and its Retry-After. */
  private void release429(Worker w, Lease lease, Duration siteRetryAfter) {
    release(
        w,
        lease,
        new Outcome(
            false, Duration.ofSeconds(1).toNanos(), 429, siteRetryAfter.toNanos(), "HTTP 429"));
  }

  /**
   * With a.example at {@code rate} and a burst of 1, a lease takes its token, two acquires queue
   * for it with the given waits, and the lease is released with HTTP 429 and {@code
   * siteRetryAfter}.
   */
  private List<RecordingAcquireCallback> waitThen429(
      double rate, Duration firstWait, Duration secondWait, Duration siteRetryAfter) {
    start(rates(RateLimitConfig.newBuilder().defaultRate(rate).defaultBurst(1).build()));
    Worker a = h.open("a");
    Worker b = h.open("b");
    Lease lease = render(a, "a.example");
    List<RecordingAcquireCallback> waiters =
        List.of(
            acquire(b, RENDER, "a.example", firstWait),
            acquire(b, RENDER, "a.example", secondWait));
    release429(a, lease, siteRetryAfter);
    return waiters;
  }

  private Views.Pool pool(ResourceKind kind) {
    return h.broker.status().pools().stream()
        .filter(p -> p.kind() == kind)
        .findFirst()
        .orElseThrow();
  }

  private HostStatus hostStatus(String host) {
    return h.broker.status().hotHosts().stream()
        .filter(s -> s.host().equals(host))
        .findFirst()
        .orElseThrow();
  }

  // ---------------------------------------------------------------- per-host rate limits

  @Test
  void acquire_refusalDetailReadAfterStateChanged_describesTheStateAtRefusal() {
    start(rates(THREE_PER_SECOND));
    Worker a = h.open("a");
    render(a, "a.example");
    render(a, "a.example");

    // A detail is written when first read, after the lock: it must still say what refused then.
    Decision.Refused first = acquire(a, RENDER, "a.example").refused();
    h.time.advance(Duration.ofMillis(100));
    Decision.Refused later = acquire(a, RENDER, "a.example").refused();
    h.time.advance(Duration.ofNanos(THIRD_OF_A_SECOND));
    render(a, "a.example");

    assertThat(first.detail()).isEqualTo("host a.example: 3.0/s, next token in 334ms");
    assertThat(later.detail()).isEqualTo("host a.example: 3.0/s, next token in 234ms");
    assertThat(first.rule()).isEqualTo("rate_limit.default_rate");
  }

  @Test
  void acquire_hostBurstSpent_refusedRateLimitedWithExactTimeToNextToken() {
    start(rates(THREE_PER_SECOND));
    Worker a = h.open("a");
    render(a, "a.example");
    render(a, "a.example");

    Decision.Refused refused = acquire(a, RENDER, "a.example").refused();

    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.retryAfterNanos()).isEqualTo(THIRD_OF_A_SECOND);
    assertThat(refused.detail()).isEqualTo("host a.example: 3.0/s, next token in 334ms");
    assertThat(h.broker.counters().refusals(RefusalReason.RATE_LIMITED)).isEqualTo(1);
    assertThat(hostStatus("a.example").refusals()).isEqualTo(1);
    // The same host's PDF with a URL shares the bucket; a PDF without one has no host.
    assertThat(acquire(a, PDF, "a.example").refused().reason())
        .isEqualTo(RefusalReason.RATE_LIMITED);
    acquire(a, PDF, "").granted();
    // Another host has its own bucket.
    render(a, "b.example");

    h.time.advance(Duration.ofNanos(THIRD_OF_A_SECOND - 1));
    assertThat(acquire(a, RENDER, "a.example").refused().retryAfterNanos()).isEqualTo(1);
    h.time.advance(Duration.ofNanos(1));
    render(a, "a.example");
  }

  @Test
  void acquire_waitLongerThanRetryAfter_grantedExactlyWhenTokenArrives() {
    start(rates(THREE_PER_SECOND));
    Worker a = h.open("a");
    render(a, "a.example");
    render(a, "a.example");
    long start = h.time.nanoTime();

    RecordingAcquireCallback waiting = acquire(a, RENDER, "a.example", Duration.ofSeconds(1));

    assertThat(waiting.isAnswered()).isFalse();
    assertThat(h.broker.queued(RENDER)).isEqualTo(1);
    h.time.advance(Duration.ofNanos(THIRD_OF_A_SECOND - 1));
    assertThat(waiting.isAnswered()).isFalse();
    h.time.advance(Duration.ofNanos(1));
    assertThat(waiting.granted().grantedAtNanos()).isEqualTo(start + THIRD_OF_A_SECOND);
    assertThat(h.broker.queued(RENDER)).isZero();
  }

  @Test
  void acquire_waitShorterThanRetryAfter_refusedAtOnce() {
    start(rates(THREE_PER_SECOND));
    Worker a = h.open("a");
    render(a, "a.example");
    render(a, "a.example");

    Decision.Refused refused =
        acquire(a, RENDER, "a.example", Duration.ofNanos(THIRD_OF_A_SECOND - 1)).refused();

    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.retryAfterNanos()).isEqualTo(THIRD_OF_A_SECOND);
    assertThat(h.broker.queued(RENDER)).isZero();
  }

  @Test
  void acquire_waitEqualToRetryAfter_refusedAtOnceNotTimedOutLater() {
    // A waiter is dead from its deadline on, so it could never take a token arriving then.
    start(rates(THREE_PER_SECOND));
    Worker a = h.open("a");
    render(a, "a.example");
    render(a, "a.example");

    Decision.Refused refused =
        acquire(a, RENDER, "a.example", Duration.ofNanos(THIRD_OF_A_SECOND)).refused();

    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.retryAfterNanos()).isEqualTo(THIRD_OF_A_SECOND);
    assertThat(h.broker.queued(RENDER)).isZero();
  }

  @Test
  void acquire_rateLimitedWaiterOvertaken_refusedWhenItsNextTokenComesAfterItsWait() {
    start(rates(THREE_PER_SECOND));
    Worker a = h.open("a");
    render(a, "a.example");
    render(a, "a.example");
    RecordingAcquireCallback low = acquire(a, RENDER, "a.example", Duration.ofMillis(400));
    // Of a higher priority, so the low one's place in the queue is no reason to refuse it at once.
    RecordingAcquireCallback high =
        h.acquire(
            AcquireSpec.validate(
                a.sessionId(),
                RENDER,
                "https://a.example/page",
                "",
                Duration.ofMillis(400),
                "",
                5,
                0));

    h.time.advance(Duration.ofNanos(THIRD_OF_A_SECOND));

    // The token of 333 ms goes to the high waiter; the next comes at 667 ms, after the low one's
    // wait: it is answered now, as a newcomer with 67 ms to wait would be, not at 400 ms.
    high.granted();
    Decision.Refused refused = low.refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.rule()).isEqualTo("rate_limit.default_rate");
    assertThat(refused.retryAfterNanos()).isBetween(THIRD_OF_A_SECOND - 1, THIRD_OF_A_SECOND);
    assertThat(refused.detail())
        .isEqualTo(
            "host a.example: 3.0/s, next token in 334ms; this acquire's wait ends in 67ms,"
                + " before then");
    assertThat(h.broker.queued(RENDER)).isZero();
    assertThat(h.broker.hostTokensQueued()).isEmpty();
  }

  @Test
  void release_http429PausesPastAWaitersWait_waiterRefusedAtOnceLongerWaitKept() {
    List<RecordingAcquireCallback> waiters =
        waitThen429(2, Duration.ofSeconds(2), Duration.ofSeconds(40), Duration.ofSeconds(30));
    RecordingAcquireCallback brief = waiters.get(0);
    RecordingAcquireCallback patient = waiters.get(1);

    // The site paused the host for 30 s, and its spent bucket refills at the halved rate from
    // then: the next token comes at 31 s. A wait of 2 s cannot see it, so it is answered now
    // rather than sit out its wait for a TIMEOUT; the wait of 40 s can, and waits on.
    Decision.Refused refused = brief.refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.retryAfterNanos()).isEqualTo(Duration.ofSeconds(31).toNanos());
    assertThat(refused.detail())
        .isEqualTo(
            "host a.example: paused 30.0s after HTTP 429 (rate 1.0/s of 2.0/s); this acquire's"
                + " wait ends in 2.0s, before then");
    assertThat(patient.isAnswered()).isFalse();
    assertThat(h.broker.hostTokensQueued()).isEqualTo(Map.of("a.example", 1));

    h.time.advance(Duration.ofSeconds(31));
    patient.granted();
  }

  @Test
  void release_http429OfAPdfLease_renderWaiterForTheHostPastItsWait_refusedAtOnce() {
    start(rates(RateLimitConfig.newBuilder().defaultRate(2).defaultBurst(1).build()));
    Worker a = h.open("a");
    Worker b = h.open("b");
    Lease pdf = acquire(a, PDF, "a.example").granted();
    RecordingAcquireCallback render = acquire(b, RENDER, "a.example", Duration.ofSeconds(2));

    release429(a, pdf, Duration.ofSeconds(30));

    // RENDER and PDF share the host's bucket: the PDF's 429 pauses it past the RENDER waiter's
    // wait, which is answered now, not at its next wake.
    Decision.Refused refused = render.refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.retryAfterNanos()).isEqualTo(Duration.ofSeconds(31).toNanos());
    assertThat(h.broker.hostTokensQueued()).isEmpty();
  }

  @Test
  void release_http429_waiterBehindAnotherForTheHostPastItsWait_refusedTheFirstKept() {
    List<RecordingAcquireCallback> waiters =
        waitThen429(3, Duration.ofSeconds(10), Duration.ofSeconds(10), Duration.ofSeconds(9));
    RecordingAcquireCallback first = waiters.get(0);
    RecordingAcquireCallback second = waiters.get(1);

    // Paused for 9 s, then refilled at half the rate (1.5/s): the first waiter's token comes at
    // 9.67 s, within its wait; the second's 2/3 s later, at 10.33 s, after its wait of 10 s.
    assertThat(first.isAnswered()).isFalse();
    Decision.Refused refused = second.refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.retryAfterNanos()).isBetween(10_333_333_332L, 10_333_333_334L);
    assertThat(refused.detail())
        .isEqualTo(
            "host a.example: paused 9.0s after HTTP 429 (rate 1.5/s of 3.0/s); 1 queued acquire"
                + " takes its tokens first, so one is left for this in about 10.4s; this"
                + " acquire's wait ends in 10.0s, before then");

    h.time.advance(Duration.ofMillis(9_667));
    first.granted();
  }

  @Test
  void acquire_rateLimitedBehindQueuedWaitersForLongerThanItsWait_refusedAtOnce() {
    start(rates(THREE_PER_SECOND));
    Worker a = h.open("a");
    Worker b = h.open("b");
    render(a, "a.example");
    render(a, "a.example");
    RecordingAcquireCallback first = acquire(a, RENDER, "a.example", Duration.ofMillis(400));

    // The first waiter takes the token of 333 ms; the next comes at 667 ms, after this one's wait.
    Decision.Refused refused = acquire(b, RENDER, "a.example", Duration.ofMillis(400)).refused();

    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.rule()).isEqualTo("rate_limit.default_rate");
    assertThat(refused.retryAfterNanos()).isBetween(666_666_666L, 666_666_668L);
    assertThat(refused.detail())
        .isEqualTo(
            "host a.example: 3.0/s, next token in 334ms; 1 queued acquire takes its tokens first,"
                + " so one is left for this in about 667ms");
    assertThat(h.broker.queued(RENDER)).isEqualTo(1);
    // Asked without a wait, and explained, it is told the same: not the token the waiter takes.
    assertThat(acquire(b, RENDER, "a.example").refused()).isEqualTo(refused);
    Views.Explained explained = h.broker.explain(spec(b, RENDER, "a.example", null));
    assertThat(explained.verdict().refusal()).isEqualTo(refused);
    assertThat(explained.steps().get(explained.steps().size() - 1))
        .isEqualTo(new Admission.Step("host queue", false, refused.detail()));

    // A longer wait sees its token come in time, and waits for it after the first.
    RecordingAcquireCallback patient = acquire(b, RENDER, "a.example", Duration.ofMillis(700));
    h.time.advance(Duration.ofMillis(400));
    first.granted();
    h.time.advance(Duration.ofMillis(300));
    patient.granted();
  }

  @Test
  void acquire_poolFullForHost_consumesNoHostToken() {
    start(
        Policy.of(POOLS.toBuilder().limit(RENDER, 3).build())
            .withRateLimit(UNBOUNDED.toBuilder().host("x.example", 0.001, 3).build()));
    Worker a = h.open("a");
    List<Lease> others =
        List.of(render(a, "a.example"), render(a, "b.example"), render(a, "c.example"));

    for (int i = 0; i < 5; i++) {
      Decision.Refused refused = acquire(a, RENDER, "x.example").refused();
      assertThat(refused.reason()).isEqualTo(RefusalReason.EXHAUSTED);
    }
    others.forEach(l -> release(a, l, Outcome.UNKNOWN));

    // The whole burst is still there, and no more.
    for (int i = 0; i < 3; i++) {
      render(a, "x.example");
    }
    assertThat(acquire(a, RENDER, "x.example").refused().reason())
        .isEqualTo(RefusalReason.RATE_LIMITED);
  }

  @Test
  void release_headWaiterRateLimited_passedOverForAnotherHost() {
    start(
        Policy.of(POOLS.toBuilder().limit(RENDER, 1).build())
            .withRateLimit(RateLimitConfig.newBuilder().defaultRate(3).defaultBurst(1).build()));
    Worker a = h.open("a");
    release(a, render(a, "x.example"), Outcome.UNKNOWN); // x.example's only token is spent
    long start = h.time.nanoTime();
    Lease held = render(a, "z.example");
    RecordingAcquireCallback x = acquire(a, RENDER, "x.example", Duration.ofSeconds(10));
    RecordingAcquireCallback y = acquire(a, RENDER, "y.example", Duration.ofSeconds(10));
    assertThat(h.broker.queued(RENDER)).isEqualTo(2);

    release(a, held, Outcome.UNKNOWN);

    assertThat(x.isAnswered()).as("x.example has no token yet").isFalse();
    Lease yLease = y.granted();
    release(a, yLease, Outcome.UNKNOWN);
    assertThat(x.isAnswered()).isFalse();
    h.time.advance(Duration.ofNanos(start + THIRD_OF_A_SECOND - h.time.nanoTime()));
    assertThat(x.granted().grantedAtNanos()).isEqualTo(start + THIRD_OF_A_SECOND);
    assertThat(h.broker.queued(RENDER)).isZero();
  }

  @Test
  void acquire_headWaiterRateLimited_newAcquireForAnotherHostGrantedAtOnce() {
    start(rates(RateLimitConfig.newBuilder().defaultRate(3).defaultBurst(1).build()));
    Worker a = h.open("a");
    render(a, "x.example");
    RecordingAcquireCallback x = acquire(a, RENDER, "x.example", Duration.ofSeconds(10));

    render(a, "y.example");

    assertThat(x.isAnswered()).isFalse();
    assertThat(h.broker.queued(RENDER)).isEqualTo(1);
  }

  @Test
  void release_http429WithSiteRetryAfter_pausesThatHostOnly() {
    start(rates(RateLimitConfig.defaults())); // 2/s, burst 4
    Worker a = h.open("a");
    Lease lease = render(a, "a.example");

    release429(a, lease, Duration.ofSeconds(30));

    Decision.Refused refused = acquire(a, RENDER, "a.example").refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(refused.retryAfterNanos()).isEqualTo(Duration.ofSeconds(30).toNanos());
    assertThat(refused.detail())
        .isEqualTo("host a.example: paused 30.0s after HTTP 429 (rate 1.0/s of 2.0/s)");
    assertThat(hostStatus("a.example").reason())
        .contains("HTTP 429", "site Retry-After 30.0s", "rate 1.0/s of 2.0/s");
    render(a, "b.example");

    // After the pause one request goes at once; the halved rate paces the rest.
    h.time.advance(Duration.ofSeconds(30));
    render(a, "a.example");
    Decision.Refused paced = acquire(a, RENDER, "a.example").refused();
    assertThat(paced.retryAfterNanos()).isEqualTo(Duration.ofSeconds(1).toNanos());
  }

  // ---------------------------------------------------------------- live policy updates

  @Test
  void updatePolicy_newHostRates_applyLiveWithoutDroppingLeases() {
    RateLimitConfig slow = RateLimitConfig.newBuilder().defaultRate(0.1).defaultBurst(1).build();
    start(rates(slow));
    Worker a = h.open("a");
    Lease held = render(a, "a.example");
    RecordingAcquireCallback waiting = acquire(a, RENDER, "a.example", Duration.ofSeconds(60));
    assertThat(waiting.isAnswered()).isFalse();

    h.broker.updatePolicy(
        h.broker.policy().withRateLimit(slow.toBuilder().defaultRate(100).defaultBurst(5).build()));

    assertThat(h.isLive(held)).isTrue();
    assertThat(h.broker.inUse(RENDER)).isEqualTo(1);
    // The spent bucket now refills at 100/s: a token in 10 ms instead of 10 s.
    h.time.advance(Duration.ofNanos(10_000_000 - 1));
    assertThat(waiting.isAnswered()).isFalse();
    h.time.advance(Duration.ofNanos(1));
    waiting.granted();
    assertThat(h.isLive(held)).isTrue();
  }

  // ---------------------------------------------------------------- memory pressure

  private static final MemoryConfig FLEET_4000 =
      MemoryConfig.newBuilder().fleetLimitMb(4000).cleanupSessions(1).build();

  private static Policy memory(MemoryConfig memory) {
    return Policy.of(POOLS).withRateLimit(UNBOUNDED).withMemory(memory);
  }

  @Test
  void heartbeat_fleetAbovePressureOn_renderAndPdfRefusedWasmGrantedLeasesKept() {
    start(memory(FLEET_4000));
    Worker a = h.open("a");
    Worker b = h.open("b");
    Lease held = render(a, "a.example");

    PressureLevel told = heartbeat(a, 3500, 0);

    assertThat(told).isEqualTo(PressureLevel.ELEVATED);
    String trigger = "fleet 3500/4000 MB = 0.88 >= pressure_on 0.85";
    Decision.Refused render = acquire(b, RENDER, "b.example").refused();
    assertThat(render.reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
    assertThat(render.retryAfterNanos()).isEqualTo(HEARTBEAT.toNanos());
    assertThat(render.detail()).isEqualTo(trigger);
    assertThat(acquire(b, PDF, "").refused().reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
    assertThat(acquire(b, WASM, "").granted().kind()).isEqualTo(WASM);
    assertThat(h.isLive(held)).isTrue();
    assertThat(heartbeat(b, 0, 0)).isEqualTo(PressureLevel.ELEVATED);
    assertThat(h.broker.counters().refusals(RefusalReason.MEMORY_PRESSURE)).isEqualTo(2);
    Views.Pressure pressure = h.broker.status().pressure();
    assertThat(pressure.level()).isEqualTo(PressureLevel.ELEVATED);
    assertThat(pressure.fleetUsedMb()).isEqualTo(3500);
    assertThat(pressure.fleetLimitMb()).isEqualTo(4000);
    assertThat(pressure.trigger()).isEqualTo(trigger);

    assertThat(heartbeat(a, 3900, 0)).isEqualTo(PressureLevel.CRITICAL);
  }

  @Test
  void heartbeat_usageBetweenOffAndOn_staysRefusedBelowOffWaitersGranted() {
    start(memory(FLEET_4000));
    Worker a = h.open("a");
    Worker b = h.open("b");
    heartbeat(a, 3500, 0);
    RecordingAcquireCallback waiting = acquire(b, RENDER, "b.example", Duration.ofSeconds(30));
    assertThat(waiting.isAnswered()).isFalse();

    assertThat(heartbeat(a, 3200, 0)).isEqualTo(PressureLevel.ELEVATED); // 0.80: no flapping
    assertThat(waiting.isAnswered()).isFalse();
    assertThat(acquire(b, PDF, "").refused().reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);

    assertThat(heartbeat(a, 3000, 0)).isEqualTo(PressureLevel.NONE); // 0.75 = pressure_off

    assertThat(waiting.granted().sessionId()).isEqualTo(b.sessionId());
    assertThat(h.broker.status().pressure().level()).isEqualTo(PressureLevel.NONE);
  }

  @Test
  void acquire_memoryWaiterOutwaited_timeoutNamesTheMemoryRule() {
    start(memory(FLEET_4000));
    Worker a = h.open("a");
    heartbeat(a, 3500, 0);
    RecordingAcquireCallback waiting = acquire(a, RENDER, "a.example", Duration.ofSeconds(1));

    h.time.advance(Duration.ofSeconds(1));

    Decision.Refused refused = waiting.refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.TIMEOUT);
    assertThat(refused.detail())
        .isEqualTo("waited 1s for a RENDER slot: fleet 3500/4000 MB = 0.88 >= pressure_on 0.85");
    assertThat(refused.retryAfterNanos()).isEqualTo(HEARTBEAT.toNanos());
  }

  @Test
  void sweep_fleetPressure_heaviestSessionPushedCleanupOncePerInterval() {
    start(memory(FLEET_4000));
    Worker a = h.open("a");
    Worker b = h.open("b");
    heartbeat(a, 3000, 0);
    heartbeat(b, 500, 0);

    h.broker.sweep();
    h.broker.sweep();

    // 3500 MB must come down to pressure_off (3000 MB); the one session asked is the heaviest.
    assertThat(a.channel().cleanups())
        .singleElement()
        .satisfies(
            c -> {
              assertThat(c.targetFreeMb()).isEqualTo(500);
              assertThat(c.reason()).isEqualTo("fleet 3500/4000 MB = 0.88 >= pressure_on 0.85");
            });
    assertThat(b.channel().cleanups()).isEmpty();
    h.time.advance(FLEET_4000.cleanupInterval());
    assertThat(a.channel().cleanups()).hasSize(2);
  }

  @Test
  void heartbeat_workerAboveItsOwnLimit_blocksOnlyThatWorker() {
    start(memory(MemoryConfig.defaults())); // no fleet limit: the sum of worker limits
    Worker a = h.open("a");
    Worker b = h.open("b");

    assertThat(heartbeat(a, 900, 1000)).isEqualTo(PressureLevel.ELEVATED);
    assertThat(heartbeat(b, 100, 8000)).isEqualTo(PressureLevel.NONE);

    Decision.Refused refused = acquire(a, RENDER, "a.example").refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
    assertThat(refused.detail())
        .isEqualTo(
            "worker a (session " + a.sessionId() + ") 900/1000 MB = 0.90 >= pressure_on 0.85");
    render(b, "b.example");
    assertThat(h.broker.status().pressure().level()).isEqualTo(PressureLevel.NONE);

    RecordingAcquireCallback waiting = acquire(a, RENDER, "a.example", Duration.ofSeconds(30));
    assertThat(waiting.isAnswered()).isFalse();
    render(b, "b.example"); // others are still granted while a waits
    // 500 MB plus the 300 MB the grant charges stays below pressure_on.
    assertThat(heartbeat(a, 500, 0)).isEqualTo(PressureLevel.NONE);
    waiting.granted();
  }

  @Test
  void heartbeat_limitDeclaredOnlyInHello_measuredAgainstIt() {
    start(memory(MemoryConfig.defaults()));
    RecordingSessionChannel channel = new RecordingSessionChannel();
    Broker.Opened opened =
        h.broker.open(HelloSpec.validate("a", Map.of(), 1000, "", List.of()), PRINCIPAL, channel);
    Worker a = new Worker(opened.sessionId(), channel);

    assertThat(heartbeat(a, 900, 0)).isEqualTo(PressureLevel.ELEVATED);

    Decision.Refused refused = acquire(a, RENDER, "a.example").refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
    assertThat(refused.detail()).contains("900/1000 MB");
  }

  @Test
  void goodbye_heaviestSessionLeaves_waitingAcquiresGrantedAtOnce() {
    start(memory(FLEET_4000));
    Worker a = h.open("a");
    Worker b = h.open("b");
    heartbeat(a, 3500, 0);
    RecordingAcquireCallback waiting = acquire(b, RENDER, "b.example", Duration.ofSeconds(30));
    assertThat(waiting.isAnswered()).isFalse();

    h.broker.goodbye(a.sessionId(), a.channel());

    assertThat(waiting.granted().sessionId()).isEqualTo(b.sessionId());
  }

  /** A heap whose use the test sets. */
  private static final class FakeHeap implements HeapProbe {
    volatile long usedBytes;

    @Override
    public long usedBytes() {
      return usedBytes;
    }

    @Override
    public long maxBytes() {
      return 1000L << 20;
    }
  }

  @Test
  void sweep_brokerHeapAboveHeapOn_refusesRenderUntilItFalls() {
    FakeHeap heap = new FakeHeap();
    start(memory(MemoryConfig.defaults()), heap); // broker_heap_on 0.9, broker_heap_off 0.8
    Worker a = h.open("a");
    heap.usedBytes = 920L << 20;

    h.broker.sweep();

    String trigger = "broker heap 920/1000 MB = 0.92 >= broker_heap_on 0.9";
    Decision.Refused refused = acquire(a, RENDER, "a.example").refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
    assertThat(refused.detail()).isEqualTo(trigger);
    acquire(a, WASM, "").granted();
    assertThat(h.broker.status().pressure().trigger()).isEqualTo(trigger);
    assertThat(heartbeat(a, 0, 0)).isEqualTo(PressureLevel.ELEVATED);
    assertThat(a.channel().cleanups()).as("workers cannot free the broker's heap").isEmpty();
    RecordingAcquireCallback waiting = acquire(a, RENDER, "a.example", Duration.ofSeconds(30));

    heap.usedBytes = 850L << 20; // between off and on: still on
    h.broker.sweep();
    assertThat(waiting.isAnswered()).isFalse();
    heap.usedBytes = 800L << 20;
    h.broker.sweep();

    waiting.granted();
  }

  // ---------------------------------------------------------------- degradation

  private static final Outcome QUICK_SUCCESS =
      new Outcome(true, Duration.ofMillis(100).toNanos(), 200, 0, "");

  private void releaseOutcomes(Worker w, int n, Outcome outcome) {
    for (int i = 0; i < n; i++) {
      release(w, render(w, "h" + i + ".example"), outcome);
    }
  }

  private List<LimitChange> recordLimitChanges() {
    List<LimitChange> changes = new ArrayList<>();
    h.broker.addListener(
        new BrokerListener() {
          @Override
          public void limitChanged(LimitChange change) {
            changes.add(change);
          }
        });
    return changes;
  }

  @Test
  void sweep_slowFailedOutcomes_lowerEffectiveRenderLimitDownToTheFloor() {
    start(Policy.of(POOLS).withRateLimit(UNBOUNDED).withPerformance(JUDGE_QUICKLY));
    Worker a = h.open("a");
    h.time.advance(Duration.ofMillis(250)); // the first sweep starts the adjust interval
    releaseOutcomes(a, 4, SLOW_FAILURE);

    h.time.advance(Duration.ofMillis(4_750));
    assertThat(pool(RENDER).effectiveLimit()).as("before the adjust interval").isEqualTo(8);
    h.time.advance(Duration.ofMillis(250));

    String reason =
        "degraded: score 1.00 > 0.5 (failures 100%, p95 3.0s vs target 1s); limit 8 -> 4";
    assertThat(pool(RENDER))
        .satisfies(
            p -> {
              assertThat(p.limit()).isEqualTo(8);
              assertThat(p.effectiveLimit()).isEqualTo(4);
              assertThat(p.reason()).isEqualTo(reason);
            });
    assertThat(h.broker.status().degradationScore()).isEqualTo(1.0);
    assertThat(pool(PDF).effectiveLimit()).isEqualTo(2);
    for (int i = 0; i < 4; i++) {
      render(a, "h" + i + ".example");
    }
    Decision.Refused refused = acquire(a, RENDER, "x.example").refused();
    assertThat(refused.reason()).isEqualTo(RefusalReason.EXHAUSTED);
    assertThat(refused.detail()).isEqualTo("pool RENDER 4/4 in use, 0 queued (" + reason + ")");

    // Halving again stops at the floor, however bad it stays.
    for (int round = 0; round < 3; round++) {
      h.broker.leases().forEach(l -> release(a, l, SLOW_FAILURE));
      releaseOutcomes(a, 4, SLOW_FAILURE);
      h.time.advance(JUDGE_QUICKLY.adjustInterval());
      assertThat(pool(RENDER).effectiveLimit()).isEqualTo(2);
    }
  }

  @Test
  void sweep_healthyAfterDegradation_limitGrowsBackAdditivelyToConfiguredNeverAbove() {
    start(Policy.of(POOLS).withRateLimit(UNBOUNDED).withPerformance(JUDGE_QUICKLY));
    List<LimitChange> changes = recordLimitChanges();
    Worker a = h.open("a");
    releaseOutcomes(a, 4, SLOW_FAILURE);
    h.time.advance(Duration.ofMillis(250));
    assertThat(pool(RENDER).effectiveLimit()).isEqualTo(4);
    for (int i = 0; i < 4; i++) {
      render(a, "h" + i + ".example");
    }
    RecordingAcquireCallback waiting = acquire(a, RENDER, "w.example", Duration.ofMinutes(1));

    // Once the window has dropped the bad outcomes the limit grows, and a raised limit grants.
    h.time.advance(Duration.ofSeconds(20));
    assertThat(waiting.granted().host()).isEqualTo("w.example");
    h.broker.leases().forEach(l -> release(a, l, QUICK_SUCCESS));
    h.time.advance(Duration.ofSeconds(60));

    assertThat(changes)
        .extracting(LimitChange::from, LimitChange::to)
        .containsExactly(tuple(8, 4), tuple(4, 5), tuple(5, 6), tuple(6, 7), tuple(7, 8));
    assertThat(changes.get(1).reason()).startsWith("recovering: score 0.00 <= 0.5");
    assertThat(changes.get(4).reason())
        .isEqualTo(
            "recovered: score 0.00 <= 0.5 (failures 0%, p95 100ms vs target 1s); limit 7 -> 8");
    assertThat(pool(RENDER).effectiveLimit()).isEqualTo(8);
    assertThat(pool(RENDER).reason()).isEmpty();
  }

  @Test
  void sweep_failuresAloneWithDefaultThreshold_limitKept() {
    start(Policy.of(POOLS).withRateLimit(UNBOUNDED).withPerformance(JUDGE_QUICKLY));
    Worker a = h.open("a");
    releaseOutcomes(a, 4, new Outcome(false, 0, 500, 0, "HTTP 500"));

    h.time.advance(Duration.ofSeconds(6));

    // Failures make at most half the score: lowering concurrency helps overload, not broken sites.
    assertThat(h.broker.status().degradationScore()).isEqualTo(0.5);
    assertThat(pool(RENDER).effectiveLimit()).isEqualTo(8);
  }
}
