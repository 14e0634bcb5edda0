package dev.berth.client;

/**
 * Measures how much memory this worker uses, for the heartbeats that let the broker detect memory
 * pressure across the fleet. Called on the session's own thread once per heartbeat, so it should
 * take well under a millisecond and must not block.
 *
 * <p>Implementations are thread-safe. Tests pass a lambda, e.g. {@code () -> 512}.
 */
@FunctionalInterface
public interface MemoryProbe {

  /** Memory in use now, in MiB. */
  long usedMb();

  /**
   * The default probe: the JVM's used heap plus the resident set ({@code VmRSS} in {@code
   * /proc/<pid>/status}) of every descendant process, such as the Chromium instances a worker
   * drives. RSS counts pages shared between processes more than once, so it errs on the high side.
   * Where {@code /proc} does not exist only the heap is counted.
   */
  static MemoryProbe jvmAndChildren() {
    return ProcMemoryProbe.system();
  }
}
