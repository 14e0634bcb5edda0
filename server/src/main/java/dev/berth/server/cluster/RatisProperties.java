package dev.berth.server.cluster;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * The Ratis settings a node runs with, derived from {@link ClusterSettings}. Every value Ratis
 * leaves unbounded or unsafe by default is set here, each with the reason; docs/cluster.md lists
 * them for operators.
 */
final class RatisProperties {
  /** Segments of the on-disk log; small, so that purging after a snapshot frees space soon. */
  private static final SizeInBytes SEGMENT_SIZE = SizeInBytes.valueOf("8MB");

  /** The heap the log cache may hold (Ratis: 200MB and 6 segments). */
  private static final SizeInBytes LOG_CACHE_SIZE = SizeInBytes.valueOf("32MB");

  private static final int LOG_CACHE_SEGMENTS = 2;

  /** Bytes and entries waiting to be written to the log, or waiting to be replicated. */
  private static final SizeInBytes QUEUE_BYTES = SizeInBytes.valueOf("16MB");

  private static final int QUEUE_ELEMENTS = 1024;

  /** Chunks of a snapshot sent to a lagging follower (Ratis: 16MB). */
  private static final SizeInBytes SNAPSHOT_CHUNK = SizeInBytes.valueOf("1MB");

  /** Raft's own thread pools, fixed in size (Ratis: cached pools without a bound). */
  private static final int PROXY_THREADS = 2;

  private static final int SERVER_THREADS = 4;
  private static final int CLIENT_THREADS = 4;
  private static final int GRPC_REQUEST_THREADS = 4;

  /** Snapshots kept on disk: the latest and the one before it. */
  private static final int SNAPSHOTS_KEPT = 2;

  /**
   * Waits between a leader's attempts to reach a follower after failures: 10 at once, 20 after
   * about 100 ms, then about 500 ms for good (each randomised to 0.5-1.5 times; Ratis: {@code
   * 1ms,10, 1s,20, 5s,1000}, and after the last no wait at all).
   */
  static final String APPENDER_RETRY_POLICY = "1ms,10, 100ms,20, 500ms,2000000000";

  /** Appends the journal client may have outstanding (Ratis: 100). */
  static final int OUTSTANDING_APPENDS = 128;

  private RatisProperties() {}

  /** The properties of this node's Raft server, its storage under {@code raftDir}. */
  static RaftProperties server(ClusterSettings s, Path raftDir) {
    RaftProperties p = new RaftProperties();
    // Our gRPC transport: Ratis's own, plus the view of follower acknowledgements the leader
    // lease is computed from (AckTrackingRpcType).
    p.set(RaftConfigKeys.Rpc.TYPE_KEY, AckTrackingRpcType.class.getName());
    Peer self = s.selfPeer();
    GrpcConfigKeys.Server.setHost(p, self.raft().getHostString());
    GrpcConfigKeys.Server.setPort(p, self.raft().getPort());

    // Storage: the state directory, never Ratis's default under /tmp, and never the memory log
    // (it forgets votes, so a restarted node could vote twice in one term).
    RaftServerConfigKeys.setStorageDir(p, List.of(raftDir.toFile()));
    RaftServerConfigKeys.setRemovedGroupsDir(p, raftDir.resolve("removed-groups").toFile());
    RaftServerConfigKeys.Log.setUseMemory(p, false);

    RaftServerConfigKeys.Rpc.setTimeoutMin(p, duration(s.electionTimeoutMin()));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, duration(s.electionTimeoutMax()));

    // A JVM pause longer than this makes Ratis close the whole server; RaftNode reports it as
    // fatal. Shorter pauses above the step-down wait (Ratis: 10s) only make a leader step down.
    RaftServerConfigKeys.setCloseThreshold(p, duration(s.pauseFatalAfter()));

