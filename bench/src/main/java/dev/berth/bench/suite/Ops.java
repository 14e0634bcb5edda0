package dev.berth.bench.suite;

import dev.berth.bench.etcd.LeaseGrantRequest;
import dev.berth.bench.etcd.LeaseGrantResponse;
import dev.berth.bench.etcd.LeaseGrpc;
import dev.berth.bench.etcd.LeaseRevokeRequest;
import dev.berth.bench.etcd.LeaseRevokeResponse;
import dev.berth.bench.proto.PingGrpc;
import dev.berth.bench.proto.PingRequest;
import dev.berth.bench.proto.PingResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Outcome;
import dev.berth.proto.v1.Refusal;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionEvent;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/** The operations the goals time, each one asynchronous call chain for {@link LoadGen}. */
public final class Ops {
  private Ops() {}

  /** The URL every granted cycle asks for; the bench config gives its host no rate limit. */
  public static final String CYCLE_URL = "https://cycle.bench.invalid/page";

  /** A host the bench config limits to one request per 1000 s, so acquires for it are refused. */
  public static final String REFUSED_HOST = "refused.bench.invalid";

  private static final PingRequest PING = PingRequest.getDefaultInstance();

  /** One empty unary RPC. */
  public static LoadGen.Op ping(Channel channel) {
    PingGrpc.PingStub stub = PingGrpc.newStub(channel);
    return done -> stub.ping(PING, new Last<>(done));
  }

  /** Two empty unary RPCs, one after the other: the baseline of a two-call lease cycle. */
  public static LoadGen.Op pingPair(Channel channel) {
    PingGrpc.PingStub stub = PingGrpc.newStub(channel);
    return done ->
        stub.ping(
            PING,
            new Then<PingResponse>(done) {
              @Override
              void next(PingResponse first) {
                stub.ping(PING, new Last<>(done));
              }
            });
  }

  /** Berth's lease cycle: Acquire a RENDER lease, then Release it; any refusal fails it. */
  public static LoadGen.Op berthCycle(Channel channel, String sessionId) {
    return berthCycle(channel, sessionId, null);
  }

  /**
   * Berth's lease cycle as a worker runs it against a cluster: Acquire a RENDER lease, then Release
   * it. An acquire refused in band with rule {@value #REPLICATION_RULE} (a cluster leader holding a
   * grant back until earlier grants of the pool are committed) is asked again after its {@code
   * retry_after}, as a real worker would, and counted in {@code retries}; the cycle's latency
   * includes the wait. Any other refusal fails the cycle. {@code retries} null: no retry.
   */
  public static LoadGen.Op berthCycle(Channel channel, String sessionId, Retries retries) {
    LeaseBrokerGrpc.LeaseBrokerStub stub = LeaseBrokerGrpc.newStub(channel);
    AcquireRequest acquire = render(sessionId, CYCLE_URL);
    return new LoadGen.Op() {
      @Override
      public void start(LoadGen.Done done) {
        stub.acquire(
            acquire,
            new Then<AcquireResponse>(done) {
              @Override
              void next(AcquireResponse response) {
                if (!response.hasGranted()) {
                  Refusal refused = response.getRefused();
                  if (retries != null && REPLICATION_RULE.equals(refused.getRule())) {
                    retries.later(() -> start(done), refused);
                    return;
                  }
                  done.completed(new IllegalStateException("acquire refused: " + refused));
                  return;
                }
                if (retries != null) {
                  retries.granted.increment();
                }
                stub.release(releaseOf(sessionId, response), new Last<ReleaseResponse>(done));
              }
            });
      }
    };
  }

  /**
   * The lease cycle's two calls with their own messages, answered by {@link ShapedPing} without a
   * broker: the same AcquireRequest as {@link #berthCycle}, then a ReleaseRequest of the answered
   * lease.
   */
  public static LoadGen.Op shapedPair(Channel channel, String sessionId) {
    AcquireRequest acquire = render(sessionId, CYCLE_URL);
    return done ->
        ShapedPing.acquire(
            channel,
            acquire,
            new Then<AcquireResponse>(done) {
              @Override
              void next(AcquireResponse response) {
                ShapedPing.release(
                    channel, releaseOf(sessionId, response), new Last<ReleaseResponse>(done));
              }
            });
  }

