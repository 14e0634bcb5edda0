package dev.berth.server.lease;

/**
 * What happened while a lease was held, as its holder reports on release.
 *
 * @param success whether the work succeeded
 * @param durationNanos how long the work took (≥ 0)
 * @param httpStatus the target site's HTTP status, 0 when unknown
 * @param retryAfterNanos a Retry-After the site sent, at most a day; 0 when none (a zero one is
 *     none)
 * @param error a short error description, empty on success
 */
public record Outcome(
    boolean success, long durationNanos, int httpStatus, long retryAfterNanos, String error) {

  /** An outcome nobody reported. */
  public static final Outcome UNKNOWN = new Outcome(true, 0, 0, 0, "");
}
