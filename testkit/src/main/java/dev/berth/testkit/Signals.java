package dev.berth.testkit;

import java.util.concurrent.TimeUnit;

/**
 * Sends POSIX signals to processes with {@code kill(1)}, for the signals {@link Process} cannot
 * send (STOP, CONT, HUP).
 *
 * <p>Thread-safe (stateless).
 */
public final class Signals {
  private Signals() {}

  /**
   * Sends {@code signal} (a name without {@code SIG}, e.g. {@code STOP}) to {@code process}.
   *
   * @throws IllegalStateException when {@code kill} fails, e.g. the process is gone
   */
  public static void send(ProcessHandle process, String signal) throws Exception {
    Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start();
    if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
      throw new IllegalStateException("kill -" + signal + " " + process.pid() + " failed");
    }
  }
}
