package dev.berth.server.cluster;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import org.apache.ratis.util.ExitUtils;

/**
 * A node's own Raft port, and what happens when it cannot be bound: the start fails with an {@link
 * IOException} naming {@code cluster.peers.<self>.raft} and the address, like any other failed
 * start, and the JVM goes on to the daemon's own failed-start path.
 *
 * <p>Ratis (3.2) does not fail its start when its gRPC server cannot bind: it calls {@link
 * ExitUtils#terminate}, which logs the failure with its stack trace at ERROR and ends the JVM with
 * {@code System.exit(1)}, so the daemon neither says what is wrong in its own words nor closes what
 * it opened. Two things keep that from happening:
 *
 * <ul>
 *   <li>{@link #checkFree} binds the address (and lets it go) before Ratis starts, so that a port
 *       another process holds fails the start with a clear message before Ratis tries it;
 *   <li>{@link #keepRatisFromExiting} tells Ratis to throw {@link ExitUtils.ExitException} instead
 *       of exiting, for a port taken between that check and Ratis's bind: {@code RaftServer.start}
 *       throws it, and {@link #notStarted} turns it into the same failure (Ratis has logged its
 *       trace then).
 * </ul>
 *
 * <p>The second switch holds for the whole JVM and cannot be undone. In Ratis 3.2.2 the one call of
 * {@code terminate} it affects is the gRPC server's failed start ({@code
 * GrpcServicesImpl.startImpl}); Ratis does not end the JVM anywhere else. The first use of {@link
 * ExitUtils} also installs Ratis's default uncaught-exception handler, which calls {@code
 * terminate}: with exiting off it would only log "Terminating with exit status -1" and end nothing,
 * so the handler the JVM had before is put back and an uncaught exception is reported as before.
 * Stateless apart from that switch; thread-safe.
 */
final class RaftPort {
  /** Whether Ratis was told not to exit; guarded by the class. */
  private static boolean exitDisabled;

  private RaftPort() {}

  /** The configuration key of this node's Raft address: {@code cluster.peers.<self>.raft}. */
  static String key(ClusterSettings settings) {
    return ClusterSettings.Keys.PEERS + "." + settings.self() + ".raft";
  }

  /**
   * Makes Ratis throw {@link ExitUtils.ExitException} where it would call {@code System.exit}; once
   * per JVM, later calls return at once.
   */
  static synchronized void keepRatisFromExiting() {
    if (exitDisabled) {
      return;
    }
    Thread.UncaughtExceptionHandler before = Thread.getDefaultUncaughtExceptionHandler();
    ExitUtils.disableSystemExit(); // the first use of ExitUtils installs Ratis's handler
    Thread.setDefaultUncaughtExceptionHandler(before);
    exitDisabled = true;
  }

  /**
   * Binds this node's Raft address and releases it at once.
   *
   * @throws IOException naming the key and the address when it cannot be bound (another process
   *     listens on it, or the host is not one of this machine's)
   */
  static void checkFree(ClusterSettings settings) throws IOException {
    InetSocketAddress configured = settings.selfPeer().raft();
    // As Ratis binds it: the host as configured, resolved now.
    InetSocketAddress address =
        new InetSocketAddress(configured.getHostString(), configured.getPort());
    try (ServerSocket probe = new ServerSocket()) {
      probe.setReuseAddress(true); // as a listener's: a connection in TIME_WAIT does not count
      probe.bind(address, 1);
    } catch (IOException e) {
      throw cannotListen(settings, e.getMessage(), e);
    }
  }

  /** The failure Ratis reported by {@code terminate} while it started, as {@link #checkFree}'s. */
  static IOException notStarted(ClusterSettings settings, ExitUtils.ExitException e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String why = root.getMessage() != null ? root.getMessage() : e.getMessage();
    return cannotListen(settings, why, e);
  }

  private static IOException cannotListen(ClusterSettings settings, String why, Throwable cause) {
    return new IOException(
        key(settings)
            + ": cannot listen on "
            + settings.selfPeer().raftAddress()
            + (why == null ? "" : ": " + why),
        cause);
  }
}