    // The log: bounded segments, cache, queues and the largest entry. The write buffer is direct
    // memory and must hold one entry of the largest size plus its length and checksum.
    SizeInBytes maxRecord = SizeInBytes.valueOf(s.maxRecordBytes());
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SEGMENT_SIZE);
    RaftServerConfigKeys.Log.setPreallocatedSize(p, SizeInBytes.valueOf("1MB"));
    RaftServerConfigKeys.Log.setSegmentCacheNumMax(p, LOG_CACHE_SEGMENTS);
    RaftServerConfigKeys.Log.setSegmentCacheSizeMax(p, LOG_CACHE_SIZE);
    RaftServerConfigKeys.Log.setQueueElementLimit(p, QUEUE_ELEMENTS);
    RaftServerConfigKeys.Log.setQueueByteLimit(p, max(QUEUE_BYTES, maxRecord));
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, maxRecord);
    RaftServerConfigKeys.Log.setWriteBufferSize(
        p, SizeInBytes.valueOf(s.maxRecordBytes() + (64 << 10)));
    RaftServerConfigKeys.Log.Appender.setSnapshotChunkSizeMax(p, SNAPSHOT_CHUNK);
    RaftServerConfigKeys.Write.setElementLimit(p, QUEUE_ELEMENTS);
    RaftServerConfigKeys.Write.setByteLimit(p, max(QUEUE_BYTES, maxRecord));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(s.maxRecordBytes() + (1 << 20)));

    // Snapshots: Ratis takes none unless told to. Take one every snapshotEvery entries, keep two,
    // and purge the log up to the snapshot so the disk use stays bounded.
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, s.snapshotEvery());
    RaftServerConfigKeys.Snapshot.setCreationGap(p, Math.min(1024, s.snapshotEvery()));
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, SNAPSHOTS_KEPT);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);

    RaftServerConfigKeys.ThreadPool.setProxyCached(p, false);
    RaftServerConfigKeys.ThreadPool.setProxySize(p, PROXY_THREADS);
    RaftServerConfigKeys.ThreadPool.setServerCached(p, false);
    RaftServerConfigKeys.ThreadPool.setServerSize(p, SERVER_THREADS);
    RaftServerConfigKeys.ThreadPool.setClientCached(p, false);
    RaftServerConfigKeys.ThreadPool.setClientSize(p, CLIENT_THREADS);
    // One reply stream per follower, so its replies are handled one at a time: the leader lease
    // (AckTrackingRpcType) reads each reply's send time right after Ratis recorded it.
    GrpcConfigKeys.Server.setHeartbeatChannel(p, false);
    GrpcConfigKeys.Server.setAsyncRequestThreadPoolCached(p, false);
    GrpcConfigKeys.Server.setAsyncRequestThreadPoolSize(p, GRPC_REQUEST_THREADS);

    // Retried appends are answered from the retry cache; keep entries a little longer than the
    // longest retry sequence (Ratis: 60s), so the cache stays small under load.
    Duration retries = s.requestTimeout().multipliedBy(s.appendAttempts() * 2L);
    RaftServerConfigKeys.RetryCache.setExpiryTime(
        p,
        duration(retries.compareTo(Duration.ofSeconds(10)) > 0 ? retries : Duration.ofSeconds(10)));

    // How long the leader waits before it tries a follower again after a failed append. Every
    // failure also resets the gRPC channel's reconnect backoff (GrpcLogAppender.resetClient), so
    // this policy alone decides how soon a member that was down hears from the leader once it is
    // back. Ratis's default ends at 5 s (x0.5-1.5, so up to 7.5 s) after 30 failures, which a
    // rolling restart waits out for every member; here the gap stays below 0.75 s, which costs
    // one failed connect per down member about twice a second.
    RaftServerConfigKeys.Log.Appender.setRetryPolicy(p, APPENDER_RETRY_POLICY);

    // Reads are not used, and Ratis's read lease is not what bounds grants (see LeaderLease).
    RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, false);
    return p;
  }

  /** The properties of the client a node appends its own records with. */
  static RaftProperties client(ClusterSettings s) {
    RaftProperties p = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, duration(s.requestTimeout()));
    RaftClientConfigKeys.Async.setOutstandingRequestsMax(p, OUTSTANDING_APPENDS);
    // Ratis opens a connection with a dummy watch request; the node's own server needs none.
    RaftClientConfigKeys.Async.Experimental.setSendDummyRequest(p, false);
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(s.maxRecordBytes() + (1 << 20)));
    return p;
  }

  static TimeDuration duration(Duration d) {
    return TimeDuration.valueOf(d.toNanos(), TimeUnit.NANOSECONDS);
  }

  private static SizeInBytes max(SizeInBytes a, SizeInBytes b) {
    return a.getSize() >= b.getSize() ? a : b;
  }
}
