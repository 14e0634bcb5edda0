package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Options and values fail fast, naming the field and the rule, before any call is made. */
class OptionsTest {

  @Test
  void build_renderWithoutUrl_throwsNamingUrl() {
    assertThatThrownBy(() -> AcquireOptions.newBuilder(ResourceKind.RENDER).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("url: required for RENDER (its host is rate-limited)");
  }

  @Test
  void build_wasmWithUrl_throwsNamingUrl() {
    assertThatThrownBy(() -> AcquireOptions.newBuilder(ResourceKind.WASM).url("https://x/").build())
        .hasMessageStartingWith("url:");
  }

  @Test
  void build_moduleOnRender_throwsNamingModule() {
    assertThatThrownBy(
            () ->
                AcquireOptions.newBuilder(ResourceKind.RENDER)
                    .url("https://x/")
                    .module("m")
                    .build())
        .hasMessageStartingWith("module:");
  }

  @Test
  void build_outOfRangeValues_throwNamingEach() {
    AcquireOptions.Builder pdf = AcquireOptions.newBuilder(ResourceKind.PDF);
    assertThatThrownBy(() -> pdf.priority(10).build()).hasMessageStartingWith("priority:");
    pdf.priority(9);
    assertThatThrownBy(() -> pdf.maxWait(Duration.ofHours(2)).build())
        .hasMessageStartingWith("maxWait:");
    pdf.maxWait(Duration.ofSeconds(1));
    assertThatThrownBy(() -> pdf.requestId("has space").build())
        .hasMessageStartingWith("requestId:");
    pdf.requestId("ok");
    assertThatThrownBy(() -> pdf.memoryEstimateMb(-1).build())
        .hasMessageStartingWith("memoryEstimateMb:");
  }

  @Test
  void toBuilder_copiesEveryField() {
    AcquireOptions options =
        AcquireOptions.newBuilder(ResourceKind.PDF)
            .url("https://example.com/doc")
            .maxWait(Duration.ofSeconds(3))
            .priority(4)
            .requestId("r-1")
            .memoryEstimateMb(99)
            .build();

    AcquireOptions copy = options.toBuilder().build();

    assertThat(copy).usingRecursiveComparison().isEqualTo(options);
  }

  @Test
  void outcome_httpStatusOutOfRange_throwsNamingIt() {
    assertThatThrownBy(() -> Outcome.http(99)).hasMessageStartingWith("httpStatus:");
    assertThatThrownBy(() -> Outcome.failed("x".repeat(1025))).hasMessageStartingWith("error:");
    assertThatThrownBy(() -> Outcome.succeeded().withSiteRetryAfter(Duration.ofDays(2)))
        .hasMessageStartingWith("siteRetryAfter:");
  }

  @Test
  void outcome_http_successBelow400() {
    assertThat(Outcome.http(200).success()).isTrue();
    assertThat(Outcome.http(304).success()).isTrue();
    assertThat(Outcome.http(503).success()).isFalse();
  }

  @Test
  void sessionOptions_badLabel_throwsNamingIt() {
    assertThatThrownBy(() -> SessionOptions.newBuilder().label("", "v").build())
        .hasMessageStartingWith("labels:");
    assertThatThrownBy(() -> SessionOptions.newBuilder().memoryLimitMb(-1).build())
        .hasMessageStartingWith("memoryLimitMb:");
  }

  @Test
  void sessionOptions_jobBreakingTheBrokersRule_throwsNamingIt() {
    for (String bad : new String[] {"Recrawl", "-x", "a.b", "x".repeat(65)}) {
      assertThatThrownBy(() -> SessionOptions.newBuilder().job(bad).build())
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("job: must be 1..64 lower-case letters");
    }
    assertThat(SessionOptions.newBuilder().job("re_crawl-2").build().job()).isEqualTo("re_crawl-2");
    assertThat(SessionOptions.defaults().job()).isEmpty();
  }

  @Test
  void clientBuilder_withoutTarget_throwsNamingTarget() {
    assertThatThrownBy(() -> BrokerClient.newBuilder().build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("target:");
  }

  @Test
  void clientBuilder_badSettings_throwNamingEach() {
    assertThatThrownBy(
            () -> BrokerClient.newBuilder().target("h:1").callDeadline(Duration.ZERO).build())
        .hasMessageStartingWith("callDeadline:");
    assertThatThrownBy(
            () ->
                BrokerClient.newBuilder()
                    .target("h:1")
                    .reconnectBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1))
                    .build())
        .hasMessageStartingWith("reconnectBackoff.max:");
    Duration forever = java.time.temporal.ChronoUnit.FOREVER.getDuration();
    assertThatThrownBy(() -> BrokerClient.newBuilder().target("h:1").callDeadline(forever).build())
        .hasMessageStartingWith("callDeadline: must be at most 3650d");
    assertThatThrownBy(
            () ->
                BrokerClient.newBuilder()
                    .target("h:1")
                    .reconnectBackoff(Duration.ofMillis(1), forever)
                    .build())
        .hasMessageStartingWith("reconnectBackoff.max: must be at most 3650d");
    assertThatThrownBy(() -> BrokerClient.newBuilder().target("h:1").bearerToken("").build())
        .hasMessageStartingWith("bearerToken:");
  }
}
