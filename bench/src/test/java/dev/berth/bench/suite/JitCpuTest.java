package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JitCpuTest {
  @TempDir Path proc;

  /** Writes a thread's stat line with {@code ticks} of user time and none of system time. */
  private void thread(long pid, long tid, String name, long ticks) throws IOException {
    Path dir = proc.resolve(pid + "/task/" + tid);
    Files.createDirectories(dir);
    Files.writeString(
        dir.resolve("stat"),
        tid + " (" + name + ") S 1 1 1 0 -1 0 0 0 0 0 " + ticks + " 0 0 0 20 0 1 0 1 1 1 1");
  }

  @Test
  void sinceLastMicros_countsOnlyCompilerThreads_andOnlyWhatTheyUsedSinceTheLastLook()
      throws IOException {
    thread(10, 11, "C2 CompilerThre", 100);
    thread(10, 12, "C1 CompilerThre", 20);
    thread(10, 13, "grpc-default-wo", 5_000);
    thread(20, 21, "C2 CompilerThre", 30);
    JitCpu jit = new JitCpu(proc, () -> List.of(10L, 20L, 30L)); // 30 has ended

    assertThat(jit.sinceLastMicros()).as("all so far: 150 ticks").isEqualTo(1_500_000);
    assertThat(jit.sinceLastMicros()).as("nothing new").isZero();

    thread(10, 11, "C2 CompilerThre", 140);
    thread(10, 13, "grpc-default-wo", 9_000);
    Files.delete(proc.resolve("10/task/12/stat"));
    Files.delete(proc.resolve("10/task/12"));
    thread(20, 22, "C1 CompilerThre", 7);

    assertThat(jit.sinceLastMicros())
        .as("40 ticks more in 11, an ended thread, a new one with 7")
        .isEqualTo(470_000);
  }

  @Test
  void isCompiler_hotSpotCompilerThreadNames_only() {
    assertThat(JitCpu.isCompiler("7 (C2 CompilerThre) S 1")).isTrue();
    assertThat(JitCpu.isCompiler("7 (C1 CompilerThre) S 1")).isTrue();
    assertThat(JitCpu.isCompiler("7 (java) S 1")).isFalse();
    assertThat(JitCpu.isCompiler("no name")).isFalse();
  }
}
