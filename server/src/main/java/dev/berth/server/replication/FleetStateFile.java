package dev.berth.server.replication;

import dev.berth.proto.cluster.v1.FleetState;
import dev.berth.proto.cluster.v1.SnapshotHeader;
import dev.berth.server.broker.Fleet;
import dev.berth.server.state.EpochStore;
import dev.berth.server.state.IoErrors;
import dev.berth.server.state.StateException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A lone broker's state across a graceful restart: {@code <state_dir>/fleet-state}, written on
 * SIGTERM with every session, lease and host penalty, and taken (read, then removed) by the next
 * start, so that workers resume their sessions with their leases and new grants need no recovery
 * window. A crash writes nothing: the next start has no file and the restart recovery window
 * applies. A file that was not written by the run just before this one (its epoch is not the
 * previous epoch) or that cannot be read is refused with one log line, kept aside as {@code
 * fleet-state.refused}, and ignored: the epoch still advances and the restart recovery window
 * applies, so a damaged file never costs a fencing token. A file written by a run of a later epoch
 * than the epoch file holds is different: it proves that the epoch file went back, and the start is
 * refused ({@link #checkEpoch}).
 *
 * <p>The file is a {@link SnapshotHeader} (the writer's epoch, the time) and a {@link FleetState},
 * both length-delimited, written to a temporary file that is forced to disk, then renamed over the
 * old one, and the directory forced too. Stateless; one daemon uses its state directory at a time.
 */
public final class FleetStateFile {
  private static final Logger log = LoggerFactory.getLogger(FleetStateFile.class);

  /** The file's name in the state directory. */
  public static final String NAME = "fleet-state";

  private FleetStateFile() {}

  /**
   * Writes {@code fleet} as the state of the run of {@code epoch}.
   *
   * @throws IOException when it cannot be written; no partial file is left
   */
  public static void write(Path stateDir, long epoch, Fleet fleet, long nowUnixMs)
      throws IOException {
    Path target = stateDir.resolve(NAME);
    Path temp = stateDir.resolve(NAME + ".tmp");
    try (FileChannel channel =
            FileChannel.open(
                temp,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING);
        OutputStream out = java.nio.channels.Channels.newOutputStream(channel)) {
      SnapshotHeader.newBuilder()
          .setEpoch(epoch)
          .setWrittenAtUnixMs(nowUnixMs)
          .build()
          .writeDelimitedTo(out);
      FleetCodec.state(fleet, null, nowUnixMs).writeDelimitedTo(out);
      out.flush();
      channel.force(true);
    } catch (IOException | RuntimeException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(stateDir, StandardOpenOption.READ)) {
      dir.force(true);
    } catch (IOException e) {
      log.debug("cannot force the state directory {}: {}", stateDir, e.toString());
    }
  }

  /**
   * Refuses a start whose epoch file lies behind this file: the file was written by the run of an
   * epoch above {@code currentEpoch} (the epoch file's), so tokens of that epoch were granted and
   * the epoch file was restored from a backup, edited or removed. Starting would grant fencing
   * tokens at or below those. Nothing is changed: once the operator writes that epoch (or a higher
   * one) to the epoch file, the next start resumes this state. A file whose header does not read
   * passes here and is refused by {@link #take}.
   *
   * @throws StateException naming both files, both epochs and the step that fixes it
   */
  public static void checkEpoch(Path stateDir, long currentEpoch) {
    Path file = stateDir.resolve(NAME);
    long written;
    try (InputStream in = Files.newInputStream(file)) {
      SnapshotHeader header = SnapshotHeader.parseDelimitedFrom(in);
      if (header == null) {
        return;
      }
      written = header.getEpoch();
    } catch (IOException | RuntimeException e) {
      return; // no file, or one take() refuses
    }
    if (written <= currentEpoch) {
      return;
    }
    Path epochFile = stateDir.resolve(EpochStore.EPOCH_FILE);
    throw new StateException(
        file
            + " was written by the run of epoch "
            + written
            + ", but "
            + epochFile
            + (currentEpoch == 0 ? " is missing" : " holds " + currentEpoch)
            + ": the epoch file went back (restored from a backup, edited or removed?), and this"
            + " start would grant fencing tokens at or below ones already granted. Write the highest"
            + " epoch this broker has run in, at least "
            + written
            + ", to "
            + epochFile
            + " and start again (the state is then resumed); nothing was changed");
  }

  /**
   * Reads the state the previous run wrote and removes the file, so that a later crash does not
   * find it again.
   *
   * @param previousEpoch the epoch of the run just before this one
   * @return the state; empty when there is none, or it was refused (logged)
   */
  public static Optional<Fleet> take(Path stateDir, long previousEpoch) {
    Path file = stateDir.resolve(NAME);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    String refused;
    try (InputStream in = Files.newInputStream(file)) {
      SnapshotHeader header = SnapshotHeader.parseDelimitedFrom(in);
      FleetState state = header == null ? null : FleetState.parseDelimitedFrom(in);
      if (header == null || state == null) {
        refused = "it is empty or cut short";
      } else if (header.getEpoch() != previousEpoch) {
        refused =
            "it was written by the run of epoch "
                + header.getEpoch()
                + ", not by the previous run (epoch "
                + previousEpoch
                + "): a run in between stopped without writing one, or the file was copied";
      } else {
        Files.delete(file);
        return Optional.of(FleetCodec.fleet(state, header.getWrittenAtUnixMs()));
      }
    } catch (IOException e) {
      refused = "it cannot be read (" + IoErrors.describe(e) + ")";
    } catch (RuntimeException e) {
      refused = "it cannot be read (" + e.getMessage() + ")";
    }
    log.error(
        "{} refused and ignored: {}; it is kept as {}.refused, and workers re-declare their leases"
            + " within one session TTL as after a crash",
        file,
        refused,
        NAME);
    try {
      Files.move(file, stateDir.resolve(NAME + ".refused"), StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      log.warn("cannot move {} aside: {}", file, e.toString());
    }
    return Optional.empty();
  }
}
