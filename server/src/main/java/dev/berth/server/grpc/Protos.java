package dev.berth.server.grpc;

import com.google.protobuf.Timestamp;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.Refusal;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.time.TimeSource;
import java.time.Duration;
import java.time.Instant;

/**
 * Converts between the wire ({@code berth.v1}) and the domain. Validation errors name the field.
 */
final class Protos {
  /** Protobuf's own bound for Duration.seconds (about 10,000 years). */
  private static final long MAX_DURATION_SECONDS = 315_576_000_000L;

  private final TimeSource time;

  Protos(TimeSource time) {
    this.time = time;
  }

  /** The broker's clock, for adapters that need to read it. */
  TimeSource time() {
    return time;
  }

  /** The domain kind, or null for UNSPECIFIED and values this broker does not know. */
  static ResourceKind kind(dev.berth.proto.v1.ResourceKind kind) {
    return switch (kind) {
      case RESOURCE_KIND_RENDER -> ResourceKind.RENDER;
      case RESOURCE_KIND_PDF -> ResourceKind.PDF;
      case RESOURCE_KIND_WASM -> ResourceKind.WASM;
      default -> null;
    };
  }

  static dev.berth.proto.v1.ResourceKind kind(ResourceKind kind) {
    return switch (kind) {
      case RENDER -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
      case PDF -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
      case WASM -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_WASM;
    };
  }

  static dev.berth.proto.v1.RefusalReason reason(RefusalReason reason) {
    return switch (reason) {
      case RATE_LIMITED -> dev.berth.proto.v1.RefusalReason.REFUSAL_REASON_RATE_LIMITED;
      case EXHAUSTED -> dev.berth.proto.v1.RefusalReason.REFUSAL_REASON_EXHAUSTED;
      case MEMORY_PRESSURE -> dev.berth.proto.v1.RefusalReason.REFUSAL_REASON_MEMORY_PRESSURE;
      case TIMEOUT -> dev.berth.proto.v1.RefusalReason.REFUSAL_REASON_TIMEOUT;
      case DRAINING -> dev.berth.proto.v1.RefusalReason.REFUSAL_REASON_DRAINING;
    };
  }

  static dev.berth.proto.v1.PressureLevel pressure(PressureLevel level) {
    return switch (level) {
      case NONE -> dev.berth.proto.v1.PressureLevel.PRESSURE_LEVEL_NONE;
      case ELEVATED -> dev.berth.proto.v1.PressureLevel.PRESSURE_LEVEL_ELEVATED;
      case CRITICAL -> dev.berth.proto.v1.PressureLevel.PRESSURE_LEVEL_CRITICAL;
    };
  }

  static dev.berth.proto.v1.LeaseEnd end(LeaseEnd end) {
    return switch (end) {
      case RELEASED -> dev.berth.proto.v1.LeaseEnd.LEASE_END_RELEASED;
      case SESSION_EXPIRED -> dev.berth.proto.v1.LeaseEnd.LEASE_END_SESSION_EXPIRED;
      case SESSION_CLOSED -> dev.berth.proto.v1.LeaseEnd.LEASE_END_SESSION_CLOSED;
      case MAX_HOLD -> dev.berth.proto.v1.LeaseEnd.LEASE_END_MAX_HOLD;
      case REVOKED -> dev.berth.proto.v1.LeaseEnd.LEASE_END_REVOKED;
    };
  }

  static dev.berth.proto.v1.RevokeReason revokeReason(RevokeReason reason) {
    if (reason == null) {
      return dev.berth.proto.v1.RevokeReason.REVOKE_REASON_UNSPECIFIED;
    }
    return switch (reason) {
      case ADMIN -> dev.berth.proto.v1.RevokeReason.REVOKE_REASON_ADMIN;
      case MAX_HOLD -> dev.berth.proto.v1.RevokeReason.REVOKE_REASON_MAX_HOLD;
      case IDLE -> dev.berth.proto.v1.RevokeReason.REVOKE_REASON_IDLE;
      case MEMORY_PRESSURE -> dev.berth.proto.v1.RevokeReason.REVOKE_REASON_MEMORY_PRESSURE;
      case DRAIN -> dev.berth.proto.v1.RevokeReason.REVOKE_REASON_DRAIN;
      case SESSION_EXPIRED -> dev.berth.proto.v1.RevokeReason.REVOKE_REASON_SESSION_EXPIRED;
    };
  }

