package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.InProcessBroker.answered;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.java;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import com.google.common.util.concurrent.ListenableFuture;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.Cleanup;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.HostRate;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.PressureLevel;
import dev.berth.proto.v1.PressureThresholds;
import dev.berth.proto.v1.RefusalCount;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.proto.v1.WatchEventsRequest;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Admission beyond pool counts over the in-process transport: memory pressure refusals, cleanup
 * pushes and heartbeat levels, exact RATE_LIMITED retry_after on the wire, and the admin view and
 * controls of both (GetStatus, UpdateLimits, WatchEvents).
 */
class AdmissionServiceTest {
  /** ⌈10^9 / 3⌉ ns: when an empty 3/s bucket next holds a whole token. */
  private static final Duration THIRD_OF_A_SECOND = Duration.ofNanos(333_333_334L);

  private static final String FLEET_TRIGGER = "fleet 3500/4000 MB = 0.88 >= pressure_on 0.85";

  private InProcessBroker b;
  private SessionRecorder workerA;
  private SessionRecorder workerB;
  private long seqA;
  private long seqB;

  @BeforeEach
  void setUp() {
    b =
        new InProcessBroker(
            Policy.of(InProcessBroker.config().build())
                .withRateLimit(RateLimitConfig.newBuilder().defaultRate(3).defaultBurst(2).build())
                .withMemory(
                    MemoryConfig.newBuilder().fleetLimitMb(4000).cleanupSessions(1).build()));
    workerA = b.openSession("worker-a");
    workerB = b.openSession("worker-b");
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  private PressureLevel reportA(long usedMb) {
    return workerA.heartbeat(++seqA, usedMb, 0).getPressure();
  }

  private PressureLevel reportB(long usedMb) {
    return workerB.heartbeat(++seqB, usedMb, 0).getPressure();
  }

  private AcquireResponse acquireB() {
    return b.acquire(request(workerB.sessionId(), RESOURCE_KIND_RENDER));
  }

  /** Runs one periodic sweep, where pressure events and cleanup pushes come from. */
  private void sweep() {
    b.time.advance(InProcessBroker.SWEEP_INTERVAL);
  }

  // ------------------------------------------------------------ memory pressure

  @Test
  void acquire_otherWorkerAboveFleetThreshold_refusedMemoryPressureUntilItDrops() {
    assertThat(reportA(3500)).isEqualTo(PressureLevel.PRESSURE_LEVEL_ELEVATED);

    AcquireResponse refused = acquireB();

    assertThat(refused.hasRefused()).as("refused: %s", refused).isTrue();
    assertThat(refused.getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_MEMORY_PRESSURE);
    assertThat(java(refused.getRefused().getRetryAfter()))
        .isEqualTo(InProcessBroker.HEARTBEAT_INTERVAL);
    assertThat(refused.getRefused().getDetail()).isEqualTo(FLEET_TRIGGER);
    assertThat(reportB(0)).isEqualTo(PressureLevel.PRESSURE_LEVEL_ELEVATED);

    sweep();

    SessionEvent pushed = workerA.next();
    assertThat(pushed.hasCleanup()).as("cleanup: %s", pushed).isTrue();
    Cleanup cleanup = pushed.getCleanup();
    assertThat(cleanup.getTargetFreeMb()).isEqualTo(500); // down to pressure_off: 3000 MB
    assertThat(cleanup.getReason()).isEqualTo(FLEET_TRIGGER);
    assertThat(workerB.pendingEvents()).as("only the heaviest is asked").isZero();
    workerA.ack(cleanup.getCommandId());
    assertThat(workerA.isClosed()).isFalse();

    assertThat(reportA(2000)).isEqualTo(PressureLevel.PRESSURE_LEVEL_NONE);
    assertThat(acquireB().hasGranted()).isTrue();
  }

  @Test
  void acquire_waitingOnFleetMemory_grantedWhenTheHeavyWorkerReportsLess() {
    reportA(3500);
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(workerB.sessionId(), RESOURCE_KIND_RENDER)
                .setWait(proto(Duration.ofSeconds(5)))
                .build());
    assertThat(waiting.isDone()).isFalse();

    assertThat(reportA(3200)).isEqualTo(PressureLevel.PRESSURE_LEVEL_ELEVATED); // above off
    assertThat(waiting.isDone()).isFalse();
    reportA(1000);

    assertThat(answered(waiting).getGranted().getSessionId()).isEqualTo(workerB.sessionId());
  }

