package dev.berth.client.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

/** A site's Retry-After, both forms, measured from a fixed clock. */
class RetryAfterTest {
  /** Wed, 21 Oct 2015 07:28:00 GMT. */
  private static final Instant NOW = Instant.parse("2015-10-21T07:28:00Z");

  private final RetryAfter retryAfter = new RetryAfter(Clock.fixed(NOW, ZoneOffset.UTC));

  @Test
  void parse_delaySeconds_readAsIs() {
    assertThat(retryAfter.parse("2")).contains(Duration.ofSeconds(2));
    assertThat(retryAfter.parse(" 120 ")).contains(Duration.ofMinutes(2));
    assertThat(retryAfter.parse("0")).contains(Duration.ZERO);
  }

  @Test
  void parse_delaySecondsPastADay_capped() {
    assertThat(retryAfter.parse("9999999")).contains(RetryAfter.MAX);
    assertThat(retryAfter.parse("99999999999999999999999")).contains(RetryAfter.MAX);
  }

  @Test
  void parse_imfFixdateInTheFuture_theTimeUntilIt() {
    assertThat(retryAfter.parse("Wed, 21 Oct 2015 07:29:30 GMT")).contains(Duration.ofSeconds(90));
  }

  @Test
  void parse_obsoleteDateForms_readToo() {
    assertThat(retryAfter.parse("Wednesday, 21-Oct-15 07:29:00 GMT"))
        .contains(Duration.ofMinutes(1));
    assertThat(retryAfter.parse("Wed Oct 21 07:38:00 2015")).contains(Duration.ofMinutes(10));
    assertThat(retryAfter.parse("Sun Nov  1 07:28:00 2015")).contains(RetryAfter.MAX);
  }

  @Test
  void parse_dateInThePast_zero() {
    assertThat(retryAfter.parse("Tue, 20 Oct 2015 07:28:00 GMT")).contains(Duration.ZERO);
    assertThat(retryAfter.parse("Wed, 21 Oct 2015 07:28:00 GMT")).contains(Duration.ZERO);
  }

  @Test
  void parse_dateDaysAhead_capped() {
    assertThat(retryAfter.parse("Sat, 31 Oct 2015 07:28:00 GMT")).contains(RetryAfter.MAX);
  }

  @Test
  void parse_garbageOrAbsent_empty() {
    assertThat(retryAfter.parse(null)).isEmpty();
    assertThat(retryAfter.parse("")).isEmpty();
    assertThat(retryAfter.parse("soon")).isEmpty();
    assertThat(retryAfter.parse("-5")).isEmpty();
    assertThat(retryAfter.parse("1.5")).isEmpty();
    assertThat(retryAfter.parse("Thu, 21 Oct 2015 07:29:30 GMT")).as("wrong weekday").isEmpty();
    assertThat(retryAfter.parse("2015-10-21T07:29:30Z")).as("not an HTTP-date").isEmpty();
  }
}
