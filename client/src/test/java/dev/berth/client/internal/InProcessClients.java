package dev.berth.client.internal;

import dev.berth.client.BrokerClient;
import dev.berth.client.BrokerClientProvider;
import io.grpc.ClientInterceptor;
import io.grpc.inprocess.InProcessChannelBuilder;

/**
 * Connects the SDK to a broker over gRPC's in-process transport, for the SDK's tests: the public
 * builder knows only network targets. Stateless.
 */
public final class InProcessClients {
  private InProcessClients() {}

  /**
   * A client of the in-process server {@code serverName}, as {@code settings} say (their target and
   * TLS aside); callbacks run on the calling thread, as in the broker's own tests.
   */
  public static BrokerClient connect(String serverName, BrokerClientProvider.Settings settings) {
    return connect(java.util.List.of(serverName), settings);
  }

  /**
   * A client of the in-process servers {@code serverNames}, as members of one cluster: a follower's
   * NOT_LEADER hint names the in-process server of the leader.
   */
  public static BrokerClient connect(
      java.util.List<String> serverNames, BrokerClientProvider.Settings settings) {
    return GrpcBrokerClient.forChannels(
        serverNames,
        name -> InProcessChannelBuilder.forName(name).directExecutor().build(),
        settings);
  }

  /**
   * A client of the members {@code serverNames} whose channels {@code open} makes, e.g. one that
   * throws for a member as an unusable TLS file does.
   */
  public static BrokerClient connect(
      java.util.List<String> serverNames,
      BrokerClientProvider.Settings settings,
      java.util.function.Function<String, io.grpc.ManagedChannel> open) {
    return GrpcBrokerClient.forChannels(serverNames, open, settings);
  }

  /**
   * A client of the in-process server {@code serverName} whose channel passes every call through
   * {@code interceptor} (a test's way to lose or change messages on the wire).
   */
  public static BrokerClient connect(
      String serverName, BrokerClientProvider.Settings settings, ClientInterceptor interceptor) {
    return GrpcBrokerClient.forChannels(
        java.util.List.of(serverName),
        name ->
            InProcessChannelBuilder.forName(name).directExecutor().intercept(interceptor).build(),
        settings);
  }
}
