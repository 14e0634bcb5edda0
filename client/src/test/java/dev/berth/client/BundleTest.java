package dev.berth.client;

import static dev.berth.client.TestBroker.granted;
import static dev.berth.client.TestBroker.until;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.internal.SessionProbe;
import dev.berth.server.lease.LeaseEnd;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Bundles against a real in-process broker on the fake ticker, on the session stream (the SDK's
 * default) and as unary calls: every lease or none, a refusal that names the item, closing the
 * bundle releases each lease, a retry that waits the refusal's retry-after, and a bundle in flight
 * when the stream drops sent again with its request id and granted once.
 */
class BundleTest {
  private static final dev.berth.server.lease.ResourceKind SERVER_RENDER =
      dev.berth.server.lease.ResourceKind.RENDER;
  private static final dev.berth.server.lease.ResourceKind SERVER_PDF =
      dev.berth.server.lease.ResourceKind.PDF;

  private TestBroker broker;

  @AfterEach
  void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  private BrokerClient client(boolean unary) {
    BrokerClient.Builder builder = broker.clientBuilder();
    return broker.client(unary ? builder.unaryLeaseCalls() : builder);
  }

  private static BundleOptions page(String path) {
    return BundleOptions.of(
        AcquireOptions.render("https://example.com/" + path), AcquireOptions.pdf());
  }

  private static LeaseBundle granted(BundleResult result) {
    if (result instanceof BundleResult.Granted g) {
      return g.leases();
    }
    throw new AssertionError("expected a grant, got " + result);
  }

  @ParameterizedTest(name = "unary={0}")
  @ValueSource(booleans = {false, true})
  void acquireBundle_fits_grantsEveryLeaseInItemOrderAndCloseReleasesEach(boolean unary) {
    broker = new TestBroker();
    try (BrokerClient client = client(unary);
        WorkerSession session = client.openSession("worker-1")) {
      LeaseBundle bundle = granted(session.acquireBundle(page("a")));

      assertThat(bundle.leases())
          .extracting(Lease::kind)
          .containsExactly(ResourceKind.RENDER, ResourceKind.PDF);
      assertThat(bundle.get(0).host()).isEqualTo("example.com");
      assertThat(bundle.first(ResourceKind.PDF)).isSameAs(bundle.get(1));
      assertThat(bundle.isValid()).isTrue();
      assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      assertThat(broker.inUse(SERVER_PDF)).isEqualTo(1);
      bundle.get(1).recordOutcome(Outcome.failed("print failed"));

      bundle.close();

      assertThat(broker.inUse(SERVER_RENDER)).isZero();
      assertThat(broker.inUse(SERVER_PDF)).isZero();
      assertThat(broker.endOf(bundle.get(0).leaseId()).how()).isEqualTo(LeaseEnd.RELEASED);
      assertThat(broker.endOf(bundle.get(1).leaseId()).outcome().success()).isFalse();
      assertThat(bundle.isValid()).isFalse();
    }
  }

