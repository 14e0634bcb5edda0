package dev.berth.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Looks inside a running JVM from outside, as an operator would: its thread count from {@code
 * /proc/<pid>/status}, its Java threads by name and its heap from {@code jcmd}. Leak and heap
 * checks of the fault tests read the daemon through this, never through the daemon's own answers.
 *
 * <p>Thread-safe (stateless apart from the pid).
 */
public final class ProcessProbe {
  private static final Pattern THREAD = Pattern.compile("^\"(.*)\" #\\d+");
  private static final Pattern HEAP_USED =
      Pattern.compile("total (\\d+)K, used (\\d+)K", Pattern.MULTILINE);

  private final long pid;

  public ProcessProbe(long pid) {
    this.pid = pid;
  }

  /** Every thread of the process, JVM-internal ones included ({@code Threads:} in /proc). */
  public int osThreads() throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
      if (line.startsWith("Threads:")) {
        return Integer.parseInt(line.substring("Threads:".length()).trim());
      }
    }
    throw new IllegalStateException("no Threads: line in /proc/" + pid + "/status");
  }

  /** The names of the process's Java threads, from {@code jcmd <pid> Thread.print}. */
  public List<String> javaThreads() throws Exception {
    List<String> names = new ArrayList<>();
    for (String line : jcmd("Thread.print").lines().toList()) {
      Matcher m = THREAD.matcher(line);
      if (m.find()) {
        names.add(m.group(1));
      }
    }
    if (names.isEmpty()) {
      throw new IllegalStateException("jcmd listed no threads for " + pid);
    }
    return names;
  }

  /** Bytes of Java heap in use now (garbage included), from {@code jcmd <pid> GC.heap_info}. */
  public long heapUsedBytes() throws Exception {
    String info = jcmd("GC.heap_info");
    Matcher m = HEAP_USED.matcher(info);
    if (!m.find()) {
      throw new IllegalStateException("cannot read heap use from:\n" + info);
    }
    return Long.parseLong(m.group(2)) * 1024;
  }

  /** Runs a full GC in the process, so that heap use read next is what is live. */
  public void gc() throws Exception {
    jcmd("GC.run");
  }

  private String jcmd(String command) throws Exception {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    Process p =
        new ProcessBuilder(
                Files.exists(jcmd) ? jcmd.toString() : "jcmd", Long.toString(pid), command)
            .redirectErrorStream(true)
            .start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IllegalStateException(
          "jcmd " + pid + " " + command + " failed: " + new String(out, StandardCharsets.UTF_8));
    }
    return new String(out, StandardCharsets.UTF_8);
  }
}
