package dev.berth.bench.suite;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.epoll.Epoll;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The generator's channels: plaintext gRPC over loopback on Netty, callbacks run on the transport
 * thread (no executor hop on the client, so the client adds as little as it can to every figure).
 * Netty uses epoll when its native library loads, NIO otherwise; {@link #transport()} says which.
 *
 * <p>Stateless and thread-safe.
 */
public final class Channels {
  private Channels() {}

  public static ManagedChannel open(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .usePlaintext()
        .directExecutor()
        .build();
  }

  /** "epoll" or "nio": what grpc-netty picks in this JVM (and in the bench servers). */
  public static String transport() {
    try {
      return Epoll.isAvailable() ? "epoll" : "nio";
    } catch (LinkageError e) {
      return "nio";
    }
  }

  public static void closeAll(List<ManagedChannel> channels) {
    for (ManagedChannel c : channels) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels) {
      try {
        c.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
