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

  private static Admission.Facts facts(
      boolean brokerDraining, boolean sessionDraining, boolean holdsWasm, int held, int inUse) {
    return new Admission.Facts(brokerDraining, sessionDraining, "s1", holdsWasm, held, inUse, 3);
  }

  @Test
  void evaluate_roomEverywhere_grantsAfterEveryCheck() {
    List<Admission.Step> steps = new ArrayList<>();

    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(RENDER), facts(false, false, false, 0, 1), steps);

    assertThat(verdict).isEqualTo(Admission.Verdict.GRANT);
    assertThat(steps)
        .extracting(Admission.Step::rule)
        .containsExactly("draining", "session limit", "pool RENDER");
    assertThat(steps).allMatch(Admission.Step::passed);
  }

  @Test
  void evaluate_brokerDraining_refusedDrainingBeforeAnyOtherCheck() {
    List<Admission.Step> steps = new ArrayList<>();

    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(RENDER), facts(true, false, false, 5, 5), steps);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.DRAINING);
    assertThat(verdict.blocker().waitable()).isFalse();
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
    assertThat(verdict.blocker().waitable()).isTrue();
    assertThat(verdict.refusal().reason()).isEqualTo(RefusalReason.EXHAUSTED);
    assertThat(verdict.refusal().retryAfterNanos()).isEqualTo(Duration.ofMillis(700).toNanos());
    assertThat(verdict.refusal().detail()).contains("s1").contains("1/1");
  }

  @Test
  void evaluate_poolFull_refusedExhaustedNamingThePool() {
    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(RENDER), facts(false, false, false, 0, 2), null);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.POOL_FULL);
    assertThat(verdict.blocker().waitable()).isTrue();
    assertThat(verdict.refusal().detail()).isEqualTo("pool RENDER 2/2 in use, 3 queued");
  }

  @Test
  void evaluate_wasmAlreadyHeldWithPoolFull_grantsTheExistingInstance() {
    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(WASM), facts(false, false, true, 1, 1), null);

    assertThat(verdict).isEqualTo(Admission.Verdict.GRANT);
  }

  @Test
  void evaluate_wasmNotHeldWithPoolFull_refusedPoolFull() {
    Admission.Verdict verdict =
        Admission.evaluate(CONFIG, spec(WASM), facts(false, false, false, 0, 1), null);

    assertThat(verdict.blocker()).isEqualTo(Admission.Blocker.POOL_FULL);
  }

  @Test
  void evaluate_noPerSessionLimit_skipsThatCheck() {
    List<Admission.Step> steps = new ArrayList<>();

    Admission.evaluate(CONFIG, spec(PDF), facts(false, false, false, 0, 0), steps);

    assertThat(steps).extracting(Admission.Step::rule).containsExactly("draining", "pool PDF");
  }
}