  @ParameterizedTest(name = "unary={0}")
  @ValueSource(booleans = {false, true})
  void acquireBundle_oneItemFull_refusedNamingItemAndRuleAndNothingHeld(boolean unary) {
    broker =
        new TestBroker(
            TestBroker.config().limit(SERVER_PDF, 1).exhaustedRetryAfter(Duration.ofSeconds(2)));
    try (BrokerClient client = client(unary);
        WorkerSession session = client.openSession("worker-1");
        Lease pdf = TestBroker.granted(session.acquire(AcquireOptions.pdf()))) {

      BundleResult result = session.acquireBundle(page("a"));

      assertThat(result.isGranted()).isFalse();
      BundleResult.Refused refused = (BundleResult.Refused) result;
      assertThat(refused.item()).isEqualTo(1);
      assertThat(refused.kind()).isEqualTo(ResourceKind.PDF);
      assertThat(refused.reason()).isEqualTo(RefusalReason.EXHAUSTED);
      assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(2));
      assertThat(refused.detail()).contains("pool PDF 1/1 in use");
      assertThat(broker.inUse(SERVER_RENDER)).as("no partial hold").isZero();
      assertThat(broker.broker.leases()).extracting(l -> l.id()).containsExactly(pdf.leaseId());
    }
  }

  @Test
  void acquireBundleWithRetry_exhausted_waitsRetryAfterThenGrantedWhenCapacityFrees() {
    broker =
        new TestBroker(
            TestBroker.config().limit(SERVER_PDF, 1).exhaustedRetryAfter(Duration.ofSeconds(2)));
    FakeTicker ticker = broker.ticker;
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      Lease held = TestBroker.granted(session.acquire(AcquireOptions.pdf()));
      ticker.onSleep(held::close); // capacity frees while the caller waits

      BundleResult result =
          session.acquireBundleWithRetry(
              page("a").toBuilder().requestId("page-a").build(), Duration.ofSeconds(30));

      assertThat(ticker.sleeps()).hasSize(1);
      assertThat(ticker.sleeps().get(0))
          .as("retryAfter, stretched by up to a tenth")
          .isBetween(Duration.ofSeconds(2), Duration.ofMillis(2200));
      try (LeaseBundle bundle = granted(result)) {
        assertThat(bundle.leases()).hasSize(2);
        assertThat(broker.inUse(SERVER_PDF)).isEqualTo(1);
        assertThat(broker.inUse(SERVER_RENDER)).isEqualTo(1);
      }
    }
  }

  @Test
  void acquireBundleWithRetry_retryAfterBeyondDeadline_returnsRefusalWithoutWaiting() {
    broker =
        new TestBroker(
            TestBroker.config().limit(SERVER_PDF, 1).exhaustedRetryAfter(Duration.ofSeconds(2)));
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1");
        Lease held = TestBroker.granted(session.acquire(AcquireOptions.pdf()))) {

      BundleResult result = session.acquireBundleWithRetry(page("a"), Duration.ofSeconds(1));

      assertThat(((BundleResult.Refused) result).item()).isEqualTo(1);
      assertThat(broker.ticker.sleeps()).isEmpty();
      assertThat(held.isValid()).isTrue();
    }
  }

  @Test
  void acquireBundle_queuedWhenStreamDrops_sentAgainOnResumeAndGrantedOnce() throws Exception {
    broker = new TestBroker(TestBroker.config().limit(SERVER_PDF, 1));
    try (BrokerClient client = client(false);
        WorkerSession session = client.openSession("worker-1")) {
      SessionProbe probe = SessionProbe.attach(session);
      Lease held = TestBroker.granted(session.acquire(AcquireOptions.pdf()));
      BundleOptions waiting =
          page("b").toBuilder().maxWait(Duration.ofSeconds(30)).requestId("page-b").build();
      CompletableFuture<BundleResult> result =
          CompletableFuture.supplyAsync(() -> session.acquireBundle(waiting));
      until(() -> broker.broker.queued(SERVER_PDF) == 1, "the bundle queued at the broker");

      probe.dropStream();
      Duration backoff = probe.awaitReconnectScheduled();
      until(() -> broker.broker.queued(SERVER_PDF) == 0, "the dropped stream's wait cancelled");
      broker.ticker.advance(backoff);
      assertThat(probe.awaitOpened()).as("resumed").isTrue();
      until(() -> broker.broker.queued(SERVER_PDF) == 1, "the bundle queued again");
      assertThat(result).isNotDone();
      held.close();

      try (LeaseBundle bundle = granted(result.get(5, TimeUnit.SECONDS))) {
        assertThat(broker.broker.leases())
            .extracting(l -> l.id())
            .containsExactlyInAnyOrder(bundle.get(0).leaseId(), bundle.get(1).leaseId());
      }
      assertThat(broker.inUse(SERVER_RENDER)).isZero();
      assertThat(broker.inUse(SERVER_PDF)).isZero();
    }
  }

  @Test
  void build_itemCarriesItsOwnWait_failsNamingTheItemField() {
    AcquireOptions waits = AcquireOptions.pdf().toBuilder().maxWait(Duration.ofSeconds(1)).build();

    assertThatThrownBy(() -> BundleOptions.of(AcquireOptions.render("https://a.example/"), waits))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("items[1].maxWait: must be unset: the bundle's maxWait applies");
    assertThatThrownBy(() -> BundleOptions.of(AcquireOptions.pdf()))
        .hasMessage("items: a bundle has 2..8, got 1");
    assertThatThrownBy(() -> BundleOptions.of(AcquireOptions.wasm(), AcquireOptions.wasm()))
        .hasMessage("items[1].kind: at most one item of a bundle is WASM");
  }
}
