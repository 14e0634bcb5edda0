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
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionEvent;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;

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

  /** Berth's lease cycle: Acquire a RENDER lease, then Release it. */
  public static LoadGen.Op berthCycle(Channel channel, String sessionId) {
    LeaseBrokerGrpc.LeaseBrokerStub stub = LeaseBrokerGrpc.newStub(channel);
    AcquireRequest acquire = render(sessionId, CYCLE_URL);
    Outcome success = Outcome.newBuilder().setSuccess(true).build();
    return done ->
        stub.acquire(
            acquire,
            new Then<AcquireResponse>(done) {
              @Override
              void next(AcquireResponse response) {
                if (!response.hasGranted()) {
                  done.completed(
                      new IllegalStateException("acquire refused: " + response.getRefused()));
                  return;
                }
                stub.release(
                    ReleaseRequest.newBuilder()
                        .setSessionId(sessionId)
                        .setLeaseId(response.getGranted().getLeaseId())
                        .setOutcome(success)
                        .build(),
                    new Last<ReleaseResponse>(done));
              }
            });
  }

  /**
   * Berth's lease cycle on the session stream: an acquire of a RENDER lease, then its release, both
   * as calls on {@code session}'s stream. Any number of these share one stream, answered by
   * call_id.
   */
  public static LoadGen.Op streamCycle(Streams.BerthSession session) {
    AcquireRequest acquire = render("", CYCLE_URL); // the stream's own session
    Outcome success = Outcome.newBuilder().setSuccess(true).build();
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
                        .setOutcome(success)
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
