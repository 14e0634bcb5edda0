package dev.berth.server.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;

/**
 * Keeps the state the replicated log describes (sessions, leases, host penalties, the policy): the
 * mirror every node maintains, leader included, from which a new leader starts. The cluster layer
 * hands it every committed record in log order and asks it for snapshots.
 *
 * <p>The cluster layer calls these methods from one thread at a time, in log order, so an
 * implementation needs no lock against itself; it needs one only for readers on other threads. A
 * method that throws stops this node (Raft closes it and the owner is told it is fatal), since a
 * replica that cannot apply the log can no longer be trusted.
 */
public interface ReplicaSink {

  /** Applies the next committed record. */
  void apply(AppliedRecord record);

  /** Writes the state as of the last record applied; {@link #loadSnapshot} reads it back. */
  void writeSnapshot(OutputStream out) throws IOException;

  /**
   * Replaces the whole state with one {@link #writeSnapshot} wrote. Called at start before any
   * record is applied, and when this node installs a snapshot from the leader.
   */
  void loadSnapshot(InputStream in) throws IOException;
}