  // ------------------------------------------------------------ host rates

  @Test
  void acquire_hostBurstSpent_refusedRateLimitedWithExactRetryAfter() {
    acquireB();
    acquireB();

    AcquireResponse refused = acquireB();

    assertThat(refused.getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_RATE_LIMITED);
    assertThat(java(refused.getRefused().getRetryAfter())).isEqualTo(THIRD_OF_A_SECOND);
    assertThat(refused.getRefused().getDetail())
        .isEqualTo("host example.com: 3.0/s, next token in 334ms");
  }

  @Test
  void acquire_waitBeyondRetryAfter_grantedWhenTheTokenArrives() {
    acquireB();
    acquireB();
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(workerB.sessionId(), RESOURCE_KIND_RENDER)
                .setWait(proto(Duration.ofSeconds(1)))
                .build());

    b.time.advance(THIRD_OF_A_SECOND.minusNanos(1));
    assertThat(waiting.isDone()).isFalse();
    b.time.advance(Duration.ofNanos(1));

    assertThat(answered(waiting).hasGranted()).isTrue();
  }

  // ------------------------------------------------------------ admin

  @Test
  void getStatus_pressureAndRefusals_reportsLevelTriggerFleetAndHotHosts() {
    acquireB();
    acquireB();
    acquireB(); // RATE_LIMITED
    reportB(0); // B's report replaces the estimates its grants charged
    reportA(3500);

    BrokerStatus status = b.admin.getStatus(GetStatusRequest.getDefaultInstance());

    assertThat(status.getPressure().getLevel()).isEqualTo(PressureLevel.PRESSURE_LEVEL_ELEVATED);
    assertThat(status.getPressure().getTrigger()).isEqualTo(FLEET_TRIGGER);
    assertThat(status.getPressure().getFleetUsedMb()).isEqualTo(3500);
    assertThat(status.getPressure().getFleetLimitMb()).isEqualTo(4000);
    assertThat(status.getHotHostsList())
        .singleElement()
        .satisfies(
            host -> {
              assertThat(host.getHost()).isEqualTo("example.com");
              assertThat(host.getRatePerSecond()).isEqualTo(3.0);
              assertThat(host.getRefusals()).isEqualTo(1);
              assertThat(host.getTokens()).isZero();
            });
    assertThat(status.getTotals().getGrants()).isEqualTo(2);
    assertThat(status.getTotals().getRefusalsList())
        .filteredOn(r -> r.getReason() == RefusalReason.REFUSAL_REASON_RATE_LIMITED)
        .extracting(RefusalCount::getCount)
        .containsExactly(1L);
    PoolStatus render = status.getPools(0);
    assertThat(render.getInUse()).isEqualTo(2);
    assertThat(render.getEffectiveLimit()).isEqualTo(render.getLimit());
  }

  @Test
  void updateLimits_hostRatesAndPressureThresholds_applyLiveKeepingLeases() {
    acquireB();
    acquireB();
    reportB(0);
    reportA(3500);
    assertThat(acquireB().getRefused().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_MEMORY_PRESSURE);

    BrokerStatus status =
        b.admin
            .updateLimits(
                UpdateLimitsRequest.newBuilder()
                    .addHostRates(
                        HostRate.newBuilder()
                            .setPattern("example.com")
                            .setRatePerSecond(1000)
                            .setBurst(10))
                    .setPressure(PressureThresholds.newBuilder().setOn(0.95).setOff(0.9))
                    .build())
            .getStatus();

    // 3500/4000 = 0.875 is at or below the new pressure_off: pressure is off at once.
    assertThat(status.getPressure().getLevel()).isEqualTo(PressureLevel.PRESSURE_LEVEL_NONE);
    assertThat(status.getPools(0).getInUse()).isEqualTo(2);
    // The spent bucket refills at the new rate: the next token is a millisecond away.
    AcquireResponse refused = acquireB();
    assertThat(java(refused.getRefused().getRetryAfter())).isEqualTo(Duration.ofMillis(1));
    assertThat(refused.getRefused().getDetail())
        .isEqualTo("host example.com: 1000.0/s, next token in 1ms");
    b.time.advance(Duration.ofMillis(1));
    assertThat(acquireB().hasGranted()).isTrue();
    assertThat(b.broker.inUse(ResourceKind.RENDER)).isEqualTo(3);
  }

  @Test
  void updateLimits_invalidValues_invalidArgumentNamingTheKeyAndNothingApplied() {
    Policy before = b.broker.policy();

    Status negativeRate =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                b.admin.updateLimits(
                    UpdateLimitsRequest.newBuilder()
                        .addHostRates(
                            HostRate.newBuilder().setPattern("example.com").setRatePerSecond(-1))
                        .setPressure(PressureThresholds.newBuilder().setOn(0.9).setOff(0.8))
                        .build()));
    Status negativeDefault =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                b.admin.updateLimits(
                    UpdateLimitsRequest.newBuilder()
                        .addHostRates(HostRate.newBuilder().setPattern("*").setRatePerSecond(-2))
                        .build()));
    Status offAboveOn =
        failure(
            Status.Code.INVALID_ARGUMENT,
            () ->
                b.admin.updateLimits(
                    UpdateLimitsRequest.newBuilder()
                        .setPressure(PressureThresholds.newBuilder().setOn(0.8).setOff(0.9))
                        .build()));

    assertThat(negativeRate.getDescription())
        .startsWith("rate_limit.hosts['example.com'].rate: must be a rate")
        .endsWith("got -1.0");
    assertThat(negativeDefault.getDescription()).startsWith("rate_limit.default_rate: ");
    assertThat(offAboveOn.getDescription())
        .isEqualTo("memory.pressure_off: must be below memory.pressure_on (0.8), got 0.9");
    assertThat(b.broker.policy()).isSameAs(before);
  }

  /** Records a watch stream's events; with the direct executor they arrive synchronously. */
  private static final class EventRecorder implements StreamObserver<BrokerEvent> {
    final List<BrokerEvent> events = new CopyOnWriteArrayList<>();

    @Override
    public void onNext(BrokerEvent event) {
      events.add(event);
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}

    /** The fleet-wide events (no session), in order. */
    List<BrokerEvent> fleet() {
      return events.stream().filter(e -> e.getSessionId().isEmpty()).toList();
    }
  }

  @Test
  void watchEvents_fleetPressureOnThenOff_emitsPressureOnAndOff() {
    EventRecorder watcher = new EventRecorder();
    b.adminAsync.watchEvents(
        WatchEventsRequest.newBuilder()
            .addTypes(BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_ON)
            .addTypes(BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_OFF)
            .build(),
        watcher);

    reportA(3500);
    sweep();
    assertThat(workerA.next().hasCleanup()).isTrue();
    reportA(1000);
    sweep();

    assertThat(watcher.fleet())
        .extracting(BrokerEvent::getType, BrokerEvent::getPressure)
        .containsExactly(
            tuple(
                BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_ON,
                PressureLevel.PRESSURE_LEVEL_ELEVATED),
            tuple(
                BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_OFF, PressureLevel.PRESSURE_LEVEL_NONE));
    assertThat(watcher.fleet().get(0).getDetail()).isEqualTo(FLEET_TRIGGER);
    assertThat(watcher.fleet().get(1).getDetail())
        .isEqualTo("fleet 1000/4000 MB = 0.25 <= pressure_off 0.75");
    // Worker A's own pressure (measured against the fleet limit: it reports none) moved too.
    assertThat(watcher.events)
        .filteredOn(e -> e.getSessionId().equals(workerA.sessionId()))
        .extracting(BrokerEvent::getType)
        .containsExactly(
            BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_ON,
            BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_OFF);
  }
}
