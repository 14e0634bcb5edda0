package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.InProcessBroker.answered;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.codahale.metrics.MetricRegistry;
import com.google.common.util.concurrent.ListenableFuture;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.metrics.BrokerMetrics;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The adapter times every acquire from request to answer and tells queued ones apart. */
class LeaseBrokerTimingTest {
  record Timing(ResourceKind kind, Duration latency, boolean queued) {}

  private final List<Timing> timings = new ArrayList<>();
  private InProcessBroker b;
  private String session;

  @BeforeEach
  void setUp() {
    AcquireTimings recorder =
        (kind, nanos, queued) -> timings.add(new Timing(kind, Duration.ofNanos(nanos), queued));
    b = new InProcessBroker(InProcessBroker.config().build(), recorder);
    session = b.openSession("worker-1").sessionId();
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  @Test
  void acquire_answeredAtOnce_timedAsNotQueued() {
    b.grant(session, RESOURCE_KIND_RENDER);
    b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    AcquireResponse refused = b.acquire(request(session, RESOURCE_KIND_PDF));
    assertThat(refused.hasRefused()).isTrue();

    assertThat(timings)
        .containsExactly(
            new Timing(ResourceKind.RENDER, Duration.ZERO, false),
            new Timing(ResourceKind.PDF, Duration.ZERO, false),
            new Timing(ResourceKind.PDF, Duration.ZERO, false),
            new Timing(ResourceKind.PDF, Duration.ZERO, false));
  }

  @Test
  void acquire_grantedAfterWaiting_timedAsQueuedWithItsWait() {
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    timings.clear();

    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(session, RESOURCE_KIND_PDF).setWait(proto(Duration.ofSeconds(10))).build());
    assertThat(timings).isEmpty();
    b.time.advance(Duration.ofMillis(1500));
    b.release(session, held.getLeaseId());

    assertThat(answered(waiting).hasGranted()).isTrue();
    assertThat(timings)
        .containsExactly(new Timing(ResourceKind.PDF, Duration.ofMillis(1500), true));
  }

  @Test
  void getStatus_showsLatencyPerPool_fromTheMetricsRegistry() {
    b.close();
    BrokerMetrics metrics =
        new BrokerMetrics(
            new MetricRegistry(),
            () -> {
              throw new AssertionError("gauges are not read here");
            },
            new FakeTimeSource(),
            5);
    b = new InProcessBroker(InProcessBroker.config().build(), metrics);
    session = b.openSession("worker-1").sessionId();
    Lease held = b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(session, RESOURCE_KIND_PDF).setWait(proto(Duration.ofSeconds(10))).build());
    b.time.advance(Duration.ofMillis(1500));
    b.release(session, held.getLeaseId());
    assertThat(answered(waiting).hasGranted()).isTrue();

    BrokerStatus status =
        BrokerAdminGrpc.newBlockingStub(b.channel).getStatus(GetStatusRequest.getDefaultInstance());

    PoolStatus pdf =
        status.getPoolsList().stream()
            .filter(p -> p.getKind() == RESOURCE_KIND_PDF)
            .findFirst()
            .orElseThrow();
    assertThat(InProcessBroker.java(pdf.getAcquireLatencyP50())).isZero();
    // The latency histograms keep two significant digits: within 1 %.
    assertThat(InProcessBroker.java(pdf.getAcquireLatencyP99()).toMillis()).isBetween(1500L, 1515L);
    assertThat(InProcessBroker.java(pdf.getQueueWaitP99()).toMillis()).isBetween(1500L, 1515L);
    PoolStatus render = status.getPools(0);
    assertThat(render.getKind()).isEqualTo(RESOURCE_KIND_RENDER);
    assertThat(InProcessBroker.java(render.getAcquireLatencyP99())).isZero();
  }

  @Test
  void acquire_waitRunsOut_timedAsQueued() {
    b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    timings.clear();

    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(session, RESOURCE_KIND_PDF).setWait(proto(Duration.ofSeconds(2))).build());
    b.time.advance(Duration.ofSeconds(2));

    assertThat(answered(waiting).hasRefused()).isTrue();
    assertThat(timings).containsExactly(new Timing(ResourceKind.PDF, Duration.ofSeconds(2), true));
  }
}
