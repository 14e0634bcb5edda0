package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.BrokerException;
import dev.berth.client.BundleResult;
import dev.berth.client.FakeTicker;
import dev.berth.client.Lease;
import dev.berth.client.TestBroker;
import dev.berth.client.WorkerSession;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmConfig;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * How a page gets its leases and what it gives back, against a real broker on the in-process
 * transport: the session's one WASM lease outlives every page, the RENDER slot is never held while
 * the WASM slot is busy, and a broker out of reach is waited for until the acquire timeout.
 */
class PageLeasesTest {
  private static final Path EXTRACTOR = Path.of("..", "src", "wasm", "extractor.wasm");
  private static final Duration TIMEOUT = Duration.ofSeconds(10);

  private TestBroker broker;
  private final FakeTicker time = new FakeTicker();
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final AtomicBoolean stopping = new AtomicBoolean();

  private void startBroker(int wasmLimit) {
    broker =
        new TestBroker(
            TestBroker.config().limit(ResourceKind.WASM, wasmLimit),
            ModuleRegistry.load(
                new WasmConfig(
                    List.of(
                        new WasmConfig.ModuleEntry(
                            "extractor", EXTRACTOR, List.of("alloc", "extract"))),
                    Duration.ofMinutes(5))));
  }

  @AfterEach
  void stopBroker() {
    if (client != null) {
      client.close(); // and its session
    }
    if (broker != null) {
      broker.close();
    }
  }

  private PageLeases.Acquirer acquirer(WorkerSession session, boolean pdf) {
    return new PageLeases.Acquirer(session, "", pdf, TIMEOUT, time, log::add, stopping::get);
  }

  private static PageLeases granted(PageLeases.Acquirer acquirer, BundleResult result) {
    assertThat(result).isInstanceOf(BundleResult.Granted.class);
    return acquirer.leases(((BundleResult.Granted) result).leases());
  }

  @Test
  void pdfPages_oneClosing_leavesTheSessionsWasmLeaseToTheOthers_untilExtractionCloses() {
    startBroker(64);
    try (BrokerClient client = broker.client();
        WorkerSession session = client.openSession("w")) {
      Extraction extraction = new Extraction(session, log::add);
      PageLeases.Acquirer acquirer = acquirer(session, true);
      PageLeases first = granted(acquirer, acquirer.acquire("http://a.test/1"));
      extraction.adopt(first.wasm());
      PageLeases second = granted(acquirer, acquirer.acquire("http://b.test/1"));
      extraction.adopt(second.wasm());
      assertThat(second.wasm()).as("the session's one WASM lease").isSameAs(first.wasm());
      assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(2);
      assertThat(broker.inUse(ResourceKind.PDF)).isEqualTo(2);

      first.close();

      assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
      assertThat(broker.inUse(ResourceKind.PDF)).isEqualTo(1);
      assertThat(broker.inUse(ResourceKind.WASM)).as("still the second page's").isEqualTo(1);
      assertThat(second.wasm().isValid()).isTrue();
      byte[] html =
          "<html><head><title>T</title></head><body></body></html>"
              .getBytes(StandardCharsets.UTF_8);
      assertThat(extraction.extract(html, second.wasm()).facts().title()).isEqualTo("T");

      second.close();
      assertThat(broker.inUse(ResourceKind.WASM)).as("the session's, between pages").isEqualTo(1);
      extraction.close();
      assertThat(broker.inUse(ResourceKind.WASM)).isZero();
      assertThatThrownBy(() -> extraction.extract(html, second.wasm()))
          .as("no acquire of its own")
          .hasMessageContaining("is no longer valid");
      assertThat(broker.inUse(ResourceKind.WASM)).isZero();
    }
  }

