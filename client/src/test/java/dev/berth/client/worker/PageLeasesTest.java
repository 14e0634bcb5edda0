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
import dev.berth.client.RevokedLease;
import dev.berth.client.TestBroker;
import dev.berth.client.WorkerSession;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmConfig;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

  @Test
  void cancelWaits_endsAWaitingBundleAtOnce_cancelledAtTheBroker_soTheFreedSlotGoesToNobody()
      throws Exception {
    startBroker(1);
    try (BrokerClient client = broker.client();
        WorkerSession other = client.openSession("other");
        WorkerSession session = client.openSession("w")) {
      Lease busy = ((AcquireResult.Granted) other.acquire(AcquireOptions.wasm())).lease();
      PageLeases.Acquirer acquirer = acquirer(session, true);
      CompletableFuture<Boolean> interruptedAfter = new CompletableFuture<>();
      CompletableFuture<BundleResult> page =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return acquirer.acquire("http://a.test/1");
                } finally {
                  interruptedAfter.complete(Thread.currentThread().isInterrupted());
                }
              });
      TestBroker.until(
          () ->
              broker.broker.queued(ResourceKind.RENDER) + broker.broker.queued(ResourceKind.WASM)
                  > 0,
          "the page's bundle waiting");

      acquirer.cancelWaits(); // what a SIGTERM does

      assertThatThrownBy(() -> page.get(5, TimeUnit.SECONDS))
          .as("ended at once, not at the queue wait of 20 s")
          .hasCauseInstanceOf(BrokerException.class)
          .cause()
          .extracting(e -> ((BrokerException) e).condition())
          .isEqualTo(BrokerException.Condition.CANCELLED);
      assertThat(interruptedAfter.get(5, TimeUnit.SECONDS))
          .as("no interrupt left for what the thread does next")
          .isFalse();
      TestBroker.until(
          () ->
              broker.broker.queued(ResourceKind.RENDER) + broker.broker.queued(ResourceKind.WASM)
                  == 0,
          "the bundle's wait cancelled at the broker");
      busy.close(); // frees the WASM slot the bundle waited for
      assertThat(broker.broker.leases()).as("nothing granted to the stopping worker").isEmpty();
      assertThatThrownBy(() -> acquirer.acquire("http://b.test/1"))
          .as("nothing acquired after the stop")
          .isInstanceOf(BrokerException.class)
          .hasMessageContaining("the worker stops");
      assertThat(broker.broker.leases()).isEmpty();
    }
  }

  /** A printer that writes a small file and counts its prints, running {@code during} each. */
  private static PageLeases.Printer printer(AtomicInteger prints, Runnable during) {
    return to -> {
      prints.incrementAndGet();
      Files.writeString(to, "%PDF-1.4");
      during.run();
    };
  }

  @TempDir Path dir;

  /** A PDF page's leases, from a session on a fresh broker, and where its file goes. */
  private PageLeases pdfPage() {
    startBroker(64);
    client = broker.client();
    PageLeases.Acquirer acquirer = acquirer(client.openSession("w"), true);
    return granted(acquirer, acquirer.acquire("http://a.test/1"));
  }

  private final AtomicInteger prints = new AtomicInteger();

  private Path partial() {
    return dir.resolve("a.pdf.partial");
  }

  private Path target() {
    return dir.resolve("a.pdf");
  }

  @Test
  void printPdf_underAValidLease_printsAndMovesTheFileIntoPlace() throws Exception {
    PageLeases leases = pdfPage();

    String notPrinted = leases.printPdf(printer(prints, () -> {}), partial(), target(), () -> null);

    assertThat(notPrinted).isNull();
    assertThat(prints).hasValue(1);
    assertThat(target()).exists();
    assertThat(partial()).doesNotExist();
  }

  @Test
  void printPdf_leaseRevokedBeforePrinting_printsNothing() throws Exception {
    PageLeases leases = pdfPage();
    AtomicReference<RevokedLease> revoked = new AtomicReference<>();
    leases.pdf().onRevoked(revoked::set);
    broker.broker.revoke(leases.pdf().leaseId(), RevokeReason.ADMIN, Duration.ofSeconds(5));
    TestBroker.until(() -> revoked.get() != null, "the revoke pushed to the worker");

    String notPrinted =
        leases.printPdf(printer(prints, () -> {}), partial(), target(), revoked::get);

    assertThat(notPrinted).isEqualTo("aborted: PDF lease revoked (ADMIN)");
    assertThat(prints).as("nothing printed under a revoked lease").hasValue(0);
    assertThat(partial()).doesNotExist();
    assertThat(target()).doesNotExist();
  }

  @Test
  void printPdf_leaseNoLongerValidBeforePrinting_printsNothing() throws Exception {
    PageLeases leases = pdfPage();
    leases.pdf().close(); // no longer valid, with no revoke

    String notPrinted = leases.printPdf(printer(prints, () -> {}), partial(), target(), () -> null);

    assertThat(notPrinted).isEqualTo("aborted: PDF lease no longer valid");
    assertThat(prints).hasValue(0);
    assertThat(target()).doesNotExist();
  }

  @Test
  void printPdf_leaseEndsWhilePrinting_theFileIsDeleted() throws Exception {
    PageLeases leases = pdfPage();

    String notPrinted =
        leases.printPdf(printer(prints, leases.pdf()::close), partial(), target(), () -> null);

    assertThat(notPrinted).isEqualTo("aborted: PDF lease no longer valid");
    assertThat(prints).hasValue(1);
    assertThat(partial()).doesNotExist();
    assertThat(target()).doesNotExist();
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
