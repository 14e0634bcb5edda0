package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.base.Splitter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class IdleSpinnersTest {
  /** {@code SCHED_IDLE} in {@code sched.h}. */
  private static final int SCHED_IDLE = 5;

  @Test
  void new_twoSpinners_runAtIdlePriorityUntilClosed() throws IOException {
    IdleSpinners spinners = new IdleSpinners(2);
    try {
      assertThat(spinners.pids()).hasSize(2);
      for (long pid : spinners.pids()) {
        assertThat(policyOnceExeced(pid)).isEqualTo(SCHED_IDLE);
      }
    } finally {
      spinners.close();
    }
    for (long pid : spinners.pids()) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    }
  }

  @Test
  void new_none_startsNothing() throws IOException {
    try (IdleSpinners spinners = new IdleSpinners(0)) {
      assertThat(spinners.pids()).isEmpty();
    }
  }

  /**
   * The scheduling policy (field 41 of {@code /proc/<pid>/stat}) once {@code chrt} has set it and
   * run the shell: the command name turns from {@code chrt} to {@code sh}.
   */
  private static int policyOnceExeced(long pid) throws IOException {
    Path stat = Path.of("/proc", Long.toString(pid), "stat");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      String line = Files.readString(stat);
      if (line.contains("(sh)")) {
        List<String> fields =
            Splitter.on(' ').splitToList(line.substring(line.lastIndexOf(')') + 2));
        return Integer.parseInt(fields.get(41 - 3));
      }
      Thread.onSpinWait();
    }
    throw new AssertionError("spinner " + pid + " never ran its shell");
  }
}