  @Test
  void withoutPdf_aPageHoldsNoRenderSlotWhileTheWasmSlotIsBusy() throws Exception {
    startBroker(1);
    try (BrokerClient client = broker.client();
        WorkerSession other = client.openSession("other");
        WorkerSession session = client.openSession("w")) {
      AcquireResult wasm = other.acquire(AcquireOptions.wasm());
      Lease busy = ((AcquireResult.Granted) wasm).lease();
      PageLeases.Acquirer acquirer = acquirer(session, false);

      CompletableFuture<BundleResult> page =
          CompletableFuture.supplyAsync(() -> acquirer.acquire("http://a.test/1"));
      TestBroker.until(
          () ->
              broker.broker.queued(ResourceKind.RENDER) + broker.broker.queued(ResourceKind.WASM)
                  > 0,
          "the page's bundle waiting");
      assertThat(broker.inUse(ResourceKind.RENDER)).as("RENDER while WASM is busy").isZero();

      busy.close();
      PageLeases leases = granted(acquirer, page.get(5, TimeUnit.SECONDS));
      assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
      assertThat(leases.wasm().kind()).isEqualTo(dev.berth.client.ResourceKind.WASM);
      assertThat(leases.pdf()).isNull();
      leases.close();
      leases.wasm().close();
    }
  }

  /** How many bundle acquires {@link #failingAcquirer}'s session was asked for. */
  private final AtomicInteger calls = new AtomicInteger();

  private BrokerClient client;

  /**
   * An acquirer (without PDFs) of a session on a fresh broker whose bundle acquires throw {@code
   * failure} the first {@code failures} times.
   */
  private PageLeases.Acquirer failingAcquirer(int failures, BrokerException failure) {
    startBroker(64);
    client = broker.client();
    WorkerSession session = client.openSession("w");
    WorkerSession failing =
        (WorkerSession)
            Proxy.newProxyInstance(
                WorkerSession.class.getClassLoader(),
                new Class<?>[] {WorkerSession.class},
                (proxy, method, args) -> {
                  if (method.getName().equals("acquireBundleWithRetry")
                      && calls.incrementAndGet() <= failures) {
                    throw failure;
                  }
                  try {
                    return method.invoke(session, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
    return acquirer(failing, false);
  }

  private static BrokerException unavailable() {
    return new BrokerException(BrokerException.Condition.UNAVAILABLE, "the broker restarts");
  }

  @Test
  void transientFailure_isTriedAgainWithBackOff_untilGranted() {
    PageLeases.Acquirer acquirer = failingAcquirer(2, unavailable());

    PageLeases leases = granted(acquirer, acquirer.acquire("http://a.test/1"));

    assertThat(calls).hasValue(3);
    assertThat(time.sleeps()).containsExactly(Duration.ofMillis(250), Duration.ofMillis(500));
    assertThat(log).hasSize(2).allMatch(l -> l.contains("the broker restarts"));
    assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
    leases.close();
  }

  @Test
  void transientFailure_stillThereAtTheAcquireTimeout_isThrown() {
    PageLeases.Acquirer acquirer = failingAcquirer(Integer.MAX_VALUE, unavailable());

    assertThatThrownBy(() -> acquirer.acquire("http://a.test/1"))
        .isInstanceOf(BrokerException.class)
        .hasMessageContaining("the broker restarts");

    Duration slept = time.sleeps().stream().reduce(Duration.ZERO, Duration::plus);
    assertThat(slept)
        .isLessThan(TIMEOUT)
        .isGreaterThan(TIMEOUT.minus(PageLeases.Acquirer.MAX_BACKOFF));
    assertThat(calls.get()).isEqualTo(time.sleeps().size() + 1);
  }

  @Test
  void transientFailure_whileTheCrawlStops_isThrownAtOnce() {
    PageLeases.Acquirer acquirer = failingAcquirer(Integer.MAX_VALUE, unavailable());
    time.onSleep(() -> stopping.set(true));

    assertThatThrownBy(() -> acquirer.acquire("http://a.test/1"))
        .isInstanceOf(BrokerException.class);
    assertThat(calls).as("one try, one pause, one more try").hasValue(2);
  }

  @Test
  void failureThatWillNotPass_isThrownAtOnce() {
    BrokerException notFound =
        new BrokerException(BrokerException.Condition.NOT_FOUND, "no such session");
    PageLeases.Acquirer acquirer = failingAcquirer(1, notFound);

    assertThatThrownBy(() -> acquirer.acquire("http://a.test/1")).isSameAs(notFound);
    assertThat(calls).hasValue(1);
    assertThat(time.sleeps()).isEmpty();
  }
}
