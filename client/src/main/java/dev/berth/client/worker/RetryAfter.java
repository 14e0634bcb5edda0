package dev.berth.client.worker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Reads a site's {@code Retry-After} header (RFC 9110, section 10.2.3): either delay-seconds
 * ({@code 120}) or an HTTP-date, in the preferred IMF-fixdate form ({@code Wed, 21 Oct 2015
 * 07:28:00 GMT}) or one of the two obsolete forms every recipient must still accept (RFC 850's
 * {@code Wednesday, 21-Oct-15 07:28:00 GMT} and asctime's {@code Wed Oct 21 07:28:00 2015}). A date
 * is measured from the clock given, so the date branch can be tested on a fixed clock.
 *
 * <p>Immutable and thread-safe.
 */
final class RetryAfter {
  /** The longest pause the worker reports for a site, whatever it asks for. */
  static final Duration MAX = Duration.ofDays(1);

  private static final Pattern DELAY_SECONDS = Pattern.compile("\\d+");

  private static final DateTimeFormatter ASCTIME =
      DateTimeFormatter.ofPattern("EEE MMM ppd HH:mm:ss yyyy", Locale.US)
          .withZone(java.time.ZoneOffset.UTC);

  private final Clock clock;

  RetryAfter(Clock clock) {
    this.clock = clock;
  }

  /**
   * The pause {@code header} asks for: at most {@link #MAX}, zero for a date already past, and
   * empty when the header is absent or neither form.
   */
  Optional<Duration> parse(String header) {
    if (header == null || header.isBlank()) {
      return Optional.empty();
    }
    String value = header.strip();
    if (DELAY_SECONDS.matcher(value).matches()) {
      // More digits than a long holds is still "later than a day".
      return Optional.of(
          value.length() > 18 ? MAX : cap(Duration.ofSeconds(Long.parseLong(value))));
    }
    Instant now = clock.instant();
    for (DateTimeFormatter form : forms(now)) {
      try {
        Instant at = ZonedDateTime.parse(value, form).toInstant();
        Duration until = Duration.between(now, at);
        return Optional.of(until.isNegative() ? Duration.ZERO : cap(until));
      } catch (DateTimeParseException notThisForm) {
        // try the next form
      }
    }
    return Optional.empty();
  }

  private static Duration cap(Duration d) {
    return d.compareTo(MAX) > 0 ? MAX : d;
  }

  /** The three forms of an HTTP-date; RFC 850's two-digit year is read as at most 50 years on. */
  private static List<DateTimeFormatter> forms(Instant now) {
    int year = now.atZone(java.time.ZoneOffset.UTC).getYear();
    DateTimeFormatter rfc850 =
        new DateTimeFormatterBuilder()
            .appendPattern("EEEE, dd-MMM-")
            .appendValueReduced(ChronoField.YEAR, 2, 2, LocalDate.of(year - 49, 1, 1))
            .appendPattern(" HH:mm:ss zzz")
            .toFormatter(Locale.US);
    return List.of(DateTimeFormatter.RFC_1123_DATE_TIME, rfc850, ASCTIME);
  }
}
