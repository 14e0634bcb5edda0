package dev.berth.server.admission;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.ResourceKind;
import java.time.Duration;
import org.assertj.core.api.AbstractThrowableAssert;
import org.junit.jupiter.api.Test;

class AcquireSpecTest {
  private static final String URL = "https://example.com/a";

  private static AbstractThrowableAssert<?, ? extends Throwable> assertInvalid(
      Runnable call, String field) {
    return assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            BrokerException.class,
            e -> assertThat(e.code()).isEqualTo(BrokerException.Code.INVALID_ARGUMENT))
        .hasMessageStartingWith(field + ": ");
  }

  private static AcquireSpec validate(ResourceKind kind, String url) {
    return AcquireSpec.validate("s1", kind, url, "", null, "", 0, 0);
  }

  @Test
  void validate_renderWithUrl_extractsHostAndDefaults() {
    AcquireSpec spec =
        AcquireSpec.validate(
            "s1",
            RENDER,
            "https://Example.COM:8443/p?q#f",
            "",
            Duration.ofSeconds(3),
            "r-1",
            7,
            42);

    assertThat(spec.sessionId()).isEqualTo("s1");
    assertThat(spec.host()).isEqualTo("example.com");
    assertThat(spec.waitNanos()).isEqualTo(Duration.ofSeconds(3).toNanos());
    assertThat(spec.requestId()).isEqualTo("r-1");
    assertThat(spec.priority()).isEqualTo(7);
    assertThat(spec.memoryEstimateMb()).isEqualTo(42);
  }

  @Test
  void validate_absentWait_meansAnswerNow() {
    assertThat(validate(PDF, "").waitNanos()).isZero();
    assertThat(validate(PDF, "").host()).isEmpty();
  }

  @Test
  void validate_pdfWithUrl_extractsHost() {
    assertThat(validate(PDF, "http://docs.example.org/x.pdf").host()).isEqualTo("docs.example.org");
  }

  @Test
  void validate_missingSessionId_namesSessionId() {
    assertInvalid(() -> AcquireSpec.validate("", PDF, "", "", null, "", 0, 0), "session_id")
        .hasMessageContaining("required");
  }

  @Test
  void validate_sessionIdWithSpace_namesSessionId() {
    assertInvalid(() -> AcquireSpec.validate("a b", PDF, "", "", null, "", 0, 0), "session_id");
  }

  @Test
  void validate_nullKind_namesKind() {
    assertInvalid(() -> AcquireSpec.validate("s1", null, URL, "", null, "", 0, 0), "kind");
  }

  @Test
  void validate_renderWithoutUrl_namesUrl() {
    assertInvalid(() -> validate(RENDER, ""), "url").hasMessageContaining("RENDER");
  }

  @Test
  void validate_urlWithoutHost_namesUrl() {
    assertInvalid(() -> validate(RENDER, "https:///path"), "url").hasMessageContaining("no host");
    assertInvalid(() -> validate(RENDER, "https://user@:80/path"), "url");
  }

  @Test
  void validate_relativeUrl_namesUrl() {
    assertInvalid(() -> validate(RENDER, "example.com/page"), "url");
  }

  @Test
  void validate_ftpScheme_namesUrl() {
    assertInvalid(() -> validate(RENDER, "ftp://example.com/file"), "url")
        .hasMessageContaining("scheme");
    assertInvalid(() -> validate(PDF, "ftp://example.com/file.pdf"), "url");
  }

  @Test
  void validate_oversizedUrl_namesUrl() {
    String url = "https://example.com/" + "a".repeat(AcquireSpec.MAX_URL_LENGTH);

    assertInvalid(() -> validate(RENDER, url), "url").hasMessageContaining("longer than");
  }

  @Test
  void validate_urlOfMaxLength_isAccepted() {
    String prefix = "https://example.com/";
    String url = prefix + "a".repeat(AcquireSpec.MAX_URL_LENGTH - prefix.length());

    assertThat(validate(RENDER, url).host()).isEqualTo("example.com");
  }

  @Test
  void validate_urlUpToKeptLength_keptAsItCame() {
    String url = "https://example.com/" + "a".repeat(AcquireSpec.KEPT_URL_LENGTH - 20);

    assertThat(validate(RENDER, url).url()).isEqualTo(url);
  }

  @Test
  void validate_longUrl_keptAsItsDigest_soARememberedRequestStaysSmall() {
    String prefix = "https://Example.COM/";
    String url = prefix + "a".repeat(AcquireSpec.MAX_URL_LENGTH - prefix.length());
    String sibling = url.substring(0, url.length() - 1) + "b";

    AcquireSpec spec = validate(RENDER, url);

    assertThat(spec.url())
        .hasSizeLessThanOrEqualTo(AcquireSpec.KEPT_URL_LENGTH)
        .startsWith("sha256:");
    assertThat(spec.host()).isEqualTo("example.com");
    assertThat(validate(PDF, url).url()).isEqualTo(spec.url());
    assertThat(spec.sameRequestAs(validate(RENDER, url))).isTrue();
    assertThat(spec.sameRequestAs(validate(RENDER, sibling))).isFalse();
    assertThat(spec.withWaitNanos(5).url()).isEqualTo(spec.url());
  }

  @Test
  void keptUrl_ofAKeptUrl_isTheSame_soACarriedFormMatchesTheUrlAskedAgain() {
    String url = "https://example.com/" + "a".repeat(1000);
    AcquireSpec carried = new AcquireSpec("s1", RENDER, url, "example.com", "", 0, "r1", 0, 0);
    AcquireSpec recarried =
        new AcquireSpec("s1", RENDER, carried.url(), "example.com", "", 0, "r1", 0, 0);

    assertThat(AcquireSpec.keptUrl(AcquireSpec.keptUrl(url))).isEqualTo(AcquireSpec.keptUrl(url));
    assertThat(recarried.url()).isEqualTo(carried.url());
    assertThat(carried.sameRequestAs(validate(RENDER, url))).isTrue();
  }

  @Test
  void validate_wasmWithUrl_namesUrl() {
    assertInvalid(() -> validate(WASM, URL), "url");
  }

  @Test
  void validate_oversizedRequestId_namesRequestId() {
    String id = "r".repeat(AcquireSpec.MAX_ID_LENGTH + 1);

    assertInvalid(() -> AcquireSpec.validate("s1", PDF, "", "", null, id, 0, 0), "request_id");
  }

  @Test
  void validate_requestIdOfMaxLength_isAccepted() {
    String id = "r".repeat(AcquireSpec.MAX_ID_LENGTH);

    assertThat(AcquireSpec.validate("s1", PDF, "", "", null, id, 0, 0).requestId()).isEqualTo(id);
  }

  @Test
  void validate_negativeWait_namesWait() {
    assertInvalid(
        () -> AcquireSpec.validate("s1", PDF, "", "", Duration.ofMillis(-1), "", 0, 0), "wait");
  }

  @Test
  void validate_waitOverOneHour_namesWait() {
    assertInvalid(
        () -> AcquireSpec.validate("s1", PDF, "", "", Duration.ofHours(1).plusNanos(1), "", 0, 0),
        "wait");
    assertThat(AcquireSpec.validate("s1", PDF, "", "", Duration.ofHours(1), "", 0, 0).waitNanos())
        .isEqualTo(Duration.ofHours(1).toNanos());
  }

  @Test
  void validate_badWait_saysTheDurationsAsTheyAreWritten() {
    assertInvalid(
            () -> AcquireSpec.validate("s1", PDF, "", "", Duration.ofMinutes(90), "", 0, 0), "wait")
        .hasMessage("wait: must be at most 1h, got 1h30m");
    assertInvalid(
            () -> AcquireSpec.validate("s1", PDF, "", "", Duration.ofMillis(-1500), "", 0, 0),
            "wait")
        .hasMessage("wait: must not be negative, got -1s500ms");
  }

  @Test
  void validate_priorityTen_namesPriority() {
    assertInvalid(() -> AcquireSpec.validate("s1", PDF, "", "", null, "", 10, 0), "priority");
    assertInvalid(() -> AcquireSpec.validate("s1", PDF, "", "", null, "", -1, 0), "priority");
  }

  @Test
  void validate_memoryEstimateOutOfRange_namesMemoryEstimate() {
    assertInvalid(
        () -> AcquireSpec.validate("s1", PDF, "", "", null, "", 0, -1), "memory_estimate_mb");
    assertInvalid(
        () ->
            AcquireSpec.validate(
                "s1", PDF, "", "", null, "", 0, AcquireSpec.MAX_MEMORY_ESTIMATE_MB + 1L),
        "memory_estimate_mb");
  }

  @Test
  void validate_moduleOnRender_namesModule() {
    assertInvalid(
        () -> AcquireSpec.validate("s1", RENDER, URL, "extractor", null, "", 0, 0), "module");
  }

  @Test
  void validate_wasmModuleWithBadCharacters_namesModule() {
    assertInvalid(() -> AcquireSpec.validate("s1", WASM, "", "../etc", null, "", 0, 0), "module");
    assertThat(AcquireSpec.validate("s1", WASM, "", "links-v2.1_x", null, "", 0, 0).module())
        .isEqualTo("links-v2.1_x");
  }

  @Test
  void sameRequestAs_differentKindUrlOrModule_isFalse() {
    AcquireSpec render = validate(RENDER, URL);

    assertThat(render.sameRequestAs(validate(RENDER, URL))).isTrue();
    assertThat(render.sameRequestAs(AcquireSpec.validate("s1", RENDER, URL, "", null, "", 9, 100)))
        .isTrue();
    assertThat(render.sameRequestAs(validate(RENDER, "https://example.com/b"))).isFalse();
    assertThat(render.sameRequestAs(validate(PDF, URL))).isFalse();
    assertThat(
            AcquireSpec.validate("s1", WASM, "", "a", null, "", 0, 0)
                .sameRequestAs(AcquireSpec.validate("s1", WASM, "", "b", null, "", 0, 0)))
        .isFalse();
  }
}
