package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Timestamp;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.RevokeReason;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TextTest {
  @Test
  void name_dropsTheEnumsPrefix() {
    assertThat(Text.name(ResourceKind.RESOURCE_KIND_RENDER)).isEqualTo("RENDER");
    assertThat(Text.name(RefusalReason.REFUSAL_REASON_RATE_LIMITED)).isEqualTo("RATE_LIMITED");
    assertThat(Text.name(BrokerEventType.BROKER_EVENT_TYPE_SESSION_OPENED))
        .isEqualTo("SESSION_OPENED");
    assertThat(Text.name(ResourceKind.RESOURCE_KIND_UNSPECIFIED)).isEqualTo("-");
    assertThat(Text.name(ResourceKind.UNRECOGNIZED)).isEqualTo("?");
  }

  @Test
  void parse_shortLongAnyCaseAndDashes() {
    assertThat(Text.parse(ResourceKind.class, "render"))
        .isEqualTo(ResourceKind.RESOURCE_KIND_RENDER);
    assertThat(Text.parse(ResourceKind.class, "RESOURCE_KIND_PDF"))
        .isEqualTo(ResourceKind.RESOURCE_KIND_PDF);
    assertThat(Text.parse(BrokerEventType.class, "session-expired"))
        .isEqualTo(BrokerEventType.BROKER_EVENT_TYPE_SESSION_EXPIRED);
    assertThat(Text.parse(RevokeReason.class, "Memory_Pressure"))
        .isEqualTo(RevokeReason.REVOKE_REASON_MEMORY_PRESSURE);
  }

  @Test
  void parse_unknownOrUnspecified_listsTheWords() {
    assertThatThrownBy(() -> Text.parse(ResourceKind.class, "gpu"))
        .hasMessage("must be one of render, pdf, wasm; got 'gpu'");
    assertThatThrownBy(() -> Text.parse(ResourceKind.class, "unspecified"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void times_secondsUtcAndRelative() {
    Timestamp t = Timestamp.newBuilder().setSeconds(1_767_225_600L).setNanos(123_456_789).build();
    Instant now = Instant.ofEpochSecond(1_767_225_600L + 65);

    assertThat(Text.time(t)).isEqualTo("2026-01-01T00:00:00Z");
    assertThat(Text.preciseTime(t)).isEqualTo("2026-01-01T00:00:00.123Z");
    assertThat(Text.ago(t, now)).isEqualTo("1m04s ago");
    assertThat(Text.until(t, now)).isEqualTo("overdue");
    assertThat(Text.time(Timestamp.getDefaultInstance())).isEqualTo("-");
  }

  @Test
  void rate_withoutTrailingZeros() {
    assertThat(Text.rate(2.0)).isEqualTo("2");
    assertThat(Text.rate(0.5)).isEqualTo("0.5");
    assertThat(Text.rate(1.25)).isEqualTo("1.25");
  }

  @Test
  void rate_belowOne_keepsThreeSignificantDigits_soASlowHostIsNotShownAsZero() {
    assertThat(Text.rate(0.001)).isEqualTo("0.001");
    assertThat(Text.rate(1e-6)).isEqualTo("0.000001");
    assertThat(Text.rate(0.123456)).isEqualTo("0.123");
    assertThat(Text.rate(0)).isEqualTo("0");
  }
}
