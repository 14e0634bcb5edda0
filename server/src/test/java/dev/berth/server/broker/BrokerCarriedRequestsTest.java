package dev.berth.server.broker;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RecordingBundleCallback;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A request id keeps its first answer across brokers: a retry (same id, same request) that reaches
 * the broker which took over from the journal, from a handoff or from a lone broker's state file is
 * answered with the leases granted the first time, not granted again.
 */
class BrokerCarriedRequestsTest {
  private static final String PRINCIPAL = BrokerHarness.PRINCIPAL;
  private static final String URL = "https://example.com/a";

  private final FakeTimeSource time = new FakeTimeSource();
  private final RecordingSessionChannel channel = new RecordingSessionChannel();
  private final Broker first = broker(1, 5);
  private final Broker next = broker(2, 6);

  private Broker broker(int instance, long seed) {
    return new Broker(
        BrokerHarness.withoutHostLimits(
            BrokerConfig.newBuilder()
                .sessionTtl(Duration.ofSeconds(10))
                .limit(RENDER, 4)
                .limit(PDF, 4)
                .limit(WASM, 4)
                .build()),
        time,
        instance,
        () -> 2,
        LeaseIds.seeded(seed),
        HeapProbe.NONE);
  }

  @AfterEach
  void close() {
    first.close();
    next.close();
  }

  private String open(Broker broker, String resume) {
    return broker
        .open(HelloSpec.validate("w1", Map.of(), 0, resume, List.of()), PRINCIPAL, channel)
        .sessionId();
  }

  private static RecordingAcquireCallback acquire(
      Broker broker, String sessionId, String url, String requestId) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    broker.acquire(
        AcquireSpec.validate(sessionId, RENDER, url, "", null, requestId, 0, 0),
        PRINCIPAL,
        callback);
    return callback;
  }

  private static RecordingBundleCallback bundle(
      Broker broker, String sessionId, String requestId, ResourceKind... kinds) {
    List<BundleSpec.Item> items = new ArrayList<>();
    for (ResourceKind kind : kinds) {
      items.add(new BundleSpec.Item("", kind, kind == RENDER ? URL : "", "", null, "", 0, 0));
    }
    RecordingBundleCallback callback = new RecordingBundleCallback();
    broker.acquireBundle(
        BundleSpec.validate(sessionId, items, null, requestId, 0), PRINCIPAL, callback);
    return callback;
  }

  @Test
  void grant_isJournaledWithWhatItsRequestAsked() {
    RecordingJournal journal = new RecordingJournal();
    first.journalTo(journal);
    String s = open(first, "");

    acquire(first, s, URL, "r-1").granted();
    bundle(first, s, "b-1", PDF, RENDER);

    assertThat(journal.grants)
        .extracting(Fleet.LeaseEntry::asked)
        .containsExactly(
            new Fleet.Asked("r-1", URL, "", 0, 1),
            new Fleet.Asked("b-1", "", "", 0, 2),
            new Fleet.Asked("b-1", URL, "", 1, 2));
  }

  @Test
  void takeOver_fromTheJournal_aRetriedAcquire_isAnsweredWithItsFirstLease() {
    RecordingJournal journal = new RecordingJournal();
    first.journalTo(journal);
    String s = open(first, "");
    Lease granted = acquire(first, s, URL, "r-1").granted();
    Fleet replica = new Fleet(first.fleet().sessions(), journal.grants, List.of());

    next.takeOver(7, replica, 0);
    open(next, s);
    Lease retried = acquire(next, s, URL, "r-1").granted();

    assertThat(retried.id()).isEqualTo(granted.id());
    assertThat(retried.fencingToken()).isEqualTo(granted.fencingToken());
    assertThat(next.inUse(RENDER)).isEqualTo(1);
  }

  @Test
  void takeOver_aRetryAskingForSomethingElse_isRefusedNamingRequestId_andGrantsNothing() {
    RecordingJournal journal = new RecordingJournal();
    first.journalTo(journal);
    String s = open(first, "");
    acquire(first, s, URL, "r-1").granted();
    next.takeOver(7, new Fleet(first.fleet().sessions(), journal.grants, List.of()), 0);
    open(next, s);

    assertThatThrownBy(() -> acquire(next, s, "https://other.example/", "r-1"))
        .isInstanceOfSatisfying(
            BrokerException.class,
            e -> assertThat(e.code()).isEqualTo(BrokerException.Code.FAILED_PRECONDITION))
        .hasMessageContaining("request_id");
    assertThat(next.inUse(RENDER)).isEqualTo(1);
  }

  @Test
  void load_ofAHandoff_aRetriedBundle_isAnsweredWithItsFirstLeasesInItemOrder() {
    String s = open(first, "");
    List<Lease> granted = bundle(first, s, "b-1", RENDER, PDF).granted();

    next.load(first.fleet());
    open(next, s);
    List<Lease> retried = bundle(next, s, "b-1", RENDER, PDF).granted();

    assertThat(retried).extracting(Lease::id).containsExactlyElementsOf(ids(granted));
    assertThat(next.inUse(RENDER)).isEqualTo(1);
    assertThat(next.inUse(PDF)).isEqualTo(1);
  }

  @Test
  void load_aBundleAnsweredWithTheWasmInstanceItsSessionHeld_isAnsweredAlikeAgain() {
    String s = open(first, "");
    RecordingAcquireCallback wasm = new RecordingAcquireCallback();
    first.acquire(AcquireSpec.validate(s, WASM, "", "", null, "w-1", 0, 0), PRINCIPAL, wasm);
    Lease instance = wasm.granted();
    List<Lease> granted = bundle(first, s, "b-2", RENDER, WASM).granted();
    assertThat(granted.get(1).id()).isEqualTo(instance.id());
    RecordingJournal journal = new RecordingJournal();
    Fleet handedOff = first.fleet();

    next.journalTo(journal);
    next.takeOver(7, handedOff, 0);
    open(next, s);
    List<Lease> retried = bundle(next, s, "b-2", RENDER, WASM).granted();

    assertThat(retried).extracting(Lease::id).containsExactlyElementsOf(ids(granted));
    assertThat(journal.grants).as("nothing granted anew").isEmpty();
  }

  @Test
  void load_withoutARequestId_aNewAcquireIsGrantedAsUsual() {
    String s = open(first, "");
    acquire(first, s, URL, "").granted();

    next.load(first.fleet());
    open(next, s);
    acquire(next, s, URL, "").granted();

    assertThat(next.inUse(RENDER)).isEqualTo(2);
  }

  private static List<String> ids(List<Lease> leases) {
    return leases.stream().map(Lease::id).toList();
  }
}
