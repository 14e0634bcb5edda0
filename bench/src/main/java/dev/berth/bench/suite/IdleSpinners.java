package dev.berth.bench.suite;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Processes that keep the machine's CPUs busy at the lowest scheduling class, {@code SCHED_IDLE}
 * ({@code chrt --idle 0}), so that no CPU halts while they run and no woken thread pays a wake-up
 * from idle (on a VM: the hypervisor resuming a halted vCPU). Being {@code SCHED_IDLE}, they take
 * only CPU time nothing else wants: the scheduler preempts them the moment any ordinary thread (the
 * server under test, the generator) becomes runnable, so they do not delay it as spinning threads
 * of normal priority would (those hold a CPU until their time slice ends). Not thread-safe; one
 * owner starts and closes it.
 */
final class IdleSpinners implements AutoCloseable {
  /** The spinning command: a shell loop under {@code chrt --idle 0}. */
  static final List<String> COMMAND =
      List.of("chrt", "--idle", "0", "sh", "-c", "while :; do :; done");

  private final List<Process> processes = new ArrayList<>();

  /**
   * Starts {@code count} spinning processes (none for 0).
   *
   * @throws IOException when {@code chrt} cannot be started (util-linux is missing)
   */
  IdleSpinners(int count) throws IOException {
    try {
      for (int i = 0; i < count; i++) {
        processes.add(
            new ProcessBuilder(COMMAND)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start());
      }
    } catch (IOException e) {
      close();
      throw new IOException(
          "--spin needs chrt (util-linux) to run spinners at SCHED_IDLE: " + e, e);
    }
  }

  /** The process ids of the spinners, for checks. */
  List<Long> pids() {
    return processes.stream().map(Process::pid).toList();
  }

  /** Stops every spinner and waits for it to end. */
  @Override
  public void close() {
    for (Process p : processes) {
      p.destroyForcibly();
    }
    for (Process p : processes) {
      try {
        p.waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    processes.clear();
  }
}
