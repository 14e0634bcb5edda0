package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.testkit.DaemonProcess;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real daemon as a cluster member whose own Raft port another process holds: its start fails
 * the way every failed start does, one {@code berth: cannot start ...} line naming the key and the
 * address and exit status 1, and Ratis does not end the JVM itself ({@code System.exit(1)} after a
 * stack trace, which it did before). One process: the other members need not run, since the port is
 * bound before the node talks to anyone.
 */
class RaftPortInUseIT {
  @TempDir Path dir;

  @Test
  @Timeout(90)
  void memberWhoseRaftPortIsTaken_failsItsStartInOneLine_exit1() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      String raft = "127.0.0.1:" + taken.getLocalPort();
      String api = "127.0.0.1:" + DaemonProcess.freePort();
      List<String> command = new ArrayList<>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(List.of("-Xmx256m", "-jar", jar().toString(), "serve"));
      command.addAll(List.of("--listen", api, "--state-dir", dir.resolve("n1").toString()));
      command.addAll(List.of("--metrics.listen", "off"));
      command.addAll(List.of("--cluster.id", "taken", "--cluster.self", "n1"));
      command.addAll(List.of("--cluster.peers.n1.raft", raft, "--cluster.peers.n1.api", api));
      for (String other : new String[] {"n2", "n3"}) {
        command.addAll(
            List.of(
                "--cluster.peers." + other + ".raft",
                "127.0.0.1:" + DaemonProcess.freePort(),
                "--cluster.peers." + other + ".api",
                "127.0.0.1:" + DaemonProcess.freePort()));
      }
      Path out = dir.resolve("stdout.txt");
      Path err = dir.resolve("stderr.txt");
      Process daemon =
          new ProcessBuilder(command)
              .redirectOutput(out.toFile())
              .redirectError(err.toFile())
              .start();
      try {
        assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).as("exited within 60 s").isTrue();
      } finally {
        daemon.destroyForcibly();
      }
      String stderr = Files.readString(err);

      assertThat(daemon.exitValue()).as("exit status; stderr:\n%s", stderr).isEqualTo(1);
      assertThat(Files.readString(out)).isEmpty();
      List<String> berthLines = stderr.lines().filter(line -> line.startsWith("berth:")).toList();
      assertThat(berthLines)
          .as("stderr:\n%s", stderr)
          .singleElement()
          .asString()
          .startsWith("berth: cannot start")
          .contains("cluster.peers.n1.raft: cannot listen on " + raft + ": ")
          .contains("in use");
      // No trace from Ratis's terminate (logged just before its System.exit) nor any other.
      assertThat(stderr)
          .doesNotContain("Terminating with exit status")
          .doesNotContain("Failed to start Grpc server")
          .doesNotContain("Exception")
          .doesNotContain("\tat ");
    }
  }

  /** The shaded daemon jar failsafe names, else the module's target. */
  private static Path jar() {
    String configured = System.getProperty("berth.server.jar");
    Path jar = configured != null ? Path.of(configured) : Path.of("target", "berth-server.jar");
    assertThat(jar).as("the daemon jar (build the server module first)").exists();
    return jar;
  }
}
