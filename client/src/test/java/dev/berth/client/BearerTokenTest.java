package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
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
            .addService(ServerInterceptors.intercept(new OpensSessions(), recordHeaders))
            .build()
            .start();
    try (BrokerClient client =
            BrokerClient.newBuilder()
                .bearerToken("s3cret")
                .build(InProcessChannelBuilder.forName(name).directExecutor().build());
        WorkerSession session = client.openSession("worker-1")) {
      assertThat(session.sessionId()).isEqualTo("s-1");
    } finally {
      server.shutdownNow();
    }
    assertThat(seen).containsExactly("Bearer s3cret");
  }

  /** Answers hello with {@code opened} and goodbye by ending the stream; nothing else. */
  private static final class OpensSessions extends LeaseBrokerGrpc.LeaseBrokerImplBase {
    @Override
    public StreamObserver<SessionRequest> openSession(StreamObserver<SessionEvent> events) {
      return new StreamObserver<>() {
        @Override
        public void onNext(SessionRequest request) {
          if (request.hasHello()) {
            events.onNext(
                SessionEvent.newBuilder()
                    .setOpened(Opened.newBuilder().setSessionId("s-1").setBrokerEpoch(1))
                    .build());
          } else if (request.hasGoodbye()) {
            events.onCompleted();
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
  }
}
