package dev.berth.server.session;

import dev.berth.server.admission.Job;
import dev.berth.server.admission.RecentRequests;
import java.time.Instant;
import java.util.Map;

/**
 * One worker's session: identity, liveness and the stream it is attached to, if any. A session
 * lives while heartbeats arrive within the TTL, whether or not a stream is attached.
 *
 * <p>Not thread-safe: every field is guarded by the broker's lock.
 */
public final class Session {
  private final String id;
  private final String workerId;
  private final String principal;
  private final Map<String, String> labels;
  private final long openedAtNanos;
  private final RecentRequests recentRequests;
  private final String requestedJob;
  private Job job;

  private long lastSeenNanos;
  private long excusedNanos;
  private long ttlNanos;
  private SessionChannel channel;
  private boolean draining;
  private Instant drainDeadline;
  private long memoryUsedMb;
  private long memoryLimitMb;
  private long nextCommandId = 1;
  private long lastHeartbeatSeq = -1;

  /**
   * A new session.
   *
   * @param requestedJob the job its hello named (or its principal): resolved to a configured job
   *     now and again on every reload
   * @param job the job it runs as now
   */
  public Session(
      String id,
      String workerId,
      String principal,
      Map<String, String> labels,
      long memoryLimitMb,
      long nowNanos,
      int requestIdsRemembered,
      String requestedJob,
      Job job) {
    this.id = id;
    this.requestedJob = requestedJob;
    this.job = job;
    this.workerId = workerId;
    this.principal = principal;
    this.labels = Map.copyOf(labels);
    this.memoryLimitMb = memoryLimitMb;
    this.openedAtNanos = nowNanos;
    this.lastSeenNanos = nowNanos;
    this.recentRequests = new RecentRequests(requestIdsRemembered);
  }

  public String id() {
    return id;
  }

  public String workerId() {
    return workerId;
  }

  /** Who opened the session; only they may use it. */
  public String principal() {
    return principal;
  }

  /** The job its hello named, or its principal when it named none. */
  public String requestedJob() {
    return requestedJob;
  }

  /** The job it runs as: {@link #requestedJob} when configured, else {@code default}. */
  public Job job() {
    return job;
  }

  /** Moves it to the job a reload resolved its requested job to. */
  public void job(Job value) {
    this.job = value;
  }

  public Map<String, String> labels() {
    return labels;
  }

  public long openedAtNanos() {
    return openedAtNanos;
  }

  /** When the session last showed life (hello or heartbeat). */
  public long lastSeenNanos() {
    return lastSeenNanos;
  }

  public void touch(long nowNanos) {
    lastSeenNanos = nowNanos;
    excusedNanos = 0;
  }

  /**
   * Time since it was last seen that does not count against its TTL: the broker itself stood still
   * (a GC pause, SIGSTOP, a suspended machine), so the worker's heartbeats could not be read.
   * Cleared when it is next seen.
   */
  void excuse(long nanos) {
    excusedNanos += nanos;
  }

  /** When it ends unless it is seen again: last seen, plus its TTL, plus any time excused. */
  public long dueNanos() {
    return lastSeenNanos + excusedNanos + ttlNanos;
  }

  /**
   * The TTL its worker was last told (in its {@code opened} or its latest heartbeat ack): it ends
   * when not seen for that long. Set through {@link SessionRegistry}.
   */
  public long ttlNanos() {
    return ttlNanos;
  }

  void ttlNanos(long value) {
    ttlNanos = value;
  }

  /** The attached stream, or null while the worker is disconnected. */
  public SessionChannel channel() {
    return channel;
  }

  public void attach(SessionChannel channel) {
    this.channel = channel;
  }

  public boolean draining() {
    return draining;
  }

  /** Drains it: acquires are refused from now on, and its worker is asked to finish by then. */
  public void drain(Instant deadline) {
    draining = true;
    drainDeadline = deadline;
  }

  /** The deadline of its own drain, told again whenever its worker resumes; null when none. */
  public Instant drainDeadline() {
    return drainDeadline;
  }

  public long memoryUsedMb() {
    return memoryUsedMb;
  }

  public long memoryLimitMb() {
    return memoryLimitMb;
  }

  /** Records the worker's reported memory; a zero limit keeps the last known one. */
  public void reportMemory(long usedMb, long limitMb) {
    this.memoryUsedMb = usedMb;
    if (limitMb > 0) {
      this.memoryLimitMb = limitMb;
    }
  }

  /** A fresh id for a command pushed to this session. */
  public long nextCommandId() {
    return nextCommandId++;
  }

  public long lastHeartbeatSeq() {
    return lastHeartbeatSeq;
  }

  public void heartbeatSeq(long seq) {
    lastHeartbeatSeq = seq;
  }

  /** Recently used request ids and their answers, for idempotent Acquire. */
  public RecentRequests recentRequests() {
    return recentRequests;
  }
}
