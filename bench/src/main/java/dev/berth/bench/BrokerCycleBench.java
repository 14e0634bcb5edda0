package dev.berth.bench;

import com.google.common.util.concurrent.RateLimiter;
import dev.berth.server.admission.AcquireCallback;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.time.SystemTimeSource;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The broker's own share of a lease cycle — one {@code Broker.acquire} granted at once and its
 * {@code Broker.release} with an outcome, validation of the request included — with no transport,
 * against Guava's {@code RateLimiter.tryAcquire()} in the same run. Admission runs in full: a host
 * rate limit (high enough never to refuse), memory accounting, the degradation monitor. This is
 * what the broker adds to every RPC of the cycle; {@code bin/bench} G1/G2 measure it with gRPC.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@State(Scope.Thread)
public class BrokerCycleBench {
  private static final String URL = "https://www.example.com/page";

  /** A host limited to one request per 1,000 s (burst 1): refused after its first grant. */
  private static final String REFUSED_URL = "https://refused.bench.invalid/page";

  /** A 200 after 300 ms, as a worker reports it. */
  private static final Outcome OK = new Outcome(true, 300_000_000L, 200, 0, "");

  private SystemTimeSource time;
  private Broker broker;
  private String sessionId;
  private RateLimiter guava;
  private final Granted granted = new Granted();

  @Setup(Level.Trial)
  public void setUp() {
    time = new SystemTimeSource();
    broker = newBroker(time, RateLimitConfig.newBuilder());
    sessionId = openSession(broker, new QuietChannel());
    guava = RateLimiter.create(RateLimitConfig.MAX_RATE);
  }

  /**
   * The broker of the benchmarks: RENDER 1,000,000 slots with no memory charged, a session TTL of
   * an hour, and {@code rates} with a default rate so high (1e9/s, burst 1,000,000) that no host
   * refuses unless {@code rates} names it.
   */
  static Broker newBroker(SystemTimeSource time, RateLimitConfig.Builder rates) {
    BrokerConfig config =
        BrokerConfig.newBuilder()
            .limit(ResourceKind.RENDER, 1_000_000)
            .memoryEstimateMb(ResourceKind.RENDER, 0)
            .sessionTtl(java.time.Duration.ofHours(1))
            .build();
    RateLimitConfig limits =
        rates.defaultRate(RateLimitConfig.MAX_RATE).defaultBurst(RateLimitConfig.MAX_BURST).build();
    return new Broker(
        new Policy(config, limits, MemoryConfig.defaults(), PerformanceConfig.defaults()),
        time,
        1,
        () -> 2,
        LeaseIds.secure(),
        HeapProbe.NONE);
  }

  /** Opens a session for the benchmarks' anonymous worker on {@code channel}; its id. */
  static String openSession(Broker broker, SessionChannel channel) {
    return broker
        .open(new HelloSpec("bench-worker", Map.of(), 0, "", List.of()), "anonymous", channel)
        .sessionId();
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    broker.close();
    time.close();
  }

  /** Ours: validate, acquire (granted at once), release with a success outcome. */
  @Benchmark
  public Broker.EndResult brokerAcquireRelease() {
    AcquireSpec spec =
        AcquireSpec.validate(sessionId, ResourceKind.RENDER, URL, "", null, "", 0, 0);
    broker.acquire(spec, "anonymous", granted);
    return broker.release(sessionId, granted.lease.id(), "anonymous", OK);
  }

  /**
   * A refused acquire (G6's case, after the host's one grant): validate, the broker's decision, and
   * the refusal's detail text, which the gRPC answer carries.
   */
  @Benchmark
  public String brokerAcquireRefused(Refusing r) {
    AcquireSpec spec =
        AcquireSpec.validate(r.sessionId, ResourceKind.RENDER, REFUSED_URL, "", null, "", 0, 0);
    r.broker.acquire(spec, "anonymous", r.refused);
    return r.refused.detail;
  }

  /** A broker of its own for {@link #brokerAcquireRefused}, so the cycle's broker is alone. */
  @State(Scope.Thread)
  public static class Refusing {
    private SystemTimeSource time;
    private Broker broker;
    private String sessionId;
    private final Refused refused = new Refused();

    @Setup(Level.Trial)
    public void setUp() {
      time = new SystemTimeSource();
      broker =
          newBroker(time, RateLimitConfig.newBuilder().host("refused.bench.invalid", 0.001, 1));
      sessionId = openSession(broker, new QuietChannel());
    }

    @TearDown(Level.Trial)
    public void tearDown() {
      broker.close();
      time.close();
    }
  }

  /** The baseline: Guava's smooth-bursty limiter, one permit. */
  @Benchmark
  public boolean guavaTryAcquire() {
    return guava.tryAcquire();
  }

  /** Keeps the lease of the last grant; every acquire here is answered before it returns. */
  private static final class Granted implements AcquireCallback {
    Lease lease;

    @Override
    public void decided(Decision decision) {
      lease = ((Decision.Granted) decision).lease();
    }

    @Override
    public void failed(BrokerException error) {
      throw error;
    }
  }

  /** Keeps the detail of the last refusal, as the gRPC answer reads it. */
  private static final class Refused implements AcquireCallback {
    String detail;

    @Override
    public void decided(Decision decision) {
      detail = decision instanceof Decision.Refused r ? r.detail() : "";
    }

    @Override
    public void failed(BrokerException error) {
      throw error;
    }
  }

  /** A session stream that drops every push: the benchmark holds no stream. */
  static final class QuietChannel implements SessionChannel {
    @Override
    public void revoke(long commandId, String leaseId, RevokeReason reason, long graceNanos) {}

    @Override
    public void cleanup(long commandId, long targetFreeMb, String reason) {}

    @Override
    public void drain(long commandId, Instant deadline) {}

    @Override
    public void close(CloseReason why, String detail) {}
  }
}
