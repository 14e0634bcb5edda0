package dev.berth.client.internal;

import dev.berth.client.BrokerClient;
import dev.berth.client.BrokerClientProvider;

/**
 * The SDK's implementation as {@link BrokerClient.Builder#build()} finds it: registered in {@code
 * META-INF/services}, it connects a {@link GrpcBrokerClient}. The one public way into this package
 * from {@code dev.berth.client}, which does not import it. Stateless and thread-safe.
 */
public final class GrpcBrokerClientProvider extends BrokerClientProvider {

  /** For {@link java.util.ServiceLoader}. */
  public GrpcBrokerClientProvider() {}

  @Override
  protected BrokerClient connect(Settings settings) {
    return GrpcBrokerClient.connect(settings);
  }
}
