package dev.berth.server.grpc;

import static dev.berth.server.grpc.AuthServiceTest.TOKENS;
import static dev.berth.server.grpc.AuthServiceTest.TOKEN_A;
import static dev.berth.server.grpc.AuthServiceTest.TOKEN_B;
import static dev.berth.server.grpc.AuthServiceTest.bearer;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.server.config.Policy;
import dev.berth.server.config.PrincipalCaps;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The per-principal call-rate cap over the in-process transport on the fake clock: calls past it
 * are refused RESOURCE_EXHAUSTED naming the cap after a one-second hold; other principals and
 * health checks are not affected.
 */
class CallRateServiceTest {
  private final InProcessBroker b =
      new InProcessBroker(
          Policy.of(InProcessBroker.config().build()).withCaps(new PrincipalCaps(0, 0, 0, 2)),
          BrokerServer.Options.DEFAULT.withTokens(TOKENS));

  @AfterEach
  void tearDown() {
    b.close();
  }

  private ListenableFuture<ReleaseResponse> release(String token) {
    return bearer(LeaseBrokerGrpc.newFutureStub(b.channel), token)
        .release(ReleaseRequest.newBuilder().setSessionId("s").setLeaseId("l").build());
  }

  private static Status statusOf(ListenableFuture<?> call) throws InterruptedException {
    try {
      call.get();
      return Status.OK;
    } catch (ExecutionException e) {
      return Status.fromThrowable(e.getCause());
    }
  }

  @Test
  void release_pastCallRate_refusedResourceExhaustedNamingCapAfterOneSecondsHold()
      throws Exception {
    assertThat(statusOf(release(TOKEN_A)).getCode()).isNotEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(statusOf(release(TOKEN_A)).getCode()).isNotEqualTo(Status.Code.RESOURCE_EXHAUSTED);

    ListenableFuture<ReleaseResponse> third = release(TOKEN_A);
    assertThat(third.isDone()).as("the refusal is held back").isFalse();
    b.time.advanceMillis(999);
    assertThat(third.isDone()).isFalse();
    b.time.advanceMillis(1);

    Status status = statusOf(third);
    assertThat(status.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(status.getDescription())
        .contains("principal 'crawler-a'")
        .contains("caps.calls_per_second_per_principal");
    // The refused call took no token: those that came back meanwhile serve the next calls.
    assertThat(statusOf(release(TOKEN_A)).getCode()).isNotEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }

  @Test
  void release_onePrincipalAtItsCallRate_otherPrincipalAndHealthUnaffected() throws Exception {
    assertThat(statusOf(release(TOKEN_A)).getCode()).isNotEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(statusOf(release(TOKEN_A)).getCode()).isNotEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    ListenableFuture<ReleaseResponse> refused = release(TOKEN_A);

    assertThat(statusOf(release(TOKEN_B)).getCode()).isNotEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    for (int i = 0; i < 10; i++) {
      HealthGrpc.newBlockingStub(b.channel).check(HealthCheckRequest.getDefaultInstance());
    }
    b.time.advanceMillis(1000);
    assertThat(statusOf(refused).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
  }
}
