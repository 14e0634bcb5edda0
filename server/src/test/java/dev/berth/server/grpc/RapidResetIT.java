package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.time.FakeTimeSource;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The HTTP/2 "rapid reset" defence on a real Netty listener: a client that opens streams and
 * cancels them faster than {@link BrokerServer#MAX_RST_FRAMES_PER_WINDOW} per window loses its
 * connection; one that stays under it keeps it. A long-lived "canary" stream on the same connection
 * shows which happened.
 */
class RapidResetIT {
  private static final int BURST = 200;

  private final FakeTimeSource time = new FakeTimeSource();
  private Broker broker;
  private BrokerServer server;
  private ManagedChannel channel;

  @BeforeEach
  void start() {
    broker =
        new Broker(
            Policy.of(BrokerConfig.newBuilder().build()),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(1),
            HeapProbe.NONE);
    server =
        BrokerServer.netty(broker, time, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
  }

  @AfterEach
  void stop() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdown(Duration.ofSeconds(1));
  }

  @Test
  @Timeout(60)
  void cancellingPastTheCap_closesTheConnection_andTheServerServesOthers() throws Exception {
    Watch canary = Watch.open(channel);
    canary.awaitFirstMessage();

    int bursts = BrokerServer.MAX_RST_FRAMES_PER_WINDOW / BURST + 2;
    for (int i = 0; i < bursts && !canary.ended.isDone(); i++) {
      cancelBurst();
    }

    Status ended = canary.ended.get(20, TimeUnit.SECONDS);
    // The server sends GOAWAY ENHANCE_YOUR_CALM (the client reports RESOURCE_EXHAUSTED) and closes
    // the connection; a client still writing may see the closed socket first (UNAVAILABLE).
    assertThat(ended.getCode())
        .as("%s", ended)
        .isIn(Status.Code.RESOURCE_EXHAUSTED, Status.Code.UNAVAILABLE);
    if (ended.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
      assertThat(ended.getDescription()).contains("too_many_rststreams");
    }
    ManagedChannel other =
        NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    try {
      assertThat(check(other)).isEqualTo(ServingStatus.SERVING);
    } finally {
      other.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  @Timeout(60)
  void cancellingUnderTheCap_keepsTheConnection() throws Exception {
    Watch canary = Watch.open(channel);
    canary.awaitFirstMessage();

    int bursts = BrokerServer.MAX_RST_FRAMES_PER_WINDOW / BURST - 1;
    for (int i = 0; i < bursts; i++) {
      cancelBurst();
    }
    // Frames on one connection are read in order: had the resets above closed it, this call,
    // sent after them on the same connection, would fail.
    assertThat(check(channel)).isEqualTo(ServingStatus.SERVING);
    assertThat(canary.ended).as("the canary stream is still open").isNotDone();
  }

  /**
   * Opens {@link #BURST} streams, waits until each is live on the server, then cancels them all.
   */
  private void cancelBurst() throws InterruptedException {
    List<Watch> watches = new ArrayList<>();
    for (int i = 0; i < BURST; i++) {
      watches.add(Watch.open(channel));
    }
    for (Watch watch : watches) {
      if (!watch.awaitFirstMessage()) {
        break; // the connection went away under us
      }
    }
    for (Watch watch : watches) {
      watch.cancel();
    }
  }

  private static ServingStatus check(ManagedChannel channel) {
    return HealthGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance())
        .getStatus();
  }

  /** A health Watch: a server stream that answers at once and then stays open. */
  private static final class Watch
      implements ClientResponseObserver<HealthCheckRequest, HealthCheckResponse> {
    private final CountDownLatch first = new CountDownLatch(1);
    private final CompletableFuture<Status> ended = new CompletableFuture<>();
    private ClientCallStreamObserver<HealthCheckRequest> call;

    static Watch open(ManagedChannel channel) {
      Watch watch = new Watch();
      HealthGrpc.newStub(channel).watch(HealthCheckRequest.getDefaultInstance(), watch);
      return watch;
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<HealthCheckRequest> requestStream) {
      this.call = requestStream;
    }

    /** True once the server has answered: the stream exists on the wire, so a cancel resets it. */
    boolean awaitFirstMessage() throws InterruptedException {
      return first.await(10, TimeUnit.SECONDS) && !ended.isDone();
    }

    void cancel() {
      call.cancel("rapid reset", null);
    }

    @Override
    public void onNext(HealthCheckResponse value) {
      first.countDown();
    }

    @Override
    public void onError(Throwable t) {
      ended.complete(Status.fromThrowable(t));
      first.countDown();
    }

    @Override
    public void onCompleted() {
      ended.complete(Status.OK);
      first.countDown();
    }
  }
}
