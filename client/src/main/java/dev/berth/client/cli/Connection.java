package dev.berth.client.cli;

import dev.berth.client.cli.options.ConnectionOptions;
import dev.berth.client.internal.ChannelSecurity;
import dev.berth.proto.v1.BrokerAdminGrpc;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The CLI's one channel to a broker, with the bearer token (if any) on every call and the {@code
 * --timeout} as each unary call's deadline. Thread-safe; close it when done.
 */
final class Connection implements AutoCloseable {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String target;
  private final Duration timeout;
  private final ManagedChannel managed;
  private final Channel channel;

  private Connection(String target, Duration timeout, ManagedChannel managed, String token) {
    this.target = target;
    this.timeout = timeout;
    this.managed = managed;
    if (token == null || token.isEmpty()) {
      this.channel = managed;
    } else {
      Metadata headers = new Metadata();
      headers.put(AUTHORIZATION, "Bearer " + token);
      this.channel =
          ClientInterceptors.intercept(managed, MetadataUtils.newAttachHeadersInterceptor(headers));
    }
  }

  /**
   * A connection as {@code settings} say: to their target, over TLS or plaintext, with their token
   * and timeout; nothing is sent until the first call.
   *
   * @throws IllegalArgumentException naming the {@code --tls-*} option and file that cannot be used
   */
  static Connection open(ConnectionOptions.Settings settings) {
    ManagedChannel channel =
        ChannelSecurity.channelBuilder(
                settings.target(), settings.tls(), ChannelSecurity.OptionNames.FLAGS)
            .userAgent("berth-cli")
            .build();
    return new Connection(settings.target(), settings.timeout(), channel, settings.token());
  }

  String target() {
    return target;
  }

  Duration timeout() {
    return timeout;
  }

  /** A stub for one unary call, its deadline {@code --timeout} from now. */
  BrokerAdminGrpc.BrokerAdminBlockingStub admin() {
    return BrokerAdminGrpc.newBlockingStub(channel)
        .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** A stub without deadline, for the watch stream, which lasts until cancelled. */
  BrokerAdminGrpc.BrokerAdminBlockingStub streaming() {
    return BrokerAdminGrpc.newBlockingStub(channel);
  }

  @Override
  public void close() {
    managed.shutdownNow();
    try {
      managed.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
