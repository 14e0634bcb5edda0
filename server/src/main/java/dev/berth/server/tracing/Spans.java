package dev.berth.server.tracing;

import io.opentelemetry.api.common.AttributeKey;

/**
 * The names and attributes of the daemon's spans, written once for the code that makes them, the
 * tests that read them and docs/operations.md. Attributes of Berth's own are under {@code berth.};
 * the RPC ones follow OpenTelemetry's conventions ({@code rpc.*}).
 */
public final class Spans {
  private Spans() {}

  /** An acquire, from its request to its answer: a wait in the queue is part of it. */
  public static final String ACQUIRE = "Acquire";

  public static final String RELEASE = "Release";

  /** A bundle, from its request to its answer (every lease or one refusal), its wait included. */
  public static final String ACQUIRE_BUNDLE = "AcquireBundle";

  /** The hello of a new session until the broker's answer. */
  public static final String SESSION_OPEN = "SessionOpen";

  /** The hello of a session resumed after a dropped stream, until the broker's answer. */
  public static final String SESSION_RESUME = "SessionResume";

  public static final String REVOKE_LEASE = "RevokeLease";
  public static final String DRAIN_SESSION = "DrainSession";
  public static final String DRAIN_BROKER = "DrainBroker";
  public static final String UPDATE_LIMITS = "UpdateLimits";

  public static final AttributeKey<String> RPC_SYSTEM = AttributeKey.stringKey("rpc.system");
  public static final AttributeKey<String> RPC_SERVICE = AttributeKey.stringKey("rpc.service");
  public static final AttributeKey<String> RPC_METHOD = AttributeKey.stringKey("rpc.method");
  public static final AttributeKey<Long> RPC_GRPC_STATUS_CODE =
      AttributeKey.longKey("rpc.grpc.status_code");

  /** The authenticated caller ({@code anonymous} without tokens). */
  public static final AttributeKey<String> PRINCIPAL = AttributeKey.stringKey("berth.principal");

  public static final AttributeKey<String> SESSION_ID = AttributeKey.stringKey("berth.session_id");
  public static final AttributeKey<String> WORKER_ID = AttributeKey.stringKey("berth.worker_id");

  /** The job of the session: its hello's {@code job}, else its {@code job} label. */
  public static final AttributeKey<String> JOB = AttributeKey.stringKey("berth.job");

  /** RENDER, PDF or WASM. */
  public static final AttributeKey<String> KIND = AttributeKey.stringKey("berth.kind");

  /** The rate-limit key: the URL's host, lower-cased. */
  public static final AttributeKey<String> HOST = AttributeKey.stringKey("berth.host");

  public static final AttributeKey<String> MODULE = AttributeKey.stringKey("berth.module");
  public static final AttributeKey<Long> PRIORITY = AttributeKey.longKey("berth.priority");

  /** How long the acquire asked to wait at most, in milliseconds. */
  public static final AttributeKey<Long> MAX_WAIT_MS = AttributeKey.longKey("berth.max_wait_ms");

  /** How long the acquire waited for its answer, in milliseconds. */
  public static final AttributeKey<Long> WAIT_MS = AttributeKey.longKey("berth.wait_ms");

  /** {@code granted} or {@code refused}. */
  public static final AttributeKey<String> DECISION = AttributeKey.stringKey("berth.decision");

  /** RATE_LIMITED, EXHAUSTED, MEMORY_PRESSURE, TIMEOUT or DRAINING. */
  public static final AttributeKey<String> REFUSAL_REASON =
      AttributeKey.stringKey("berth.refusal.reason");

  /**
   * The rule that refused, machine-readable: a setting's key (e.g. {@code pools.render.limit}) or a
   * check; set when the refusal names one.
   */
  public static final AttributeKey<String> REFUSAL_RULE =
      AttributeKey.stringKey("berth.refusal.rule");

  /** The refusal in words, naming the rule and the figures, e.g. {@code pool PDF: 2/2 in use}. */
  public static final AttributeKey<String> REFUSAL_DETAIL =
      AttributeKey.stringKey("berth.refusal.detail");

  public static final AttributeKey<Long> RETRY_AFTER_MS =
      AttributeKey.longKey("berth.retry_after_ms");

  /** AcquireBundle: how many items the bundle asked for. */
  public static final AttributeKey<Long> BUNDLE_ITEMS = AttributeKey.longKey("berth.bundle.items");

  /** AcquireBundle refused: the index of the item the refusal names. */
  public static final AttributeKey<Long> BUNDLE_REFUSED_ITEM =
      AttributeKey.longKey("berth.bundle.refused_item");

  public static final AttributeKey<String> LEASE_ID = AttributeKey.stringKey("berth.lease_id");
  public static final AttributeKey<Long> FENCING_TOKEN =
      AttributeKey.longKey("berth.fencing_token");

  /** A release's reported outcome: {@code success}, {@code failure} or {@code unknown}. */
  public static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("berth.outcome");

  public static final AttributeKey<Long> OUTCOME_HTTP_STATUS =
      AttributeKey.longKey("berth.outcome.http_status");

  /** Whether this call ended the lease (false: it had already ended, see {@link #ENDED_BY}). */
  public static final AttributeKey<Boolean> RELEASED = AttributeKey.booleanKey("berth.released");

  public static final AttributeKey<String> ENDED_BY = AttributeKey.stringKey("berth.ended_by");

  /** Leases a resuming worker declared, and those the broker no longer had. */
  public static final AttributeKey<Long> HELD_LEASES = AttributeKey.longKey("berth.held_leases");

  public static final AttributeKey<Long> LOST_LEASES = AttributeKey.longKey("berth.lost_leases");
  public static final AttributeKey<Boolean> RESUMED = AttributeKey.booleanKey("berth.resumed");

  public static final AttributeKey<String> REVOKE_REASON =
      AttributeKey.stringKey("berth.revoke.reason");
  public static final AttributeKey<Boolean> REVOKED = AttributeKey.booleanKey("berth.revoked");
  public static final AttributeKey<Long> LEASES_HELD = AttributeKey.longKey("berth.leases_held");
  public static final AttributeKey<Long> SESSIONS = AttributeKey.longKey("berth.sessions");

  /** DrainBroker: true when it lifted a drain rather than started one. */
  public static final AttributeKey<Boolean> DRAIN_RESUME =
      AttributeKey.booleanKey("berth.drain.resume");

  /** UpdateLimits: the change in words, e.g. {@code RENDER limit 4, host *.example.com 1.0/s}. */
  public static final AttributeKey<String> LIMITS_CHANGE =
      AttributeKey.stringKey("berth.limits.change");
}
