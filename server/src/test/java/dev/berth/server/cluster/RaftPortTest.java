package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.time.FakeTimeSource;
import dev.berth.testkit.DaemonProcess;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.TimeDuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node whose Raft port another process holds fails its start with an {@link IOException} naming
 * the key and the address, and the JVM lives on: Ratis's own reaction is {@code System.exit(1)},
 * which would end this test's JVM too. Each node is one member of three whose peers do not run,
 * with an election timeout of an hour, so nothing is sent to them.
 */
class RaftPortTest {

  @Test
  void start_raftPortHeldByAnotherProcess_failsNamingTheKeyAndTheAddress(@TempDir Path state)
      throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      ClusterSettings settings = settings(taken.getLocalPort());

      assertThatThrownBy(() -> start(settings, state, p -> {}))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith(
              "cluster.peers.n1.raft: cannot listen on 127.0.0.1:" + taken.getLocalPort() + ": ")
          .hasMessageContaining("in use");
    }
  }

  /**
   * The port is free when the node checks it but taken when Ratis binds it (here: Ratis is told
   * another port, which is held): Ratis throws instead of exiting, and the start fails the same
   * way.
   */
  @Test
  void start_portTakenWhenRatisBindsIt_ratisThrowsInsteadOfExiting(@TempDir Path state)
      throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int checked = DaemonProcess.freePort();
      ClusterSettings settings = settings(checked);

      assertThatThrownBy(
              () ->
                  start(
                      settings, state, p -> GrpcConfigKeys.Server.setPort(p, taken.getLocalPort())))
          .isInstanceOf(IOException.class)
          .hasMessageStartingWith("cluster.peers.n1.raft: cannot listen on 127.0.0.1:" + checked)
          .hasMessageContaining("in use");
    }
    // Ratis's handler for uncaught exceptions, installed as its exit switch was first used, was
    // replaced by the one the JVM had: it would log "Terminating" and end nothing.
    Thread.UncaughtExceptionHandler handler = Thread.getDefaultUncaughtExceptionHandler();
    assertThat(handler == null ? "none" : handler.getClass().getName())
        .doesNotStartWith("org.apache.ratis");
  }

  private static ClusterSettings settings(int raftPort) throws IOException {
    return ClusterSettings.newBuilder()
        .id("port")
        .self("n1")
        .peer("n1", "127.0.0.1:" + raftPort, loopback())
        .peer("n2", loopback(), loopback())
        .peer("n3", loopback(), loopback())
        .build();
  }

  private static RaftNode start(
      ClusterSettings settings, Path state, java.util.function.Consumer<RaftProperties> tuning)
      throws IOException {
    return RaftNode.start(
        settings,
        state,
        0,
        new RecordingSink(),
        new RecordingRoles(),
        new FakeTimeSource(),
        p -> {
          TimeDuration hour = TimeDuration.valueOf(1, TimeUnit.HOURS);
          RaftServerConfigKeys.Rpc.setTimeoutMin(p, hour);
          RaftServerConfigKeys.Rpc.setTimeoutMax(p, hour.add(hour));
          tuning.accept(p);
        });
  }

  private static String loopback() throws IOException {
    return "127.0.0.1:" + DaemonProcess.freePort();
  }
}
