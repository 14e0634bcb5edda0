package dev.berth.server.memory;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.util.List;

/**
 * Reads the broker's own heap. The JVM probe reports each heap pool's usage after its last
 * collection (live data, not garbage waiting to be collected), so heap pressure does not flap with
 * every allocation cycle.
 *
 * <p>Implementations are thread-safe.
 */
public interface HeapProbe {

  /** Bytes of heap in use; 0 when unknown. */
  long usedBytes();

  /** The most heap the JVM may use; 0 when unknown (then there is no heap pressure). */
  long maxBytes();

  /** A probe that knows nothing: no heap pressure, ever. For tests. */
  HeapProbe NONE =
      new HeapProbe() {
        @Override
        public long usedBytes() {
          return 0;
        }

        @Override
        public long maxBytes() {
          return 0;
        }
      };

  /** This JVM's heap, measured after collections. */
  static HeapProbe jvm() {
    List<MemoryPoolMXBean> pools =
        ManagementFactory.getMemoryPoolMXBeans().stream()
            .filter(p -> p.getType() == MemoryType.HEAP && p.isValid())
            .toList();
    return new HeapProbe() {
      @Override
      public long usedBytes() {
        long used = 0;
        for (MemoryPoolMXBean pool : pools) {
          MemoryUsage afterGc =
              pool.isCollectionUsageThresholdSupported() ? pool.getCollectionUsage() : null;
          used += afterGc != null ? afterGc.getUsed() : pool.getUsage().getUsed();
        }
        return used;
      }

      @Override
      public long maxBytes() {
        return Math.max(0, Runtime.getRuntime().maxMemory());
      }
    };
  }
}
