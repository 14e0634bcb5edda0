package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.config.Policy;
import dev.berth.server.security.Role;
import dev.berth.server.security.TokenRegistry;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.AbstractStub;
import io.grpc.stub.MetadataUtils;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bearer-token authentication and roles over the in-process transport: who may call which service,
 * and that one worker principal cannot touch another's sessions or leases.
 */
class AuthServiceTest {
  static final String TOKEN_A = "worker-a-token-0123456789";
  static final String TOKEN_B = "worker-b-token-0123456789";
  static final String TOKEN_ADMIN = "admin-token-0123456789";

  static final TokenRegistry TOKENS =
      TokenRegistry.of(
          List.of(
              new TokenRegistry.Entry(
                  "crawler-a", Set.of(Role.WORKER), TokenRegistry.hash(TOKEN_A)),
              new TokenRegistry.Entry(
                  "crawler-b", Set.of(Role.WORKER), TokenRegistry.hash(TOKEN_B)),
              new TokenRegistry.Entry("ops", Set.of(Role.ADMIN), TokenRegistry.hash(TOKEN_ADMIN))));

  private InProcessBroker b;

  @BeforeEach
  void setUp() {
    b =
        new InProcessBroker(
            Policy.of(InProcessBroker.config().build()),
            BrokerServer.Options.DEFAULT.withTokens(TOKENS));
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  static <S extends AbstractStub<S>> S as(S stub, String authorization) {
    Metadata headers = new Metadata();
    headers.put(AuthInterceptor.AUTHORIZATION, authorization);
    return stub.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  static <S extends AbstractStub<S>> S bearer(S stub, String token) {
    return as(stub, "Bearer " + token);
  }

  private SessionRecorder session(String token, String workerId) {
    SessionRecorder s = SessionRecorder.open(bearer(b.async, token));
    s.hello(workerId);
    return s;
  }

  @Test
  void acquire_noToken_unauthenticated() {
    Status status =
        failure(
            Status.Code.UNAUTHENTICATED,
            () -> b.blocking.acquire(request("s", RESOURCE_KIND_RENDER).build()));

    assertThat(status.getDescription()).contains("bearer token");
  }

  @Test
  void openSession_noToken_streamClosedUnauthenticated() {
    SessionRecorder stream = SessionRecorder.open(b.async);
    stream.send(SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("w")).build());

    assertThat(stream.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(b.broker.sessionCount()).isZero();
  }

  @Test
  void acquire_wrongToken_unauthenticatedWithoutEchoingIt() {
    Status status =
        failure(
            Status.Code.UNAUTHENTICATED,
            () ->
                bearer(b.blocking, "guessed-token-42")
                    .acquire(request("s", RESOURCE_KIND_RENDER).build()));

    assertThat(status.getDescription()).doesNotContain("guessed-token-42");
  }

  @Test
  void acquire_notBearerScheme_unauthenticated() {
    failure(
        Status.Code.UNAUTHENTICATED,
        () ->
            as(b.blocking, "Basic " + TOKEN_A).acquire(request("s", RESOURCE_KIND_RENDER).build()));
  }

  @Test
  void getStatus_workerToken_permissionDenied() {
    Status status =
        failure(
            Status.Code.PERMISSION_DENIED,
            () -> bearer(b.admin, TOKEN_A).getStatus(GetStatusRequest.getDefaultInstance()));

    assertThat(status.getDescription()).contains("crawler-a").contains("admin");
  }

  @Test
  void getStatus_adminToken_answered() {
    assertThat(bearer(b.admin, TOKEN_ADMIN).getStatus(GetStatusRequest.getDefaultInstance()))
        .isNotNull();
  }

  @Test
  void getStatus_adminTokenLowerCaseScheme_answered() {
    assertThat(
            as(b.admin, "bearer " + TOKEN_ADMIN).getStatus(GetStatusRequest.getDefaultInstance()))
        .isNotNull();
  }

  @Test
  void acquire_adminTokenWithoutWorkerRole_permissionDenied() {
    failure(
        Status.Code.PERMISSION_DENIED,
        () -> bearer(b.blocking, TOKEN_ADMIN).acquire(request("s", RESOURCE_KIND_RENDER).build()));
  }

  @Test
  void getStatus_noToken_unauthenticated() {
    failure(
        Status.Code.UNAUTHENTICATED,
        () ->
            BrokerAdminGrpc.newBlockingStub(b.channel)
                .getStatus(GetStatusRequest.newBuilder().build()));
  }

  @Test
  void healthCheck_noToken_serving() {
    HealthCheckResponse response =
        HealthGrpc.newBlockingStub(b.channel).check(HealthCheckRequest.getDefaultInstance());

    assertThat(response.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
  }

  @Test
  void acquire_ownSession_granted() {
    SessionRecorder a = session(TOKEN_A, "worker-a");

    assertThat(
            bearer(b.blocking, TOKEN_A)
                .acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build())
                .hasGranted())
        .isTrue();
  }

  @Test
  void acquire_anotherPrincipalsSession_permissionDenied() {
    SessionRecorder a = session(TOKEN_A, "worker-a");

    failure(
        Status.Code.PERMISSION_DENIED,
        () ->
            bearer(b.blocking, TOKEN_B)
                .acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build()));
    assertThat(b.broker.status().pools().stream().mapToInt(p -> p.inUse()).sum()).isZero();
  }

  @Test
  void release_anotherPrincipalsLease_permissionDeniedAndLeaseKept() {
    SessionRecorder a = session(TOKEN_A, "worker-a");
    Lease lease =
        bearer(b.blocking, TOKEN_A)
            .acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build())
            .getGranted();

    failure(
        Status.Code.PERMISSION_DENIED,
        () ->
            bearer(b.blocking, TOKEN_B)
                .release(
                    ReleaseRequest.newBuilder()
                        .setSessionId(a.sessionId())
                        .setLeaseId(lease.getLeaseId())
                        .build()));

    assertThat(
            bearer(b.blocking, TOKEN_A)
                .release(
                    ReleaseRequest.newBuilder()
                        .setSessionId(a.sessionId())
                        .setLeaseId(lease.getLeaseId())
                        .build())
                .getReleased())
        .isTrue();
  }

