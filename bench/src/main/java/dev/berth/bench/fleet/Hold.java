package dev.berth.bench.fleet;

/**
 * One lease as a simulated worker saw it: when it first asked for a slot for this page, when the
 * grant reached it (the moment its request to the host starts), and when it sent the release. Times
 * are nanoseconds since the simulation started, on the simulation's monotonic clock.
 *
 * @param job index of the worker's job
 * @param host index of the host the page is on
 * @param asked when the worker first asked for a slot for this page (retries included after it)
 * @param granted when the grant arrived: the request to the host starts here
 * @param released when the worker sent the release; {@link Long#MAX_VALUE} while still held
 * @param brokerGrantedNanos the lease's {@code granted_at}: the broker's monotonic grant time on
 *     its wall clock, in nanoseconds since the epoch
 *     <p>Immutable.
 */
public record Hold(
    int job, int host, long asked, long granted, long released, long brokerGrantedNanos) {

  public Hold {
    if (asked > granted || granted > released) {
      throw new IllegalArgumentException(
          "hold: need asked <= granted <= released, got "
              + asked
              + ", "
              + granted
              + ", "
              + released);
    }
  }

  /** Nanoseconds this lease overlapped {@code [from, to)}. */
  long overlap(long from, long to) {
    return Math.max(0, Math.min(released, to) - Math.max(granted, from));
  }

  /** How long the worker waited for this slot, from first asking to the grant. */
  long waitNanos() {
    return granted - asked;
  }
}
