package dev.berth.server.grpc;

import java.util.List;

/**
 * How often Netty's leak detector follows a buffer, for the daemon's process: 1 in {@link
 * #SAMPLING_INTERVAL} instead of Netty's 1 in 128, unless the operator set the level or the
 * interval with {@code -Dio.netty.leakDetection.*} (then theirs stands).
 *
 * <p>At Netty's default every 128th buffer records a stack trace when it is allocated and another
 * when it is released. Under a lease-cycle load that was 2 % of a cluster leader's CPU samples and
 * 1.2 % of a lone broker's (`perf`, docs/cluster.md "Measured"), for a check that finds leaks in
 * code Berth does not write (grpc-java's and Ratis's buffer handling). Following 1 buffer in 4,096
 * still reports a leak on a path that leaks steadily, at a thirty-second of the cost. Ratis's copy
 * of Netty (relocated) reads the same keys under its own prefix, which is set alike.
 *
 * <p>Must run before the first Netty buffer is allocated: Netty reads these keys once, when its
 * leak detector's class loads. Stateless.
 */
public final class NettyLeakSampling {
  /** Buffers per buffer followed. */
  public static final int SAMPLING_INTERVAL = 4096;

  private static final List<String> PREFIXES =
      List.of("io.netty.", "org.apache.ratis.thirdparty.io.netty.");

  private NettyLeakSampling() {}

  /** Sets the sampling interval for both copies of Netty where the operator set neither key. */
  public static void configure() {
    for (String prefix : PREFIXES) {
      String level = prefix + "leakDetection.level";
      String interval = prefix + "leakDetection.samplingInterval";
      if (System.getProperty(level) == null && System.getProperty(interval) == null) {
        System.setProperty(interval, Integer.toString(SAMPLING_INTERVAL));
      }
    }
  }
}
