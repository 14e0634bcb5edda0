package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessServerBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/** The bearer token travels as {@code authorization} metadata on every call. */
class BearerTokenTest {
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @Test
  void openSession_withBearerToken_sendsAuthorizationHeader() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    ServerInterceptor recordHeaders =
        new ServerInterceptor() {
          @Override
          public <Q, R> ServerCall.Listener<Q> interceptCall(
              ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
            seen.add(headers.get(AUTHORIZATION));
            return next.startCall(call, headers);
          }
        };
    String name = InProcessServerBuilder.generateName();
    Server server =
        InProcessServerBuilder.forName(name)
            .directExecutor()
            .addService(ServerInterceptors.intercept(opensOneSession(), recordHeaders))
            .build()
            .start();
    try (BrokerClient client =
            TestBroker.connect(
                name,
                TestBroker.clientBuilder(name).ticker(new FakeTicker()).bearerToken("s3cret"));
        WorkerSession session = client.openSession("worker-1")) {
      assertThat(session.sessionId()).isEqualTo("s-1");
    } finally {
      server.shutdownNow();
    }
    assertThat(seen).containsExactly("Bearer s3cret");
  }

  private static ScriptedBroker opensOneSession() {
    ScriptedBroker broker = new ScriptedBroker(Duration.ofMinutes(1), Duration.ofMinutes(5));
    broker.hellosToAnswer.set(1);
    return broker;
  }
}
