package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.testkit.RawBytes;
import io.grpc.CallOptions;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Requests malformed on the wire, sent as raw bytes over the in-process transport: each is answered
 * INVALID_ARGUMENT naming the method and the problem (grpc-java alone answers INTERNAL), the broker
 * changes nothing, and well-formed calls go on as before.
 */
class RequestGuardTest {
  private static final byte[] GARBAGE = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x00, 0x07};

  private final InProcessBroker b = new InProcessBroker();

  @AfterEach
  void tearDown() {
    b.close();
  }

  /** Sends {@code messages} as they are, half-closes, and returns how the call ended. */
  private Status raw(MethodDescriptor<?, ?> method, List<byte[]> messages) throws Exception {
    RawBytes.Call raw =
        RawBytes.start(b.channel, RawBytes.of(method), CallOptions.DEFAULT, messages);
    raw.call().halfClose();
    return raw.closed().get(5, TimeUnit.SECONDS);
  }

  private int inUse() {
    return b.admin.getStatus(GetStatusRequest.getDefaultInstance()).getPoolsList().stream()
        .mapToInt(dev.berth.proto.v1.PoolStatus::getInUse)
        .sum();
  }

  @Test
  void acquire_bytesThatAreNoMessage_invalidArgumentNamingTheMethod() throws Exception {
    Status status = raw(LeaseBrokerGrpc.getAcquireMethod(), List.of(GARBAGE));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription())
        .contains("berth.v1.LeaseBroker/Acquire")
        .contains("not a valid");
  }

  @Test
  void acquire_twoRequestsOnAUnaryCall_streamResetAndNothingGranted() throws Exception {
    String session = b.openSession("w1").sessionId();
    byte[] request =
        InProcessBroker.request(session, ResourceKind.RESOURCE_KIND_RENDER).build().toByteArray();

    Status status = raw(LeaseBrokerGrpc.getAcquireMethod(), List.of(request, request));

    // grpc-java resets the stream itself before any listener sees the second request.
    assertThat(status.getCode()).isEqualTo(Status.Code.CANCELLED);
    assertThat(inUse()).isZero();
  }

  @Test
  void getStatus_halfClosedWithoutARequest_invalidArgument() throws Exception {
    Status status = raw(BrokerAdminGrpc.getGetStatusMethod(), List.of());

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(status.getDescription()).contains("half-closed without sending it");
  }

  @Test
  void openSession_garbageAfterHello_invalidArgumentAndSessionDisconnectedNotLost()
      throws Exception {
    byte[] hello =
        dev.berth.proto.v1.SessionRequest.newBuilder()
            .setHello(dev.berth.proto.v1.Hello.newBuilder().setWorkerId("sloppy"))
            .build()
            .toByteArray();

    Status status = raw(LeaseBrokerGrpc.getOpenSessionMethod(), List.of(hello, GARBAGE));

    assertThat(status.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    // The stream ended as for a client that went away: the session waits out its TTL to resume.
    assertThat(b.admin.listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList())
        .singleElement()
        .satisfies(s -> assertThat(s.getConnected()).isFalse());
  }

  @Test
  void acquire_wellFormed_passesTheGuardUnchanged() throws Exception {
    String session = b.openSession("w1").sessionId();
    AcquireRequest request =
        InProcessBroker.request(session, ResourceKind.RESOURCE_KIND_RENDER).build();

    Status status = raw(LeaseBrokerGrpc.getAcquireMethod(), List.of(request.toByteArray()));

    assertThat(status.getCode()).isEqualTo(Status.Code.OK);
    assertThat(inUse()).isEqualTo(1);
  }
}
