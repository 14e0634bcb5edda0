package dev.berth.server.cluster;

import static java.util.Objects.requireNonNull;

import dev.berth.proto.cluster.v1.LogRecord;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * A record this node's leader writes to its own log, as the Ratis message of its write request: the
 * bytes that go to the log, and the decoded record they were serialized from, so that the leader
 * applies the record it wrote without parsing it again ({@link ClusterStateMachine}). Immutable.
 *
 * <p>The bytes are {@code record.toByteArray()}, taken once here; a protobuf message parsed from
 * its own serialization equals it, so applying {@code record} is applying what a follower parses
 * from the log ({@code ClusterStateMachineTest} checks both paths give the same replica).
 */
final class WrittenRecord implements Message {
  private final LogRecord record;
  private final ByteString content;

  WrittenRecord(LogRecord record) {
    this.record = requireNonNull(record, "record");
    this.content = UnsafeByteOperations.unsafeWrap(record.toByteArray());
  }

  /** The record whose serialization {@link #getContent} is. */
  LogRecord record() {
    return record;
  }

  @Override
  public ByteString getContent() {
    return content;
  }

  @Override
  public String toString() {
    return "WrittenRecord(" + record.getRecordCase() + ", " + content.size() + " bytes)";
  }
}
