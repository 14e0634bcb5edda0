package dev.berth.bench.suite;

import dev.berth.bench.etcd.LeaseGrantRequest;
import dev.berth.bench.etcd.LeaseGrpc;
import dev.berth.bench.etcd.LeaseKeepAliveRequest;
import dev.berth.bench.etcd.LeaseKeepAliveResponse;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Long-lived streams the goals hold open: Berth sessions ({@code OpenSession}) and etcd keep-alive
 * streams ({@code LeaseKeepAlive}). Each can be driven closed-loop ({@link Beating#op}: send one
 * heartbeat, complete on its answer) or heartbeated in the background ({@link Beating#beat()}).
 *
 * <p>A stream's {@code beat()} is thread-safe; one closed-loop driver at a time.
 */
public final class Streams {
  private Streams() {}

  /** A stream that answers each heartbeat it is sent. */
  public interface Beating {
    /** Sends one heartbeat; thread-safe. */
    void beat();

    /** Sends a heartbeat and completes {@code done} on its answer; one at a time. */
    void beat(LoadGen.Done done);

    /** Ends the stream. */
    void close();

    /** As a closed-loop operation: heartbeat, answer, heartbeat … */
    default LoadGen.Op op() {
      return this::beat;
    }
  }

  /**
   * Opens a Berth session and waits (at most 30 s) for it to be {@code Opened}.
   *
   * @param changingUsage when true, heartbeats alternate the memory they report so the broker
   *     cannot answer them from its throttle: every one reaches the broker's session table
   */
  public static BerthSession openBerth(Channel channel, String workerId, boolean changingUsage)
      throws InterruptedException {
    BerthSession s = startBerth(channel, workerId, changingUsage);
    s.awaitOpened();
    return s;
  }

  /** Opens a Berth session without waiting; {@link BerthSession#awaitOpened} waits. */
  public static BerthSession startBerth(Channel channel, String workerId, boolean changingUsage) {
    BerthSession s = new BerthSession(workerId, changingUsage);
    s.requests = LeaseBrokerGrpc.newStub(channel).openSession(s);
    s.send(
        SessionRequest.newBuilder()
            .setHello(Hello.newBuilder().setWorkerId(workerId).setMemoryLimitMb(1024))
            .build());
    return s;
  }

  /** Grants an etcd lease (TTL 600 s) and opens a keep-alive stream for it. */
  public static EtcdKeepAlive openEtcd(Channel channel) {
    long id =
        LeaseGrpc.newBlockingStub(channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .leaseGrant(LeaseGrantRequest.newBuilder().setTTL(600).build())
            .getID();
    EtcdKeepAlive s = new EtcdKeepAlive(id);
    s.requests = LeaseGrpc.newStub(channel).leaseKeepAlive(s);
    return s;
  }

  private static <T> T await(CompletableFuture<T> f, String what) throws InterruptedException {
    try {
      return f.get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new IllegalStateException(what + " failed: " + e.getCause(), e.getCause());
    } catch (TimeoutException e) {
      throw new IllegalStateException(what + ": no answer in 30 s", e);
    }
  }

  /** The parts both kinds of stream share: one pending answer, sends serialized. */
  private abstract static class Base<Req, Resp> implements StreamObserver<Resp>, Beating {
    StreamObserver<Req> requests;
    private volatile LoadGen.Done pending;
    volatile Throwable failed;

    abstract Req heartbeat();

    synchronized void send(Req request) {
      requests.onNext(request);
    }

    @Override
    public void beat() {
      if (failed != null) {
        throw new IllegalStateException("stream failed: " + failed, failed);
      }
      send(heartbeat());
    }

    @Override
    public void beat(LoadGen.Done done) {
      pending = done;
      beat();
    }

    /** An answer to a heartbeat arrived. */
    void answered() {
      LoadGen.Done d = pending;
      if (d != null) {
        pending = null;
        d.completed(null);
      }
    }

    @Override
    public void onError(Throwable t) {
      failed = t;
      LoadGen.Done d = pending;
      if (d != null) {
        pending = null;
        d.completed(t);
      }
    }

    @Override
    public void onCompleted() {
      onError(new IllegalStateException("server ended the stream"));
    }

    @Override
    public synchronized void close() {
      try {
        requests.onCompleted();
      } catch (IllegalStateException e) {
        // already closed by the server
      }
    }
  }

  /** One Berth session. */
  public static final class BerthSession extends Base<SessionRequest, SessionEvent> {
    private final String workerId;
    private final boolean changingUsage;
    private final CompletableFuture<String> opened = new CompletableFuture<>();
    private volatile String sessionId;
    private long seq;

    BerthSession(String workerId, boolean changingUsage) {
      this.workerId = workerId;
      this.changingUsage = changingUsage;
    }

    /** Waits (at most 30 s) for the broker to open the session. */
    public void awaitOpened() throws InterruptedException {
      sessionId = await(opened, "session hello of " + workerId);
    }

    public String id() {
      return sessionId;
    }

    @Override
    SessionRequest heartbeat() {
      long n = ++seq; // beat() holds the lock, so seq and send order agree
      Heartbeat.Builder hb = Heartbeat.newBuilder().setSeq(n).setMemoryLimitMb(1024);
      hb.setMemoryUsedMb(changingUsage ? 100 + (n & 1) : 100);
      return SessionRequest.newBuilder().setHeartbeat(hb).build();
    }

    @Override
    public synchronized void beat() {
      super.beat(); // seq and send under one lock: heartbeats leave in seq order
    }

    @Override
    public void onNext(SessionEvent event) {
      switch (event.getEventCase()) {
        case OPENED -> opened.complete(event.getOpened().getSessionId());
        case HEARTBEAT_ACK -> answered();
        default -> {
          // revoke, cleanup, drain: the bench holds no leases on these sessions
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      opened.completeExceptionally(t);
      super.onError(t);
    }
  }

  /** One etcd lease with its keep-alive stream. */
  public static final class EtcdKeepAlive
      extends Base<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
    private final LeaseKeepAliveRequest request;

    EtcdKeepAlive(long leaseId) {
      this.request = LeaseKeepAliveRequest.newBuilder().setID(leaseId).build();
    }

    @Override
    LeaseKeepAliveRequest heartbeat() {
      return request;
    }

    @Override
    public void onNext(LeaseKeepAliveResponse response) {
      answered();
    }
  }
}
