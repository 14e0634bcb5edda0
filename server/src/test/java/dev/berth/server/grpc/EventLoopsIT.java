package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.time.FakeTimeSource;
import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code transport.event_loops} on a real Netty listener: the connections run on the server's own
 * loops, as many as configured, and those threads end when the server stops.
 */
class EventLoopsIT {
  private final FakeTimeSource time = new FakeTimeSource();

  @Test
  @Timeout(60)
  void twoLoops_serveEveryConnection_onTwoThreads_thatEndWithTheServer() throws Exception {
    Broker broker = broker();
    BrokerServer server =
        BrokerServer.netty(
                broker,
                time,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                BrokerServer.Options.DEFAULT.withEventLoops(2))
            .start();
    List<ManagedChannel> channels = new ArrayList<>();
    try {
      // Connections are handed to the loops in turn, so three of them use both.
      for (int i = 0; i < 3; i++) {
        ManagedChannel channel =
            NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
        channels.add(channel);
        assertThat(
                HealthGrpc.newBlockingStub(channel)
                    .check(HealthCheckRequest.getDefaultInstance())
                    .getStatus())
            .isEqualTo(ServingStatus.SERVING);
      }
      assertThat(loopThreads()).hasSize(2);
    } finally {
      for (ManagedChannel channel : channels) {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
    List<Thread> loops = loopThreads();
    server.shutdown(Duration.ofSeconds(1));

    for (Thread loop : loops) {
      loop.join(10_000);
    }
    assertThat(loops).noneMatch(Thread::isAlive);
  }

  @Test
  @Timeout(60)
  void zeroLoops_leavesTheTransportsDefault_andMakesNoThreadOfItsOwn() throws Exception {
    Broker broker = broker();
    BrokerServer server =
        BrokerServer.netty(broker, time, new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
            .start();
    ManagedChannel channel =
        NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
    try {
      assertThat(
              HealthGrpc.newBlockingStub(channel)
                  .check(HealthCheckRequest.getDefaultInstance())
                  .getStatus())
          .isEqualTo(ServingStatus.SERVING);
      assertThat(loopThreads()).isEmpty();
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.shutdown(Duration.ofSeconds(1));
    }
  }

  @Test
  @Timeout(60)
  void portTaken_startFails_andTheLoopsItMadeEnd() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      BrokerServer server =
          BrokerServer.netty(
              broker(),
              time,
              new InetSocketAddress(InetAddress.getLoopbackAddress(), taken.getLocalPort()),
              BrokerServer.Options.DEFAULT.withEventLoops(2));

      assertThatThrownBy(server::start)
          .isInstanceOf(UncheckedIOException.class)
          .hasMessageStartingWith("cannot listen");

      // The accepting loop ran the failed bind; it and any loop that started have ended.
      List<Thread> own = ownThreads();
      for (Thread thread : own) {
        thread.join(10_000);
      }
      assertThat(ownThreads()).isEmpty();
    }
  }

  private Broker broker() {
    return new Broker(
        Policy.of(BrokerConfig.newBuilder().build()),
        time,
        1,
        () -> 2,
        LeaseIds.seeded(1),
        HeapProbe.NONE);
  }

  /** The live threads, accepting or running connections, of loops a server made for itself. */
  private static List<Thread> ownThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(
            t ->
                t.isAlive()
                    && (t.getName().startsWith(EventLoops.THREAD_PREFIX)
                        || t.getName().startsWith(EventLoops.ACCEPT_PREFIX)))
        .toList();
  }

  /** The live threads of loops a server made for itself ({@link EventLoops}). */
  private static List<Thread> loopThreads() {
    return Thread.getAllStackTraces().keySet().stream()
        .filter(t -> t.isAlive() && t.getName().startsWith(EventLoops.THREAD_PREFIX))
        .toList();
  }
}
