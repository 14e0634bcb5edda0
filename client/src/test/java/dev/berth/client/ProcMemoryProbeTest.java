package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcMemoryProbeTest {
  private static final long MIB = 1024 * 1024;

  @TempDir Path proc;

  private void status(long pid, String content) throws IOException {
    Files.createDirectories(proc.resolve(Long.toString(pid)));
    Files.writeString(proc.resolve(Long.toString(pid)).resolve("status"), content);
  }

  @Test
  void usedMb_heapPlusChildrenRss_roundedUpToMib() throws IOException {
    status(101, "Name:\tchrome\nVmPeak:\t  900000 kB\nVmRSS:\t  204800 kB\nThreads:\t12\n");
    status(102, "Name:\tchrome\nVmRSS:\t  102400 kB\n");
    ProcMemoryProbe probe =
        new ProcMemoryProbe(proc, () -> LongStream.of(101, 102), () -> 64 * MIB + 1);

    assertThat(probe.usedMb()).isEqualTo(64 + 200 + 100 + 1);
  }

  @Test
  void usedMb_childExitedOrWithoutRss_countsZero() throws IOException {
    status(201, "Name:\tkthreadd\nState:\tS (sleeping)\n");
    ProcMemoryProbe probe =
        new ProcMemoryProbe(proc, () -> LongStream.of(201, 999), () -> 10 * MIB);

    assertThat(probe.usedMb()).isEqualTo(10);
  }

  @Test
  void system_onLinux_countsAtLeastTheHeap() {
    assumeTrue(Files.isDirectory(Path.of("/proc/self")), "needs /proc");

    assertThat(ProcMemoryProbe.system().usedMb()).isPositive();
  }
}
