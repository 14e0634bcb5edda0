package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_WASM;
import static dev.berth.server.grpc.InProcessBroker.answered;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.lease.ResourceKind;
import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code LeaseBroker.AcquireBundle} over the in-process transport: all or nothing, one wait. */
class LeaseBrokerBundleTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private InProcessBroker b;
  private BrokerConfig config;
  private String session;

  @BeforeEach
  void setUp() {
    b = new InProcessBroker();
    config = b.broker.config();
    session = b.openSession("worker-1").sessionId();
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  private static AcquireRequest item(dev.berth.proto.v1.ResourceKind kind) {
    return request("", kind).build();
  }

  private AcquireBundleRequest.Builder bundle(dev.berth.proto.v1.ResourceKind... kinds) {
    AcquireBundleRequest.Builder request = AcquireBundleRequest.newBuilder().setSessionId(session);
    for (dev.berth.proto.v1.ResourceKind kind : kinds) {
      request.addItems(item(kind));
    }
    return request;
  }

  private void fillPdfPool() {
    for (int i = 0; i < config.limit(ResourceKind.PDF); i++) {
      b.grant(session, RESOURCE_KIND_PDF);
    }
  }

  @Test
  void acquireBundle_everyItemFits_grantsEveryLeaseInItemOrder() {
    AcquireBundleResponse response =
        b.blocking.acquireBundle(
            bundle(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF, RESOURCE_KIND_WASM).build());

    assertThat(response.hasGranted()).as("granted: %s", response).isTrue();
    assertThat(response.getGranted().getLeasesList())
        .extracting(Lease::getKind)
        .containsExactly(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF, RESOURCE_KIND_WASM);
    assertThat(response.getGranted().getLeasesList())
        .allMatch(l -> l.getSessionId().equals(session));
    assertThat(b.broker.leases()).hasSize(3);
  }

  @Test
  void acquireBundle_onePoolFull_refusedNamingItemAndRuleGrantingNothing() {
    fillPdfPool();
    int before = b.broker.leases().size();

    AcquireBundleResponse response =
        b.blocking.acquireBundle(bundle(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF).build());

    assertThat(response.hasRefused()).as("refused: %s", response).isTrue();
    assertThat(response.getRefused().getItem()).isEqualTo(1);
    assertThat(response.getRefused().getRefusal().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
    assertThat(response.getRefused().getRefusal().getRule()).isEqualTo("pools.pdf.limit");
    assertThat(b.broker.leases()).hasSize(before);
  }

  @Test
  void acquireBundle_waits_grantedWholeWhenTheLastItemFits() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    fillPdfPoolAfter(1);
    ListenableFuture<AcquireBundleResponse> waiting =
        b.future.acquireBundle(
            bundle(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF).setWait(proto(WAIT)).build());
    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(1);
    assertThat(b.broker.queued(ResourceKind.RENDER)).isEqualTo(1);

    b.release(session, held.getLeaseId());

    assertThat(answered(waiting).getGranted().getLeasesCount()).isEqualTo(2);
    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
  }

  private void fillPdfPoolAfter(int held) {
    for (int i = held; i < config.limit(ResourceKind.PDF); i++) {
      b.grant(session, RESOURCE_KIND_PDF);
    }
  }

  @Test
  void acquireBundle_cancelledWhileWaiting_freesItsPlace() {
    fillPdfPool();
    ListenableFuture<AcquireBundleResponse> waiting =
        b.future.acquireBundle(
            bundle(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF).setWait(proto(WAIT)).build());
    assertThat(b.broker.queued(ResourceKind.PDF)).isEqualTo(1);

    waiting.cancel(true);

    assertThat(b.broker.queued(ResourceKind.PDF)).isZero();
    assertThat(b.broker.queued(ResourceKind.RENDER)).isZero();
  }

  @Test
  void acquireBundle_itemNamesItsOwnSession_invalidArgumentNamingTheField() {
    AcquireBundleRequest request =
        bundle(RESOURCE_KIND_RENDER).addItems(request(session, RESOURCE_KIND_PDF)).build();

    Status status = failure(Status.Code.INVALID_ARGUMENT, () -> b.blocking.acquireBundle(request));

    assertThat(status.getDescription()).contains("items[1].session_id");
    assertThat(b.broker.leases()).isEmpty();
  }

  @Test
  void acquireBundle_oneItem_invalidArgumentNamingItems() {
    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () -> b.blocking.acquireBundle(bundle(RESOURCE_KIND_PDF).build()));

    assertThat(status.getDescription()).contains("items").contains("2..8");
  }

  @Test
  void acquireBundle_twoWasmItems_invalidArgumentNamingTheSecond() {
    Status status =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () -> b.blocking.acquireBundle(bundle(RESOURCE_KIND_WASM, RESOURCE_KIND_WASM).build()));

    assertThat(status.getDescription()).contains("items[1].kind");
  }

  @Test
  void acquireBundle_unknownSession_notFound() {
    failure(
        Status.Code.NOT_FOUND,
        () ->
            b.blocking.acquireBundle(
                bundle(RESOURCE_KIND_RENDER, RESOURCE_KIND_PDF).setSessionId("nope").build()));
  }
}