  /** The domain reason, or null for UNSPECIFIED and unknown values. */
  static RevokeReason revokeReason(dev.berth.proto.v1.RevokeReason reason) {
    return switch (reason) {
      case REVOKE_REASON_ADMIN -> RevokeReason.ADMIN;
      case REVOKE_REASON_MAX_HOLD -> RevokeReason.MAX_HOLD;
      case REVOKE_REASON_IDLE -> RevokeReason.IDLE;
      case REVOKE_REASON_MEMORY_PRESSURE -> RevokeReason.MEMORY_PRESSURE;
      case REVOKE_REASON_DRAIN -> RevokeReason.DRAIN;
      case REVOKE_REASON_SESSION_EXPIRED -> RevokeReason.SESSION_EXPIRED;
      default -> null;
    };
  }

  /**
   * A well-formed, non-negative duration.
   *
   * @throws BrokerException INVALID_ARGUMENT naming {@code field}
   */
  static Duration duration(com.google.protobuf.Duration d, String field) {
    long seconds = d.getSeconds();
    int nanos = d.getNanos();
    if (Math.abs(seconds) > MAX_DURATION_SECONDS || Math.abs(nanos) >= 1_000_000_000) {
      throw BrokerException.invalid(field, "not a valid google.protobuf.Duration");
    }
    if ((seconds < 0 && nanos > 0) || (seconds > 0 && nanos < 0)) {
      throw BrokerException.invalid(field, "seconds and nanos must have the same sign");
    }
    if (seconds < 0 || nanos < 0) {
      throw BrokerException.invalid(field, "must not be negative");
    }
    return Duration.ofSeconds(seconds, nanos);
  }

  static com.google.protobuf.Duration duration(long nanos) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(nanos / 1_000_000_000L)
        .setNanos((int) (nanos % 1_000_000_000L))
        .build();
  }

  static com.google.protobuf.Duration duration(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }

  static Timestamp timestamp(Instant instant) {
    return Timestamp.newBuilder()
        .setSeconds(instant.getEpochSecond())
        .setNanos(instant.getNano())
        .build();
  }

  /** A monotonic instant of the broker's clock, as wall-clock time. */
  Timestamp timestamp(long monotonicNanos) {
    return timestamp(time.toWall(monotonicNanos));
  }

  Lease lease(dev.berth.server.lease.Lease lease) {
    return Lease.newBuilder()
        .setLeaseId(lease.id())
        .setKind(kind(lease.kind()))
        .setFencingToken(lease.fencingToken())
        .setSessionId(lease.sessionId())
        .setHost(lease.host())
        .setModule(lease.module())
        .setModuleDigest(lease.moduleDigest())
        .setMemoryMb(lease.memoryMb())
        .setGrantedAt(timestamp(lease.grantedAtNanos()))
        .setExpiresAt(timestamp(lease.expiresAtNanos()))
        .build();
  }

  static Refusal refusal(Decision.Refused refused) {
    return Refusal.newBuilder()
        .setReason(reason(refused.reason()))
        .setRetryAfter(duration(refused.retryAfterNanos()))
        .setDetail(refused.detail())
        .build();
  }

  /**
   * The domain outcome of a release.
   *
   * @throws BrokerException INVALID_ARGUMENT naming the outcome field at fault
   */
  static Outcome outcome(dev.berth.proto.v1.Outcome outcome) {
    Duration duration = duration(outcome.getDuration(), "outcome.duration");
    Duration retryAfter = duration(outcome.getRetryAfter(), "outcome.retry_after");
    int status = outcome.getHttpStatus();
    if (status != 0 && (status < 100 || status > 599)) {
      throw BrokerException.invalid("outcome.http_status", "must be 0 or 100..599, got " + status);
    }
    if (outcome.getError().length() > 1024) {
      throw BrokerException.invalid("outcome.error", "longer than 1024 characters");
    }
    if (duration.compareTo(Duration.ofDays(1)) > 0
        || retryAfter.compareTo(Duration.ofDays(1)) > 0) {
      throw BrokerException.invalid("outcome", "durations must be at most one day");
    }
    return new Outcome(
        outcome.getSuccess(), duration.toNanos(), status, retryAfter.toNanos(), outcome.getError());
  }
}
