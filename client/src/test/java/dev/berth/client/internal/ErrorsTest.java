package dev.berth.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.BrokerException;
import dev.berth.client.BrokerException.Condition;
import io.grpc.Status;
import org.junit.jupiter.api.Test;

class ErrorsTest {

  @Test
  void fromGrpc_statusWithDescription_keepsConditionAndMessage() {
    BrokerException e =
        Errors.fromGrpc(
            Status.NOT_FOUND
                .withDescription("session_id: no live session s1")
                .asRuntimeException());

    assertThat(e.condition()).isEqualTo(Condition.NOT_FOUND);
    assertThat(e).hasMessage("NOT_FOUND: session_id: no live session s1");
    assertThat(e.isTransient()).isFalse();
  }

  @Test
  void condition_everyGrpcCode_mapsToACondition() {
    for (Status.Code code : Status.Code.values()) {
      assertThat(Errors.condition(code)).isNotNull();
    }
    assertThat(Errors.condition(Status.Code.UNAVAILABLE)).isEqualTo(Condition.UNAVAILABLE);
    assertThat(Errors.condition(Status.Code.UNIMPLEMENTED)).isEqualTo(Condition.INTERNAL);
  }

  @Test
  void isFatalForStream_onlyWhatReconnectingCannotFix() {
    assertThat(Errors.isFatalForStream(Status.Code.PERMISSION_DENIED)).isTrue();
    assertThat(Errors.isFatalForStream(Status.Code.UNAUTHENTICATED)).isTrue();
    assertThat(Errors.isFatalForStream(Status.Code.NOT_FOUND)).isFalse(); // expired: reopen
    assertThat(Errors.isFatalForStream(Status.Code.UNAVAILABLE)).isFalse();
    assertThat(Errors.isFatalForStream(Status.Code.ABORTED)).isFalse();
  }
}
