package dev.berth.bench.suite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** What the suite ran on, printed above every table: the figures mean nothing without it. */
final class Machine {
  private Machine() {}

  static String describe() {
    return String.join(
        "\n",
        "cpus: " + Runtime.getRuntime().availableProcessors() + " x " + cpuModel(),
        "jvm: "
            + System.getProperty("java.vm.name")
            + " "
            + System.getProperty("java.runtime.version"),
        "transport: grpc-netty over loopback, " + Channels.transport(),
        "load average before: " + loadAverage());
  }

  /** The 1, 5 and 15 minute load averages. */
  static String loadAverage() {
    try {
      List<String> f = ProcStat.fields(Files.readString(Path.of("/proc/loadavg")));
      return f.get(0) + " " + f.get(1) + " " + f.get(2);
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static String cpuModel() {
    try {
      List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
      for (String line : lines) {
        if (line.startsWith("model name")) {
          return line.substring(line.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    return "unknown CPU";
  }
}
