package dev.berth.client.cli;

import dev.berth.client.cli.options.ConnectionOptions;
import dev.berth.client.internal.ChannelSecurity;
import dev.berth.client.internal.LeaderTargets;
import dev.berth.client.internal.NotLeader;
import dev.berth.proto.v1.BrokerAdminGrpc;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The CLI's channels to a broker, or to the members of a cluster, with the bearer token (if any) on
 * every call and the {@code --timeout} as each unary call's deadline. Calls go to one member at a
 * time; {@link #reroute} moves them to the leader a NOT_LEADER answer names, or to the next member
 * when one cannot be reached. Thread-safe; close it when done.
 */
final class Connection implements AutoCloseable {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final Duration timeout;
  private final LeaderTargets targets;

  private Connection(ConnectionOptions.Settings settings) {
    this.timeout = settings.timeout();
    String token = settings.token();
    this.targets =
        new LeaderTargets(
            settings.targets(),
            target ->
                ChannelSecurity.channelBuilder(
                        target, settings.tls(), ChannelSecurity.OptionNames.FLAGS)
                    .userAgent("berth-cli")
                    .build(),
            managed -> {
              if (token == null || token.isEmpty()) {
                return managed;
              }
              Metadata headers = new Metadata();
              headers.put(AUTHORIZATION, "Bearer " + token);
              return ClientInterceptors.intercept(
                  managed, MetadataUtils.newAttachHeadersInterceptor(headers));
            });
  }

  /**
   * A connection as {@code settings} say: to their brokers, over TLS or plaintext, with their token
   * and timeout; nothing is sent until the first call.
   *
   * @throws IllegalArgumentException naming the {@code --tls-*} option and file that cannot be used
   */
  static Connection open(ConnectionOptions.Settings settings) {
    Connection connection = new Connection(settings);
    try {
      connection.targets.channel(); // the first broker's channel now: a bad TLS file fails here
    } catch (IllegalArgumentException e) {
      connection.close();
      throw e;
    }
    return connection;
  }

  /** The broker calls go to now. */
  String target() {
    return targets.current();
  }

  Duration timeout() {
    return timeout;
  }

  /** A stub for one unary call, its deadline {@code --timeout} from now. */
  BrokerAdminGrpc.BrokerAdminBlockingStub admin() {
    return BrokerAdminGrpc.newBlockingStub(targets.channel())
        .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** A stub without deadline, for the watch stream, which lasts until cancelled. */
  BrokerAdminGrpc.BrokerAdminBlockingStub streaming() {
    return BrokerAdminGrpc.newBlockingStub(targets.channel());
  }

  /**
   * Whether a command that failed with {@code error} on its {@code attempt}-th try (from 0) should
   * run again, and where: at the leader a NOT_LEADER answer named, or at the next broker when this
   * one could not be reached or knew no leader. Each broker is tried at most about twice, so a
   * cluster with no leader ends the command with the last error instead of spinning.
   */
  boolean reroute(StatusRuntimeException error, int attempt) {
    if (attempt >= 2 * targets.size()) {
      return false;
    }
    String target = targets.current();
    Optional<String> hint = NotLeader.hint(error);
    if (hint.isPresent() && !hint.get().isEmpty() && !hint.get().equals(target)) {
      return targets.follow(hint.get());
    }
    if ((hint.isPresent() || error.getStatus().getCode() == Status.Code.UNAVAILABLE)
        && targets.size() > 1) {
      targets.failed(target);
      return true;
    }
    return false;
  }

  @Override
  public void close() {
    targets.close(2_000);
  }
}
