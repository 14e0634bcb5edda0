package dev.berth.server.state;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * The broker's durable epoch: a number in {@code <state-dir>/epoch} that grows by one every time it
 * is advanced, written with fsync (file, then directory) before it is used. Fencing tokens take
 * their high bits from it, so they keep increasing across restarts.
 *
 * <p>The store also holds an exclusive lock on {@code <state-dir>/lock} while open, so two brokers
 * never share (and corrupt) one state directory.
 *
 * <p>Thread-safe.
 */
public final class EpochStore implements AutoCloseable {
  public static final String EPOCH_FILE = "epoch";

  private final Path dir;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private long current;

  private EpochStore(Path dir, FileChannel lockChannel, FileLock lock, long current) {
    this.dir = dir;
    this.lockChannel = lockChannel;
    this.lock = lock;
    this.current = current;
  }

  /**
   * Opens (creating if needed) the state directory and locks it.
   *
   * @throws StateException when the directory cannot be used, is locked by another broker, or its
   *     epoch file is corrupt
   */
  public static EpochStore open(Path dir) {
    try {
      Files.createDirectories(dir);
      FileChannel channel =
          FileChannel.open(
              dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null; // this JVM holds it already
      }
      if (lock == null) {
        channel.close();
        throw new StateException(
            "state directory "
                + dir
                + " is in use by another broker ("
                + dir.resolve("lock")
                + ")");
      }
      try {
        return new EpochStore(dir, channel, lock, read(dir.resolve(EPOCH_FILE)));
      } catch (IOException | RuntimeException e) {
        lock.release();
        channel.close();
        throw e;
      }
    } catch (IOException e) {
      throw new StateException(
          "cannot open state directory " + dir + ": " + IoErrors.describe(e), e);
    }
  }

  private static long read(Path file) throws IOException {
    if (!Files.exists(file)) {
      return 0;
    }
    String text = Files.readString(file, StandardCharsets.US_ASCII).trim();
    try {
      long value = Long.parseLong(text);
      if (value < 0) {
        throw new NumberFormatException("negative");
      }
      return value;
    } catch (NumberFormatException e) {
      throw new StateException(
          "corrupt epoch file " + file + ": expected a non-negative number, found '" + text + "'");
    }
  }

  /** The last epoch made durable; 0 for a new state directory. */
  public synchronized long current() {
    return current;
  }

  /** Makes {@code current() + 1} durable and returns it. */
  public synchronized long advance() {
    return persist(current + 1);
  }

  /**
   * Makes {@code epoch} durable when it lies above {@link #current()} (a cluster's epoch this node
   * served in), so that a later start, in the cluster or alone, issues tokens above it.
   */
  public synchronized void raiseTo(long epoch) {
    if (epoch > current) {
      persist(epoch);
    }
  }

  private long persist(long next) {
    Path target = dir.resolve(EPOCH_FILE);
    Path temp = dir.resolve(EPOCH_FILE + ".tmp");
    try {
      try (FileChannel out =
          FileChannel.open(
              temp,
              StandardOpenOption.CREATE,
              StandardOpenOption.WRITE,
              StandardOpenOption.TRUNCATE_EXISTING)) {
        out.write(ByteBuffer.wrap((next + "\n").getBytes(StandardCharsets.US_ASCII)));
        out.force(true);
      }
      try {
        Files.move(
            temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, target, StandardCopyOption.REPLACE_EXISTING);
      }
      forceDirectory();
    } catch (IOException e) {
      try {
        Files.deleteIfExists(temp); // a full disk leaves an empty one behind
      } catch (IOException ignored) {
        // the error below says what went wrong first
      }
      // Why, not only where: "no space left on device" is what the operator must act on.
      throw new UncheckedIOException(
          "cannot persist epoch " + next + " in " + dir + ": " + IoErrors.describe(e), e);
    }
    current = next;
    return next;
  }

  /** The rename is durable only once the directory entry is flushed too. */
  private void forceDirectory() throws IOException {
    try (FileChannel dirChannel = FileChannel.open(dir, StandardOpenOption.READ)) {
      dirChannel.force(true);
    } catch (IOException e) {
      // Some file systems refuse to open directories; the file itself is already flushed.
      if (!(e instanceof java.nio.file.AccessDeniedException)) {
        throw e;
      }
    }
  }

  @Override
  public synchronized void close() {
    try {
      lock.release();
      lockChannel.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
