package dev.berth.server.session;

import dev.berth.server.lease.RevokeReason;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/** A {@link SessionChannel} that records what the broker pushes down it. Thread-safe. */
public final class RecordingSessionChannel implements SessionChannel {

  /** A pushed revoke. */
  public record Revoke(long commandId, String leaseId, RevokeReason reason, long graceNanos) {}

  /** A pushed cleanup. */
  public record Cleanup(long commandId, long targetFreeMb, String reason) {}

  /** A pushed drain. */
  public record Drain(long commandId, Instant deadline) {}

  /** The close of the stream. */
  public record Close(CloseReason why, String detail) {}

  private final List<Revoke> revokes = new ArrayList<>();
  private final List<Cleanup> cleanups = new ArrayList<>();
  private final List<Drain> drains = new ArrayList<>();
  private final List<Close> closes = new ArrayList<>();

  @Override
  public synchronized void revoke(
      long commandId, String leaseId, RevokeReason reason, long graceNanos) {
    revokes.add(new Revoke(commandId, leaseId, reason, graceNanos));
  }

  @Override
  public synchronized void cleanup(long commandId, long targetFreeMb, String reason) {
    cleanups.add(new Cleanup(commandId, targetFreeMb, reason));
  }

  @Override
  public synchronized void drain(long commandId, Instant deadline) {
    drains.add(new Drain(commandId, deadline));
  }

  @Override
  public synchronized void close(CloseReason why, String detail) {
    closes.add(new Close(why, detail));
  }

  public synchronized List<Revoke> revokes() {
    return List.copyOf(revokes);
  }

  public synchronized List<Cleanup> cleanups() {
    return List.copyOf(cleanups);
  }

  public synchronized List<Drain> drains() {
    return List.copyOf(drains);
  }

  public synchronized List<Close> closes() {
    return List.copyOf(closes);
  }
}
