package dev.berth.server.cluster;

import java.util.concurrent.ForkJoinPool;

/**
 * Gives {@link java.util.concurrent.CompletableFuture}'s default executor a pool on small machines,
 * for the daemon's process.
 *
 * <p>A {@code CompletableFuture} stage made with an {@code ...Async} method and no executor runs on
 * {@link ForkJoinPool#commonPool()} only when that pool's parallelism is above 1; otherwise the JDK
 * starts a new thread for every such stage. The common pool's parallelism defaults to the number of
 * processors less one, so on a machine (or a container) with two processors or fewer every async
 * stage costs a thread's start and exit. Ratis makes one such stage for each batch of log entries a
 * follower appends ({@code ServerImplUtils.NavigableIndices}), so a two-core follower started and
 * tore down a thread per journal batch, about 140 a second under a lease-cycle load ({@code perf}:
 * threads named {@code Thread-N} in {@code JavaThread::exit} and {@code madvise}; see
 * docs/cluster.md "Measured"). With a parallelism of 2 those stages run on two pooled threads.
 *
 * <p>An operator's {@code -Djava.util.concurrent.ForkJoinPool.common.parallelism} stands. Must run
 * before the common pool is first used: the JDK reads the key once. Stateless.
 */
public final class CommonPool {
  /** The JDK's key for the common pool's parallelism. */
  public static final String PARALLELISM = "java.util.concurrent.ForkJoinPool.common.parallelism";

  private CommonPool() {}

  /**
   * Sets the common pool's parallelism to 2 where it would be 1 and the operator set none.
   *
   * @return whether async stages without an executor now run on a pool (false: the pool was already
   *     made with a parallelism of 1, or the operator asked for 1)
   */
  public static boolean configure() {
    String value = parallelismFor(System.getProperty(PARALLELISM), availableProcessors());
    if (value != null) {
      System.setProperty(PARALLELISM, value);
    }
    return ForkJoinPool.getCommonPoolParallelism() > 1;
  }

  /**
   * The parallelism to set, or null to leave it: an operator's setting stands, and a machine with
   * more than two processors gets a parallelism above 1 by default.
   */
  static String parallelismFor(String configured, int processors) {
    return configured == null && processors <= 2 ? "2" : null;
  }

  private static int availableProcessors() {
    return Runtime.getRuntime().availableProcessors();
  }
}
