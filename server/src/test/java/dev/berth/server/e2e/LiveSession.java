package dev.berth.server.e2e;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** A session over a real channel that heartbeats in the background, for end-to-end tests. */
final class LiveSession implements AutoCloseable {
  private final Channel channel;
  private final StreamObserver<SessionRequest> requests;
  private final ScheduledExecutorService heartbeats = Executors.newSingleThreadScheduledExecutor();
  final CompletableFuture<Opened> opened = new CompletableFuture<>();
  final CompletableFuture<Status> ended = new CompletableFuture<>();
  private long seq;

  LiveSession(Channel channel, String workerId) throws Exception {
    this(channel, Hello.newBuilder().setWorkerId(workerId));
  }

  /** A session opened with {@code hello}, e.g. one resuming a session with its held leases. */
  LiveSession(Channel channel, Hello.Builder hello) throws Exception {
    this.channel = channel;
    this.requests =
        LeaseBrokerGrpc.newStub(channel)
            .openSession(
                new StreamObserver<>() {
                  @Override
                  public void onNext(SessionEvent event) {
                    if (event.hasOpened()) {
                      opened.complete(event.getOpened());
                    }
                  }

                  @Override
                  public void onError(Throwable t) {
                    opened.completeExceptionally(t); // a refused hello fails the constructor
                    ended.complete(Status.fromThrowable(t));
                  }

                  @Override
                  public void onCompleted() {
                    ended.complete(Status.OK);
                  }
                });
    send(SessionRequest.newBuilder().setHello(hello).build());
    opened.get(10, TimeUnit.SECONDS);
    // Stopped by close(), which shuts the executor down; send() does nothing once the stream has
    // ended, so the task has no failure to read from its future.
    var unused =
        heartbeats.scheduleAtFixedRate(
            () ->
                send(
                    SessionRequest.newBuilder()
                        .setHeartbeat(Heartbeat.newBuilder().setSeq(++seq))
                        .build()),
            200,
            200,
            TimeUnit.MILLISECONDS);
  }

  private synchronized void send(SessionRequest request) {
    if (!ended.isDone()) {
      requests.onNext(request);
    }
  }

  String id() {
    return opened.join().getSessionId();
  }

  AcquireResponse acquireRender(String url, long waitMillis) {
    return LeaseBrokerGrpc.newBlockingStub(channel)
        .withDeadlineAfter(waitMillis + 10_000, TimeUnit.MILLISECONDS)
        .acquire(
            AcquireRequest.newBuilder()
                .setSessionId(id())
                .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                .setUrl(url)
                .setWait(
                    com.google.protobuf.Duration.newBuilder()
                        .setSeconds(waitMillis / 1000)
                        .setNanos((int) (waitMillis % 1000) * 1_000_000))
                .build());
  }

  void release(String leaseId) {
    LeaseBrokerGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .release(ReleaseRequest.newBuilder().setSessionId(id()).setLeaseId(leaseId).build());
  }

  @Override
  public void close() {
    heartbeats.shutdownNow();
  }
}
