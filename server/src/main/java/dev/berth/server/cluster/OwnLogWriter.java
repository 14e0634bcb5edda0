package dev.berth.server.cluster;

import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.server.cluster.ReplicationException.Reason;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;

/**
 * Appends one leadership's records straight to this node's own Raft server, as write requests
 * handed to it in-process: no Raft client, and no gRPC connection from the process to itself.
 * Through a client every journal batch was serialized, framed and sent over loopback, received and
 * parsed again by the same JVM, and answered the same way; without that the leader spends about
 * half the CPU per lease cycle it did (docs/cluster.md, "Measured").
 *
 * <p>Each {@link #append} returns once Ratis has put the entry in the leader's log (it submits on
 * Ratis's client executor and waits for that step, so it must not be called on a Ratis thread), and
 * records are logged in the order their appends were called. A write is never retried: a write
 * Ratis refuses was not logged, and resending it after later ones would break that order, so the
 * refusal fails the append (and a failed journal makes the leader step down). One that is logged
 * but not committed within {@code request_timeout × append_attempts} fails {@link
 * Reason#UNAVAILABLE}, the bound the client's retries gave before.
 *
 * <p>One per leadership: after {@link #close} every append fails {@link Reason#CLOSED}, so a record
 * of an ended leadership is never written in a later one. Thread-safe.
 */
final class OwnLogWriter {
  private final RaftServer server;
  private final RaftPeerId self;
  private final RaftGroupId groupId;
  private final long commitTimeoutMillis;
  private final ClientId clientId = ClientId.randomId();
  private final AtomicLong callIds = new AtomicLong();
  private volatile boolean closed;

  /**
   * @param commitTimeout how long a logged record may wait for its commit before its append fails
   */
  OwnLogWriter(RaftServer server, RaftPeerId self, RaftGroupId groupId, Duration commitTimeout) {
    this.server = server;
    this.self = self;
    this.groupId = groupId;
    this.commitTimeoutMillis = Math.max(1, commitTimeout.toMillis());
  }

  /** Appends {@code record}; the future holds its log index once it is committed and applied. */
  CompletableFuture<Long> append(LogRecord record) {
    if (closed) {
      return CompletableFuture.failedFuture(
          new ReplicationException(Reason.CLOSED, "this leadership has ended", null));
    }
    RaftClientRequest request =
        RaftClientRequest.newBuilder()
            .setClientId(clientId)
            .setServerId(self)
            .setGroupId(groupId)
            .setCallId(callIds.incrementAndGet())
            .setMessage(Message.valueOf(UnsafeByteOperations.unsafeWrap(record.toByteArray())))
            .setType(RaftClientRequest.writeRequestType())
            .build();
    return LogWriters.call(
            () ->
                server
                    .submitClientRequestAsync(request)
                    .orTimeout(commitTimeoutMillis, TimeUnit.MILLISECONDS))
        .thenApply(RaftClientReply::getLogIndex);
  }

  /** Fails every later append; those already logged complete as Ratis decides. */
  void close() {
    closed = true;
  }
}