  private static final Outcome SUCCESS = Outcome.newBuilder().setSuccess(true).build();

  /** The release of the lease {@code granted} answered, reporting a successful fetch. */
  private static ReleaseRequest releaseOf(String sessionId, AcquireResponse granted) {
    return ReleaseRequest.newBuilder()
        .setSessionId(sessionId)
        .setLeaseId(granted.getGranted().getLeaseId())
        .setOutcome(SUCCESS)
        .build();
  }

  /** The rule of a refusal by a cluster leader whose pool has K grants awaiting their commit. */
  public static final String REPLICATION_RULE = "replication";

  /**
   * Acquires asked again after an in-band refusal, and the grants they led to, counted over every
   * cycle that shares this object; the retries wait on one daemon thread.
   *
   * <p>Thread-safe.
   */
  public static final class Retries {
    private static final ScheduledExecutorService TIMER =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "bench-retries");
              t.setDaemon(true);
              return t;
            });

    private final LongAdder retried = new LongAdder();
    private final LongAdder granted = new LongAdder();
    private final java.util.concurrent.ConcurrentHashMap<String, LongAdder> byCause =
        new java.util.concurrent.ConcurrentHashMap<>();

    void later(Runnable attempt, Refusal refused) {
      retried.increment();
      byCause.computeIfAbsent(cause(refused.getDetail()), c -> new LongAdder()).increment();
      com.google.protobuf.Duration after = refused.getRetryAfter();
      long nanos = after.getSeconds() * 1_000_000_000L + after.getNanos();
      // The attempt reports its own failure to the cycle; the future carries nothing.
      var unused = TIMER.schedule(attempt, Math.max(nanos, 0), TimeUnit.NANOSECONDS);
    }

    /** Which of the leader's grant checks held the grant back, from the refusal's detail. */
    private static String cause(String detail) {
      if (detail.contains("await their commit")) {
        return "K uncommitted";
      }
      if (detail.contains("may not grant now")) {
        return "not granting (lease, wait)";
      }
      if (detail.contains("handing leadership")) {
        return "handoff";
      }
      return "other";
    }

    /** Acquires refused in band and asked again. */
    public long retried() {
      return retried.sum();
    }

    /** Acquires granted. */
    public long granted() {
      return granted.sum();
    }

    /** {@code 123 retries for 4567 grants (2.7 %) {K uncommitted=120, ...}}. */
    @Override
    public String toString() {
      long r = retried();
      long g = granted();
      return String.format(
          java.util.Locale.ROOT,
          "%d retries for %d grants (%.1f %%) %s",
          r,
          g,
          g == 0 ? 0.0 : 100.0 * r / g,
          new java.util.TreeMap<>(byCause));
    }
  }

  /**
   * Berth's lease cycle on the session stream: an acquire of a RENDER lease, then its release, both
   * as calls on {@code session}'s stream. Any number of these share one stream, answered by
   * call_id.
   */
  public static LoadGen.Op streamCycle(Streams.BerthSession session) {
    AcquireRequest acquire = render("", CYCLE_URL); // the stream's own session
    return done ->
        session.acquire(
            acquire,
            new StreamStep(done) {
              @Override
              public void result(SessionEvent event) {
                AcquireResult result = event.getAcquireResult();
                if (!result.hasResponse() || !result.getResponse().hasGranted()) {
                  done.completed(new IllegalStateException("acquire not granted: " + result));
                  return;
                }
                session.release(
                    ReleaseRequest.newBuilder()
                        .setLeaseId(result.getResponse().getGranted().getLeaseId())
                        .setOutcome(SUCCESS)
                        .build(),
                    new StreamStep(done) {
                      @Override
                      public void result(SessionEvent released) {
                        done.completed(
                            released.getReleaseResult().hasError()
                                ? new IllegalStateException("release failed: " + released)
                                : null);
                      }
                    });
              }
            });
  }

  /** A step of a stream operation; a failed stream fails the operation. */
  private abstract static class StreamStep implements Streams.StreamCall {
    final LoadGen.Done done;

    StreamStep(LoadGen.Done done) {
      this.done = done;
    }

    @Override
    public void failed(Throwable error) {
      done.completed(error);
    }
  }

  /** An Acquire the broker refuses (rate limited), which must answer as fast as a ping. */
  public static LoadGen.Op berthRefused(Channel channel, String sessionId) {
    LeaseBrokerGrpc.LeaseBrokerStub stub = LeaseBrokerGrpc.newStub(channel);
    AcquireRequest acquire = render(sessionId, "https://" + REFUSED_HOST + "/page");
    return done ->
        stub.acquire(
            acquire,
            new Then<AcquireResponse>(done) {
              @Override
              void next(AcquireResponse response) {
                if (response.hasGranted()) {
                  // Only the bucket's single first token grants; give it back and go on.
                  stub.release(
                      ReleaseRequest.newBuilder()
                          .setSessionId(sessionId)
                          .setLeaseId(response.getGranted().getLeaseId())
                          .build(),
                      new Last<ReleaseResponse>(done));
                  return;
                }
                done.completed(null);
              }
            });
  }

  /**
   * G6's acquire, answered by {@link ShapedPing} with a refusal of the broker's shape and no broker
   * behind it: the cost of the refused acquire's messages alone.
   */
  public static LoadGen.Op shapedRefused(Channel channel, String sessionId) {
    AcquireRequest acquire = render(sessionId, "https://" + REFUSED_HOST + "/page");
    return done -> ShapedPing.refuse(channel, acquire, new Last<AcquireResponse>(done));
  }

  static AcquireRequest render(String sessionId, String url) {
    return AcquireRequest.newBuilder()
        .setSessionId(sessionId)
        .setKind(ResourceKind.RESOURCE_KIND_RENDER)
        .setUrl(url)
        .build();
  }

  /** etcd's lease cycle: LeaseGrant (TTL 60 s), then LeaseRevoke. */
  public static LoadGen.Op etcdCycle(Channel channel) {
    LeaseGrpc.LeaseStub stub = LeaseGrpc.newStub(channel);
    LeaseGrantRequest grant = LeaseGrantRequest.newBuilder().setTTL(60).build();
    return done ->
        stub.leaseGrant(
            grant,
            new Then<LeaseGrantResponse>(done) {
              @Override
              void next(LeaseGrantResponse response) {
                if (!response.getError().isEmpty()) {
                  done.completed(new IllegalStateException("etcd grant: " + response.getError()));
                  return;
                }
                stub.leaseRevoke(
                    LeaseRevokeRequest.newBuilder().setID(response.getID()).build(),
                    new Last<LeaseRevokeResponse>(done));
              }
            });
  }

  /** Ends the operation when the call completes. */
  private static final class Last<T> implements StreamObserver<T> {
    private final LoadGen.Done done;

    Last(LoadGen.Done done) {
      this.done = done;
    }

    @Override
    public void onNext(T value) {}

    @Override
    public void onError(Throwable t) {
      done.completed(t);
    }

    @Override
    public void onCompleted() {
      done.completed(null);
    }
  }

  /** Hands the response of a unary call to {@link #next} once the call has completed. */
  private abstract static class Then<T> implements StreamObserver<T> {
    final LoadGen.Done done;
    private T response;

    Then(LoadGen.Done done) {
      this.done = done;
    }

    abstract void next(T response);

    @Override
    public void onNext(T value) {
      response = value;
    }

    @Override
    public void onError(Throwable t) {
      done.completed(t);
    }

    @Override
    public void onCompleted() {
      next(response);
    }
  }
}
