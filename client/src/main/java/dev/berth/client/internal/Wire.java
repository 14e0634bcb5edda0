package dev.berth.client.internal;

import com.google.protobuf.Timestamp;
import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BundleOptions;
import dev.berth.client.BundleResult;
import dev.berth.client.Outcome;
import dev.berth.client.RefusalReason;
import dev.berth.client.ResourceKind;
import dev.berth.client.RevokeReason;
import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.BundleRefusal;
import dev.berth.proto.v1.Refusal;
import java.time.Duration;
import java.time.Instant;

/** Converts between {@code berth.v1} messages and the SDK's public types. */
final class Wire {
  /** The broker accepts outcome durations of at most one day. */
  private static final long MAX_OUTCOME_NANOS = Duration.ofDays(1).toNanos();

  private Wire() {}

  static dev.berth.proto.v1.ResourceKind kind(ResourceKind kind) {
    return switch (kind) {
      case RENDER -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
      case PDF -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
      case WASM -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_WASM;
    };
  }

  /** The kind of a granted lease; {@code asked} when the broker sent one this SDK does not know. */
  static ResourceKind kind(dev.berth.proto.v1.ResourceKind kind, ResourceKind asked) {
    return switch (kind) {
      case RESOURCE_KIND_RENDER -> ResourceKind.RENDER;
      case RESOURCE_KIND_PDF -> ResourceKind.PDF;
      case RESOURCE_KIND_WASM -> ResourceKind.WASM;
      default -> asked;
    };
  }

  static RefusalReason reason(dev.berth.proto.v1.RefusalReason reason) {
    return switch (reason) {
      case REFUSAL_REASON_RATE_LIMITED -> RefusalReason.RATE_LIMITED;
      case REFUSAL_REASON_EXHAUSTED -> RefusalReason.EXHAUSTED;
      case REFUSAL_REASON_MEMORY_PRESSURE -> RefusalReason.MEMORY_PRESSURE;
      case REFUSAL_REASON_TIMEOUT -> RefusalReason.TIMEOUT;
      case REFUSAL_REASON_DRAINING -> RefusalReason.DRAINING;
      default -> RefusalReason.UNKNOWN;
    };
  }

  static RevokeReason revokeReason(dev.berth.proto.v1.RevokeReason reason) {
    return switch (reason) {
      case REVOKE_REASON_ADMIN -> RevokeReason.ADMIN;
      case REVOKE_REASON_MAX_HOLD -> RevokeReason.MAX_HOLD;
      case REVOKE_REASON_IDLE -> RevokeReason.IDLE;
      case REVOKE_REASON_MEMORY_PRESSURE -> RevokeReason.MEMORY_PRESSURE;
      case REVOKE_REASON_DRAIN -> RevokeReason.DRAIN;
      case REVOKE_REASON_SESSION_EXPIRED -> RevokeReason.SESSION_EXPIRED;
      default -> RevokeReason.UNKNOWN;
    };
  }

  /** A non-negative duration; a malformed or negative one reads as zero. */
  static Duration duration(com.google.protobuf.Duration d) {
    return ProtoTime.duration(d);
  }

  static com.google.protobuf.Duration duration(Duration d) {
    return ProtoTime.proto(d);
  }

  /** SHA-256 of {@code bytes}, lower-case hex, as the broker writes module digests. */
  static String sha256(byte[] bytes) {
    try {
      return java.util.HexFormat.of()
          .formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  static Instant instant(Timestamp t) {
    return ProtoTime.instant(t);
  }

  static AcquireRequest acquireRequest(String sessionId, AcquireOptions options, String requestId) {
    AcquireRequest.Builder request =
        AcquireRequest.newBuilder()
            .setSessionId(sessionId)
            .setKind(kind(options.kind()))
            .setUrl(options.url())
            .setModule(options.module())
            .setRequestId(requestId)
            .setPriority(options.priority())
            .setMemoryEstimateMb(options.memoryEstimateMb());
    if (!options.maxWait().isZero()) {
      request.setWait(duration(options.maxWait()));
    }
    return request.build();
  }

  /**
   * The wire bundle of {@code options}: each item as an acquire with only its own fields (kind,
   * url, module, memory estimate); the bundle's wait, priority and request id once.
   */
  static AcquireBundleRequest bundleRequest(
      String sessionId, BundleOptions options, String requestId) {
    AcquireBundleRequest.Builder request =
        AcquireBundleRequest.newBuilder()
            .setSessionId(sessionId)
            .setRequestId(requestId)
            .setPriority(options.priority());
    for (AcquireOptions item : options.items()) {
      request.addItems(
          AcquireRequest.newBuilder()
              .setKind(kind(item.kind()))
              .setUrl(item.url())
              .setModule(item.module())
              .setMemoryEstimateMb(item.memoryEstimateMb()));
    }
    if (!options.maxWait().isZero()) {
      request.setWait(duration(options.maxWait()));
    }
    return request.build();
  }

  /** A bundle's refusal, naming the item (and its kind, from {@code options}). */
  static BundleResult.Refused bundleRefused(BundleRefusal refused, BundleOptions options) {
    int item = refused.getItem();
    if (item < 0 || item >= options.items().size()) {
      throw new dev.berth.client.BrokerException(
          dev.berth.client.BrokerException.Condition.INTERNAL,
          "the broker refused item " + item + " of a bundle of " + options.items().size());
    }
    ResourceKind kind = options.items().get(item).kind();
    Refusal refusal = refused.getRefusal();
    return new BundleResult.Refused(
        item,
        kind,
        reason(refusal.getReason()),
        duration(refusal.getRetryAfter()),
        refusal.getDetail());
  }

  static AcquireResult.Refused refused(Refusal refusal) {
    return new AcquireResult.Refused(
        reason(refusal.getReason()), duration(refusal.getRetryAfter()), refusal.getDetail());
  }

  /** The wire outcome of {@code outcome} for a lease held {@code heldNanos}. */
  static dev.berth.proto.v1.Outcome outcome(Outcome outcome, long heldNanos) {
    long nanos = Math.max(0, Math.min(heldNanos, MAX_OUTCOME_NANOS));
    return dev.berth.proto.v1.Outcome.newBuilder()
        .setSuccess(outcome.success())
        .setDuration(duration(Duration.ofNanos(nanos)))
        .setHttpStatus(outcome.httpStatus())
        .setRetryAfter(duration(outcome.siteRetryAfter()))
        .setError(outcome.error())
        .build();
  }
}
