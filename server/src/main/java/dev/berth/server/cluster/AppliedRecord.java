package dev.berth.server.cluster;

import static java.util.Objects.requireNonNull;

import dev.berth.proto.cluster.v1.LogRecord;

/**
 * One committed log record as a node applies it. Immutable.
 *
 * @param index its Raft log index; strictly increasing from one record to the next
 * @param term the Raft term of the leader that wrote it
 * @param epoch the fencing epoch in force once it is applied (for an epoch record, the new one)
 * @param record what was written
 */
public record AppliedRecord(long index, long term, long epoch, LogRecord record) {

  public AppliedRecord {
    requireNonNull(record, "record");
  }

  /**
   * Whether a handoff record right before this one still counts as the last record before the next
   * epoch: this is a journal record without a grant in it. Its writer is the leader that wrote the
   * handoff (the next leader journals only after its own epoch record), committing the releases and
   * session ends that came after it read the handed-off state; it grants nothing after its handoff,
   * so its successor may skip the new-leader wait and hold nothing back.
   */
  public boolean keepsAHandoffLast() {
    return keepsAHandoffLast(record);
  }

  /** {@link #keepsAHandoffLast()} of a record not applied yet. */
  public static boolean keepsAHandoffLast(LogRecord record) {
    if (!record.hasJournal()) {
      return false;
    }
    for (var e : record.getJournal().getEntriesList()) {
      if (e.hasLeaseGranted()) {
        return false;
      }
    }
    return true;
  }
}
