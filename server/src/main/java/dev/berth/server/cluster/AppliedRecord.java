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
}
