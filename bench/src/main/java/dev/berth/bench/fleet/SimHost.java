package dev.berth.bench.fleet;

import java.util.SplittableRandom;

/**
 * One simulated web host: how long its pages take (log-normal), how often workers pick it, the
 * politeness limit the broker is configured with for it, and when it answers 429. No request leaves
 * the machine: a "page fetch" is a timer of the drawn length.
 *
 * @param name the host of its URLs
 * @param medianMillis median page time
 * @param sigma the log-normal's shape: the standard deviation of the log of the page time
 * @param pick how often workers pick this host, as a fraction of all picks
 * @param rate the broker's rate limit for it, requests per second
 * @param burst the broker's burst for it
 * @param tooManyRequests the probability that a page answers 429 outside a storm
 * @param retryAfterMillis the {@code Retry-After} it sends with a 429
 * @param storm whether it answers every page with 429 during the scenario's storm
 *     <p>Immutable and thread-safe.
 */
public record SimHost(
    String name,
    double medianMillis,
    double sigma,
    double pick,
    double rate,
    int burst,
    double tooManyRequests,
    long retryAfterMillis,
    boolean storm) {

  /** Mean page time in milliseconds: a log-normal's mean is {@code median × e^(σ²/2)}. */
  public double meanMillis() {
    return medianMillis * Math.exp(sigma * sigma / 2);
  }

  /** One page time in nanoseconds, drawn from this host's distribution. */
  public long pageNanos(SplittableRandom random) {
    return (long) (medianMillis * 1e6 * Math.exp(sigma * gaussian(random)));
  }

  /** True when a page fetched at {@code inStorm} answers 429. */
  public boolean answers429(boolean inStorm, SplittableRandom random) {
    return (storm && inStorm) || (tooManyRequests > 0 && random.nextDouble() < tooManyRequests);
  }

  /** A standard normal variate (Box–Muller); SplittableRandom has none of its own in Java 17. */
  static double gaussian(SplittableRandom random) {
    double u = 1 - random.nextDouble(); // (0, 1]: the log is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random.nextDouble());
  }
}
