package dev.berth.server.admission;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.config.BrokerConfig;
import dev.berth.server.lease.ResourceKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class AdmissionTest {
  private static final BrokerConfig CONFIG =
      BrokerConfig.newBuilder()
          .limit(RENDER, 2)
          .limit(WASM, 1)
          .perSessionLimit(RENDER, 1)
          .exhaustedRetryAfter(Duration.ofMillis(700))
          .drainDeadline(Duration.ofSeconds(9))
          .build();

  private static AcquireSpec spec(ResourceKind kind) {
    String url = kind == RENDER ? "https://example.com/" : "";
    return AcquireSpec.validate("s1", kind, url, "", null, "", 0, 0);
  }

  private static final Admission.RateFacts HOST_RATE =
      new Admission.RateFacts(
          true, 0, () -> () -> "host example.com: 2.0/s", () -> "rate_limit.default_rate");

  private static Admission.SessionFacts session(boolean draining, boolean holdsWasm, int held) {
    return new Admission.SessionFacts("s1", draining, holdsWasm, held);
  }

  private static Admission.PoolFacts pool(int inUse, int queued, int limit, String reason) {
    return new Admission.PoolFacts(inUse, queued, limit, reason);
  }

  private static Admission.Facts facts(
      boolean brokerDraining, boolean sessionDraining, boolean holdsWasm, int held, int inUse) {
    return new Admission.Facts(
        new Admission.BrokerFacts(brokerDraining, 0),
        session(sessionDraining, holdsWasm, held),
        pool(inUse, 3, 2, ""),
        Admission.Memory.NONE,
        HOST_RATE,
        Admission.JobFacts.DEFAULT);
  }

  private static Admission.Facts withMemory(Admission.Memory memory) {
    return new Admission.Facts(
        Admission.BrokerFacts.SERVING,
        session(false, false, 0),
        pool(0, 0, 2, ""),
        memory,
        HOST_RATE,
        Admission.JobFacts.DEFAULT);
  }

  private static Admission.Facts withRateWait(long nanos, String detail) {
    return new Admission.Facts(
        Admission.BrokerFacts.SERVING,
        session(false, false, 0),
        pool(0, 0, 2, ""),
        Admission.Memory.NONE,
        new Admission.RateFacts(
            !detail.isEmpty(), nanos, () -> () -> detail, () -> "rate_limit.default_rate"),
        Admission.JobFacts.DEFAULT);
  }

  @Test
  void evaluate_roomEverywhere_grantsAfterEveryCheck() {
    List<Admission.Step> steps = new ArrayList<>();

    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(RENDER), facts(false, false, false, 0, 1), steps);

    assertThat(verdict).isEqualTo(Admission.Verdict.GRANT);
    assertThat(steps)
        .extracting(Admission.Step::rule)
        .containsExactly(
            "draining",
            "memory pressure",
            "host rate",
            "restart recovery",
            "session limit",
            "job quota",
            "pool RENDER");
    assertThat(steps).allMatch(Admission.Step::passed);
  }

  @Test
  void evaluate_brokerDraining_refusedDrainingBeforeAnyOtherCheck() {
    List<Admission.Step> steps = new ArrayList<>();

    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(RENDER), facts(true, false, false, 5, 5), steps);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.DRAINING);
    assertThat(verdict.blocker().waitable(Long.MAX_VALUE, verdict.refusal())).isFalse();
    assertThat(verdict.refusal().reason()).isEqualTo(RefusalReason.DRAINING);
    assertThat(verdict.refusal().detail()).isEqualTo("broker is draining");
    assertThat(steps).singleElement().extracting(Admission.Step::passed).isEqualTo(false);
  }

  @Test
  void evaluate_sessionDraining_detailNamesSession() {
    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(PDF), facts(false, true, false, 0, 0), null);

    assertThat(verdict.refusal().reason()).isEqualTo(RefusalReason.DRAINING);
    assertThat(verdict.refusal().detail()).contains("session s1");
  }

  @Test
  void evaluate_sessionAtItsLimit_refusedExhaustedAndWaitable() {
    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(RENDER), facts(false, false, false, 1, 1), null);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.SESSION_LIMIT);
    assertThat(verdict.blocker().waitable(1, verdict.refusal())).isTrue();
    assertThat(verdict.refusal().reason()).isEqualTo(RefusalReason.EXHAUSTED);
    assertThat(verdict.refusal().retryAfterNanos()).isEqualTo(Duration.ofMillis(700).toNanos());
    assertThat(verdict.refusal().detail()).contains("s1").contains("1/1");
  }

  @Test
  void evaluate_poolFull_refusedExhaustedNamingThePool() {
    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(RENDER), facts(false, false, false, 0, 2), null);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.POOL_FULL);
    assertThat(verdict.blocker().waitable(1, verdict.refusal())).isTrue();
    assertThat(verdict.refusal().detail()).isEqualTo("pool RENDER 2/2 in use, 3 queued");
    assertThat(verdict.refusal().rule()).isEqualTo("pools.render.limit");
  }

  @Test
  void evaluate_wasmAlreadyHeldWithPoolFull_grantsTheExistingInstance() {
    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(WASM), facts(false, false, true, 1, 1), null);

    assertThat(verdict).isEqualTo(Admission.Verdict.GRANT);
  }

  @Test
  void evaluate_wasmNotHeldWithPoolFull_refusedPoolFull() {
    Admission.Facts wasmFull =
        new Admission.Facts(
            Admission.BrokerFacts.SERVING,
            session(false, false, 0),
            pool(1, 0, 1, ""),
            Admission.Memory.NONE,
            Admission.RateFacts.NONE,
            Admission.JobFacts.DEFAULT);
    Admission.Verdict verdict = Admission.evaluate(CONFIG, spec(WASM), wasmFull, null);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.POOL_FULL);
  }

  @Test
  void evaluate_noPerSessionLimit_skipsThatCheck() {
    List<Admission.Step> steps = new ArrayList<>();

    Admission.evaluate(CONFIG, spec(PDF), facts(false, false, false, 0, 0), steps);

    assertThat(steps)
        .extracting(Admission.Step::rule)
        .containsExactly(
            "draining",
            "memory pressure",
            "host rate",
            "restart recovery",
            "job quota",
            "pool PDF");
  }

  @Test
  void evaluate_fleetMemoryPressure_refusedMemoryPressureBlockingTheQueue() {
    Admission.Memory memory =
        new Admission.Memory(
            true,
            false,
            "fleet 900/1000 MB = 0.9 >= pressure_on 0.85",
            2_000,
            "memory.pressure_on");

    Admission.Verdict verdict = Admission.evaluate(CONFIG, spec(RENDER), withMemory(memory), null);

    assertThat(verdict.refusal().reason()).isEqualTo(RefusalReason.MEMORY_PRESSURE);
    assertThat(verdict.refusal().detail()).startsWith("fleet 900/1000 MB");
    assertThat(verdict.refusal().retryAfterNanos()).isEqualTo(2_000);
    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.FLEET_MEMORY);
    assertThat(verdict.blocker().blocksQueue()).isTrue();
  }

  @Test
  void evaluate_workerMemoryPressure_refusedButOthersMayPass() {
    Admission.Memory memory =
        new Admission.Memory(false, true, "worker w1 ...", 1, "memory.pressure_on");

    Admission.Verdict verdict = Admission.evaluate(CONFIG, spec(PDF), withMemory(memory), null);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.WORKER_MEMORY);
    assertThat(verdict.blocker().blocksQueue()).isFalse();
  }

  @Test
  void evaluate_wasmUnderMemoryPressure_granted() {
    Admission.Memory memory =
        new Admission.Memory(true, true, "fleet ...", 1, "memory.pressure_on");
    Admission.Facts f = withMemory(memory);
    Admission.Facts wasm =
        new Admission.Facts(
            Admission.BrokerFacts.SERVING,
            session(false, false, 0),
            pool(0, 0, 1, ""),
            memory,
            Admission.RateFacts.NONE,
            Admission.JobFacts.DEFAULT);

    assertThat(Admission.evaluate(CONFIG, spec(WASM), wasm, null))
        .isEqualTo(Admission.Verdict.GRANT);
    assertThat(f.memory().fleetBlocked()).isTrue();
  }

  @Test
  void evaluate_hostHasNoToken_refusedRateLimitedWithExactRetryAfter() {
    Admission.Verdict verdict =
        Admission.evaluate(
            CONFIG,
            spec(RENDER),
            withRateWait(340_000_000L, "host example.com: 2.0/s, next token in 340ms"),
            null);

    assertThat(verdict.refusal().reason()).isEqualTo(RefusalReason.RATE_LIMITED);
    assertThat(verdict.refusal().retryAfterNanos()).isEqualTo(340_000_000L);
    assertThat(verdict.refusal().detail())
        .isEqualTo("host example.com: 2.0/s, next token in 340ms");
    // The token must arrive before the wait runs out: a waiter is dead from its deadline on.
    assertThat(verdict.blocker().waitable(340_000_000L, verdict.refusal())).isFalse();
    assertThat(verdict.blocker().waitable(340_000_001L, verdict.refusal())).isTrue();
    assertThat(verdict.blocker().blocksQueue()).isFalse();
  }

  @Test
  void evaluate_effectiveLimitLowered_poolDetailSaysWhy() {
    Admission.Facts lowered =
        new Admission.Facts(
            Admission.BrokerFacts.SERVING,
            session(false, false, 0),
            pool(1, 0, 1, "degraded: score 0.7"),
            Admission.Memory.NONE,
            Admission.RateFacts.NONE,
            Admission.JobFacts.DEFAULT);

    Admission.Verdict verdict = Admission.evaluate(CONFIG, spec(PDF), lowered, null);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.POOL_FULL);
    assertThat(verdict.refusal().detail())
        .isEqualTo("pool PDF 1/1 in use, 0 queued (degraded: score 0.7)");
  }
}
