package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * What happened while a lease was held, reported to the broker when the lease is closed. It feeds
 * the broker's statistics and per-host limits: a 429 or 503 with a {@code Retry-After} slows that
 * host down for the whole fleet. Immutable.
 *
 * @param success whether the work succeeded
 * @param httpStatus the status the target site answered, 0 when unknown or not HTTP
 * @param error a short description of the failure, empty on success (at most 1024 characters)
 * @param siteRetryAfter a {@code Retry-After} the site sent, zero when none (at most one day)
 */
public record Outcome(boolean success, int httpStatus, String error, Duration siteRetryAfter) {
  private static final int MAX_ERROR_LENGTH = 1024;
  private static final Duration MAX_RETRY_AFTER = Duration.ofDays(1);

  /**
   * Validates the fields.
   *
   * @throws IllegalArgumentException naming the field and the rule it breaks
   */
  public Outcome {
    if (httpStatus != 0 && (httpStatus < 100 || httpStatus > 599)) {
      throw new IllegalArgumentException("httpStatus: must be 0 or 100..599, got " + httpStatus);
    }
    requireNonNull(error, "error");
    if (error.length() > MAX_ERROR_LENGTH) {
      throw new IllegalArgumentException(
          "error: longer than " + MAX_ERROR_LENGTH + " characters (" + error.length() + ")");
    }
    requireNonNull(siteRetryAfter, "siteRetryAfter");
    if (siteRetryAfter.isNegative() || siteRetryAfter.compareTo(MAX_RETRY_AFTER) > 0) {
      throw new IllegalArgumentException("siteRetryAfter: must be 0..1 day, got " + siteRetryAfter);
    }
  }

  /** The work succeeded; no HTTP status to report. */
  public static Outcome succeeded() {
    return new Outcome(true, 0, "", Duration.ZERO);
  }

  /** The work failed with {@code error}. */
  public static Outcome failed(String error) {
    return new Outcome(false, 0, error, Duration.ZERO);
  }

  /** The site answered {@code status}; statuses below 400 count as success. */
  public static Outcome http(int status) {
    return new Outcome(status > 0 && status < 400, status, "", Duration.ZERO);
  }

  /** This outcome with the {@code Retry-After} the site sent. */
  public Outcome withSiteRetryAfter(Duration retryAfter) {
    return new Outcome(success, httpStatus, error, retryAfter);
  }

  /** This outcome with an error description. */
  public Outcome withError(String description) {
    return new Outcome(success, httpStatus, description, siteRetryAfter);
  }
}
