package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.AuthServiceTest.TOKENS;
import static dev.berth.server.grpc.AuthServiceTest.TOKEN_A;
import static dev.berth.server.grpc.AuthServiceTest.TOKEN_B;
import static dev.berth.server.grpc.AuthServiceTest.bearer;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PrincipalCaps;
import dev.berth.server.lease.ResourceKind;
import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Per-principal caps over the in-process transport: exceeding one is RESOURCE_EXHAUSTED naming the
 * cap, it touches only that principal, and the capacity comes back after a release or goodbye.
 */
class CapsServiceTest {
  private InProcessBroker b;

  private void start(PrincipalCaps caps, int renderLimit) {
    b =
        new InProcessBroker(
            Policy.of(InProcessBroker.config().limit(ResourceKind.RENDER, renderLimit).build())
                .withCaps(caps),
            BrokerServer.Options.DEFAULT.withTokens(TOKENS));
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  private SessionRecorder session(String token, String workerId) {
    SessionRecorder s = SessionRecorder.open(bearer(b.async, token));
    s.hello(workerId);
    return s;
  }

  private LeaseBrokerGrpc.LeaseBrokerBlockingStub stub(String token) {
    return bearer(b.blocking, token);
  }

  @Test
  void openSession_pastSessionCap_resourceExhaustedNamingCap_freedByGoodbye() {
    start(new PrincipalCaps(2, 0, 0), 8);
    SessionRecorder first = session(TOKEN_A, "a1");
    session(TOKEN_A, "a2");

    SessionRecorder third = SessionRecorder.open(bearer(b.async, TOKEN_A));
    third.send(SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("a3")).build());

    Status status = third.status();
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription()).contains("caps.sessions_per_principal");
    session(TOKEN_B, "b1"); // another principal is not affected

    first.goodbye();
    first.status();
    session(TOKEN_A, "a3");
    assertThat(b.broker.sessionCount()).isEqualTo(3);
  }

  @Test
  void acquire_pastLeaseCap_resourceExhaustedNamingCap_freedByRelease() {
    start(new PrincipalCaps(0, 2, 0), 8);
    SessionRecorder a = session(TOKEN_A, "a");
    Lease first =
        stub(TOKEN_A).acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build()).getGranted();
    assertThat(
            stub(TOKEN_A)
                .acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build())
                .hasGranted())
        .isTrue();

    Status status =
        failure(
            Status.Code.RESOURCE_EXHAUSTED,
            () -> stub(TOKEN_A).acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build()));
    assertThat(status.getDescription()).contains("caps.leases_per_principal");
    SessionRecorder other = session(TOKEN_B, "b");
    assertThat(
            stub(TOKEN_B)
                .acquire(request(other.sessionId(), RESOURCE_KIND_RENDER).build())
                .hasGranted())
        .isTrue();

    stub(TOKEN_A)
        .release(
            ReleaseRequest.newBuilder()
                .setSessionId(a.sessionId())
                .setLeaseId(first.getLeaseId())
                .build());
    assertThat(
            stub(TOKEN_A)
                .acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build())
                .hasGranted())
        .isTrue();
  }

  @Test
  void acquire_pastQueueCap_resourceExhaustedNamingCap_freedWhenTheWaiterIsServed() {
    start(new PrincipalCaps(0, 0, 1), 1);
    SessionRecorder holder = session(TOKEN_B, "b");
    Lease held =
        stub(TOKEN_B)
            .acquire(request(holder.sessionId(), RESOURCE_KIND_RENDER).build())
            .getGranted();
    SessionRecorder a = session(TOKEN_A, "a");
    Future<AcquireResponse> waiting =
        bearer(b.future, TOKEN_A)
            .acquire(
                request(a.sessionId(), RESOURCE_KIND_RENDER)
                    .setWait(proto(Duration.ofMinutes(1)))
                    .build());
    assertThat(waiting.isDone()).isFalse();

    Status status =
        failure(
            Status.Code.RESOURCE_EXHAUSTED,
            () ->
                stub(TOKEN_A)
                    .acquire(
                        request(a.sessionId(), RESOURCE_KIND_RENDER)
                            .setWait(proto(Duration.ofMinutes(1)))
                            .build()));
    assertThat(status.getDescription()).contains("caps.queued_per_principal");

    stub(TOKEN_B)
        .release(
            ReleaseRequest.newBuilder()
                .setSessionId(holder.sessionId())
                .setLeaseId(held.getLeaseId())
                .build());
    assertThat(InProcessBroker.answered(waiting).hasGranted()).isTrue();
    Future<AcquireResponse> again =
        bearer(b.future, TOKEN_A)
            .acquire(
                request(a.sessionId(), RESOURCE_KIND_RENDER)
                    .setWait(proto(Duration.ofMinutes(1)))
                    .build());
    assertThat(again.isDone()).as("queued again, not refused").isFalse();
    again.cancel(true);
  }
}
