package dev.berth.client;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.stream.LongStream;

/**
 * The JVM's used heap plus the {@code VmRSS} of every descendant process, read from {@code
 * /proc/<pid>/status}. A process that exits while being read, or a missing {@code /proc}, counts as
 * zero. Thread-safe.
 */
final class ProcMemoryProbe implements MemoryProbe {
  private static final long MIB = 1024 * 1024;

  private final Path proc;
  private final Supplier<LongStream> childPids;
  private final LongSupplier heapUsedBytes;

  /**
   * @param proc the proc file system, normally {@code /proc}
   * @param childPids the processes to count besides the JVM's heap
   * @param heapUsedBytes the JVM's used heap
   */
  ProcMemoryProbe(Path proc, Supplier<LongStream> childPids, LongSupplier heapUsedBytes) {
    this.proc = proc;
    this.childPids = childPids;
    this.heapUsedBytes = heapUsedBytes;
  }

  /** This JVM and its descendants, on the real {@code /proc}. */
  static ProcMemoryProbe system() {
    return new ProcMemoryProbe(
        Path.of("/proc"),
        () -> ProcessHandle.current().descendants().mapToLong(ProcessHandle::pid),
        () -> {
          Runtime runtime = Runtime.getRuntime();
          return runtime.totalMemory() - runtime.freeMemory();
        });
  }

  @Override
  public long usedMb() {
    long bytes = Math.max(0, heapUsedBytes.getAsLong());
    try (LongStream pids = childPids.get()) {
      bytes += pids.map(this::residentKb).sum() * 1024;
    }
    return (bytes + MIB - 1) / MIB;
  }

  /** The resident set of {@code pid} in KiB, or 0 when it cannot be read. */
  long residentKb(long pid) {
    String status;
    try {
      status =
          Files.readString(
              proc.resolve(Long.toString(pid)).resolve("status"), StandardCharsets.UTF_8);
    } catch (IOException | SecurityException e) {
      return 0; // it exited, or this is not Linux
    }
    for (String line : status.split("\n", -1)) {
      if (line.startsWith("VmRSS:")) {
        String[] parts = line.substring("VmRSS:".length()).trim().split("\\s+", -1);
        try {
          return Long.parseLong(parts[0]);
        } catch (NumberFormatException e) {
          return 0;
        }
      }
    }
    return 0; // kernel threads and zombies have no VmRSS line
  }
}
