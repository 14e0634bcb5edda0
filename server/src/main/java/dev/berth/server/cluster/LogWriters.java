package dev.berth.server.cluster;

import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.server.cluster.ReplicationException.Reason;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.exceptions.AlreadyClosedException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.LeaderSteppingDownException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Ratis client a member sends its floor record with (through whichever member leads), its
 * bounded retries, and the mapping of what Ratis throws to a {@link ReplicationException}, so no
 * Ratis type leaves this package. A leader appends its own records with {@link OwnLogWriter}.
 * Stateless.
 */
final class LogWriters {
  private static final Logger log = LoggerFactory.getLogger(LogWriters.class);

  private static final TimeDuration RETRY_SLEEP = TimeDuration.valueOf(50, TimeUnit.MILLISECONDS);

  /** Attempts of a record sent through whichever member leads (a floor record). */
  private static final int FORWARDED_ATTEMPTS = 10;

  private LogWriters() {}

  /** A client that follows the leader hint, a bounded number of times. */
  static RaftClient forwarding(RaftGroup group, ClusterSettings s) {
    return RaftClient.newBuilder()
        .setRaftGroup(group)
        .setProperties(RatisProperties.client(s))
        .setRetryPolicy(
            RetryPolicies.retryUpToMaximumCountWithFixedSleep(FORWARDED_ATTEMPTS, RETRY_SLEEP))
        .build();
  }

  /** Sends {@code record}; the future holds its log index once it is committed and applied. */
  static CompletableFuture<Long> append(RaftClient client, LogRecord record) {
    return call(() ->
            client
                .async()
                .send(Message.valueOf(UnsafeByteOperations.unsafeWrap(record.toByteArray()))))
        .thenApply(RaftClientReply::getLogIndex);
  }

  /** A request to Ratis, which may also fail before it is sent. */
  interface RaftCall {
    CompletableFuture<RaftClientReply> call() throws IOException;
  }

  /**
   * The reply of {@code call}, failed with a {@link ReplicationException} when it fails or is
   * refused. A call that throws fails the future too: Ratis's ordered client, for one, refuses new
   * requests once one of its requests has failed.
   */
  static CompletableFuture<RaftClientReply> call(RaftCall call) {
    CompletableFuture<RaftClientReply> sent;
    try {
      sent = call.call();
    } catch (IOException | RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return sent.handle(
        (reply, error) -> {
          if (error != null) {
            throw failure(error);
          }
          checkReply(reply);
          return reply;
        });
  }

  static <T> CompletableFuture<T> notLeader() {
    return CompletableFuture.failedFuture(
        new ReplicationException(Reason.NOT_LEADER, "this node is not a ready leader", null));
  }

  static void closeQuietly(RaftClient client) {
    try {
      client.close();
    } catch (IOException | RuntimeException e) {
      log.debug("closing a Raft client failed", e);
    }
  }

  private static void checkReply(RaftClientReply reply) {
    if (!reply.isSuccess()) {
      RaftException e = reply.getException();
      throw failure(e != null ? e : new IOException("Raft refused the request"));
    }
  }

  /** Maps what Ratis throws to our few conditions. */
  static ReplicationException failure(Throwable error) {
    Throwable e = error;
    while (e instanceof CompletionException && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof ReplicationException r) {
      return r;
    }
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof NotLeaderException
          || c instanceof LeaderNotReadyException
          || c instanceof LeaderSteppingDownException) {
        return new ReplicationException(Reason.NOT_LEADER, "not the leader: " + c.getMessage(), e);
      }
      if (c instanceof AlreadyClosedException) {
        return new ReplicationException(Reason.CLOSED, "closed: " + c.getMessage(), e);
      }
    }
    if (e instanceof TimeoutException) {
      return new ReplicationException(
          Reason.UNAVAILABLE, "not committed by a majority within its time bound", e);
    }
    return new ReplicationException(
        Reason.UNAVAILABLE, "not committed by a majority: " + e.getMessage(), e);
  }
}