  @Test
  void resume_anotherPrincipalsSession_permissionDenied() {
    SessionRecorder a = session(TOKEN_A, "worker-a");
    Lease lease =
        bearer(b.blocking, TOKEN_A)
            .acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build())
            .getGranted();
    a.cancel(); // A's stream drops; its session lives on within the TTL

    SessionRecorder thief = SessionRecorder.open(bearer(b.async, TOKEN_B));
    thief.send(
        SessionRequest.newBuilder()
            .setHello(
                Hello.newBuilder()
                    .setWorkerId("worker-a")
                    .setResumeSessionId(a.sessionId())
                    .addHeldLeases(
                        HeldLease.newBuilder()
                            .setLeaseId(lease.getLeaseId())
                            .setFencingToken(lease.getFencingToken())))
            .build());

    assertThat(thief.status().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    SessionRecorder back = SessionRecorder.open(bearer(b.async, TOKEN_A));
    assertThat(back.resume("worker-a", a.sessionId()).getResumed()).isTrue();
  }

  @Test
  void leaseBroker_noTokensConfigured_openToAnonymous() {
    try (InProcessBroker open = new InProcessBroker()) {
      SessionRecorder s = open.openSession("w");
      assertThat(open.grant(s.sessionId(), RESOURCE_KIND_RENDER).getLeaseId()).isNotEmpty();
    }
  }

  @Test
  void replaceTokens_removedToken_newCallsUnauthenticatedOpenStreamKeepsRunning() {
    SessionRecorder a = session(TOKEN_A, "worker-a");
    String tokenC = "worker-c-token-0123456789";

    b.server.replaceTokens(
        TokenRegistry.of(
            List.of(
                new TokenRegistry.Entry(
                    "crawler-b", Set.of(Role.WORKER), TokenRegistry.hash(TOKEN_B)),
                new TokenRegistry.Entry(
                    "crawler-c", Set.of(Role.WORKER), TokenRegistry.hash(tokenC)))));

    a.heartbeat(1);
    assertThat(a.isClosed()).as("the stream opened before the reload").isFalse();
    failure(
        Status.Code.UNAUTHENTICATED,
        () ->
            bearer(b.blocking, TOKEN_A)
                .acquire(request(a.sessionId(), RESOURCE_KIND_RENDER).build()));
    SessionRecorder again = SessionRecorder.open(bearer(b.async, TOKEN_A));
    again.send(
        SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("worker-a2")).build());
    assertThat(again.status().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    SessionRecorder c = session(tokenC, "worker-c");
    assertThat(
            bearer(b.blocking, tokenC)
                .acquire(request(c.sessionId(), RESOURCE_KIND_RENDER).build())
                .hasGranted())
        .as("a token added by the reload")
        .isTrue();
    SessionRecorder stillB = session(TOKEN_B, "worker-b");
    assertThat(stillB.sessionId()).isNotEmpty();
  }

  @Test
  void replaceTokens_emptySet_authenticationOff() {
    b.server.replaceTokens(TokenRegistry.of(List.of()));

    assertThat(b.admin.getStatus(GetStatusRequest.getDefaultInstance()).getBrokerEpoch())
        .as("admin call without a token")
        .isPositive();
  }
}
