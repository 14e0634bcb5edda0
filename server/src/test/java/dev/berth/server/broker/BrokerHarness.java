package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/** A broker on a fake clock, with short helpers for the calls tests make over and over. */
final class BrokerHarness implements AutoCloseable {
  static final String PRINCIPAL = "anonymous";
  static final String RENDER_URL = "https://example.com/page";

  /**
   * Judges RENDER and PDF by 4 outcomes against a 1 s p95 target, adjusting every 5 s: 4 {@link
   * #SLOW_FAILURE}s halve a limit at the next sweep (not below 2).
   */
  static final PerformanceConfig JUDGE_QUICKLY =
      PerformanceConfig.newBuilder()
          .window(Duration.ofSeconds(10))
          .targetP95(Duration.ofSeconds(1))
          .threshold(0.5)
          .decreaseFactor(0.5)
          .increaseStep(1)
          .floor(2)
          .minSamples(4)
          .adjustInterval(Duration.ofSeconds(5))
          .build();

  /** An outcome that scores 1 under {@link #JUDGE_QUICKLY}: failed, and 3 s against 1 s. */
  static final Outcome SLOW_FAILURE =
      new Outcome(false, Duration.ofSeconds(3).toNanos(), 500, 0, "HTTP 500");

  final FakeTimeSource time = new FakeTimeSource();
  final Broker broker;

  BrokerHarness(BrokerConfig config) {
    this(config, ModuleRegistry.empty());
  }

  /** A broker that serves {@code modules}. */
  BrokerHarness(BrokerConfig config, ModuleRegistry modules) {
    broker =
        new Broker(
            withoutHostLimits(config),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(42),
            HeapProbe.NONE,
            modules);
  }

  /**
   * The policy these tests run under: the given pools and sessions, and host rates so high they
   * never bind — these tests are about pools, queues and sessions; the ratelimit package and the
   * admission tests cover host rates.
   */
  static Policy withoutHostLimits(BrokerConfig config) {
    return Policy.of(config)
        .withRateLimit(
            RateLimitConfig.newBuilder().defaultRate(1e9).defaultBurst(1_000_000).build());
  }

  BrokerHarness(BrokerConfig.Builder config) {
    this(config.build());
  }

  /** A broker under a whole policy (real host rates, memory, degradation) and a heap probe. */
  BrokerHarness(Policy policy, HeapProbe heap) {
    broker = new Broker(policy, time, 1, () -> 2, LeaseIds.seeded(42), heap);
  }

  /** A session with its recording channel. */
  record Worker(String sessionId, RecordingSessionChannel channel) {}

  Worker open(String workerId) {
    RecordingSessionChannel channel = new RecordingSessionChannel();
    Broker.Opened opened =
        broker.open(HelloSpec.validate(workerId, Map.of(), 0, "", List.of()), PRINCIPAL, channel);
    assertThat(opened.resumed()).isFalse();
    return new Worker(opened.sessionId(), channel);
  }

  static AcquireSpec spec(
      String sessionId, ResourceKind kind, Duration wait, String requestId, int priority) {
    String url = kind == ResourceKind.RENDER ? RENDER_URL : "";
    return AcquireSpec.validate(sessionId, kind, url, "", wait, requestId, priority, 0);
  }

  RecordingAcquireCallback acquire(Worker worker, ResourceKind kind) {
    return acquire(worker, kind, null, "", 0);
  }

  RecordingAcquireCallback acquire(Worker worker, ResourceKind kind, Duration wait) {
    return acquire(worker, kind, wait, "", 0);
  }

  /** Acquires as the session {@code spec} names. */
  RecordingAcquireCallback acquire(AcquireSpec spec) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    broker.acquire(spec, PRINCIPAL, callback);
    return callback;
  }

  RecordingAcquireCallback acquire(
      Worker worker, ResourceKind kind, Duration wait, String requestId, int priority) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    broker.acquire(spec(worker.sessionId(), kind, wait, requestId, priority), PRINCIPAL, callback);
    return callback;
  }

  /** Acquires and insists on an immediate grant. */
  Lease grant(Worker worker, ResourceKind kind) {
    RecordingAcquireCallback callback = acquire(worker, kind);
    return callback.granted();
  }

  Broker.EndResult release(Worker worker, Lease lease) {
    return broker.release(worker.sessionId(), lease.id(), PRINCIPAL, Outcome.UNKNOWN);
  }

  boolean isLive(Lease lease) {
    return broker.leases().stream().anyMatch(l -> l.id().equals(lease.id()));
  }

  @Override
  public void close() {
    broker.close();
  }
}
