package dev.berth.server.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.Timestamp;
import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.BundleGrant;
import dev.berth.proto.v1.BundleRefusal;
import dev.berth.proto.v1.BundleResult;
import dev.berth.proto.v1.CallError;
import dev.berth.proto.v1.Cleanup;
import dev.berth.proto.v1.ClusterMemberInfo;
import dev.berth.proto.v1.ClusterNode;
import dev.berth.proto.v1.ClusterRole;
import dev.berth.proto.v1.Drain;
import dev.berth.proto.v1.ExplainStep;
import dev.berth.proto.v1.Explanation;
import dev.berth.proto.v1.GetModuleResponse;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.HeartbeatAck;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.HostRate;
import dev.berth.proto.v1.JobKindLimit;
import dev.berth.proto.v1.JobKindStatus;
import dev.berth.proto.v1.JobLimits;
import dev.berth.proto.v1.JobStatus;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.PoolLimit;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.PressureStatus;
import dev.berth.proto.v1.Refusal;
import dev.berth.proto.v1.RefusalCount;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.ReleaseResult;
import dev.berth.proto.v1.Revoke;
import dev.berth.proto.v1.RevokeLeaseResponse;
import dev.berth.proto.v1.SessionCounts;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.Totals;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.proto.v1.WaitingItem;
import dev.berth.proto.v1.WaitingRequest;
import dev.berth.proto.v1.WasmInstanceStats;
import dev.berth.server.Versions;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Admission;
import dev.berth.server.admission.BundleDecision;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.Views;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.ratelimit.HostStatus;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.ratelimit.RateText;
import dev.berth.server.replication.WireKinds;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import dev.berth.server.time.TimeSource;
import dev.berth.server.wasm.InstanceStats;
import dev.berth.server.wasm.WasmModule;
import io.grpc.Status;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Every conversion between the wire ({@code berth.v1}) and the domain on the server, in one place:
 * enums and scalars, requests into validated domain values (errors name the field), and domain
 * results, views and events into messages. The services only route calls; they build no message and
 * read no field of their own.
 *
 * <p>Immutable and thread-safe.
 */
final class Protos {
  /** The most WASM instance reports one heartbeat may carry (a session holds one instance). */
  static final int MAX_WASM_STATS = 64;

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

  // ------------------------------------------------------------ enums

  /** The domain kind, or null for UNSPECIFIED and values this broker does not know. */
  static ResourceKind kind(dev.berth.proto.v1.ResourceKind kind) {
    return WireKinds.fromWire(kind);
  }

  static dev.berth.proto.v1.ResourceKind kind(ResourceKind kind) {
    return WireKinds.toWire(kind);
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
   * The domain kind.
   *
   * @throws BrokerException INVALID_ARGUMENT naming {@code field} for UNSPECIFIED or unknown kinds
   */
  static ResourceKind requireKind(dev.berth.proto.v1.ResourceKind kind, String field) {
    ResourceKind known = kind(kind);
    if (known == null) {
      throw BrokerException.invalid(field, "must be RENDER, PDF or WASM");
    }
    return known;
  }

  // ------------------------------------------------------------ scalars

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

  // ------------------------------------------------------------ requests -> domain

  /** Validates an acquire request; Acquire and the admin Explain share it. */
  static AcquireSpec acquireSpec(AcquireRequest request) {
    return acquireSpec(request, request.getSessionId());
  }

  /** Validates an acquire for {@code sessionId}, which replaces the request's own session id. */
  static AcquireSpec acquireSpec(AcquireRequest request, String sessionId) {
    Duration wait = request.hasWait() ? duration(request.getWait(), "wait") : null;
    return AcquireSpec.validate(
        sessionId,
        kind(request.getKind()),
        request.getUrl(),
        request.getModule(),
        wait,
        request.getRequestId(),
        Integer.toUnsignedLong(request.getPriority()),
        Integer.toUnsignedLong(request.getMemoryEstimateMb()));
  }

  /**
   * Validates a bundle request; AcquireBundle and the admin ExplainBundle share it. Errors name
   * {@code items[i].field} for an item's field.
   */
  static BundleSpec bundleSpec(AcquireBundleRequest request) {
    return bundleSpec(request, request.getSessionId());
  }

  /** Validates a bundle for {@code sessionId}, which replaces the request's own session id. */
  static BundleSpec bundleSpec(AcquireBundleRequest request, String sessionId) {
    Duration wait = request.hasWait() ? duration(request.getWait(), "wait") : null;
    List<BundleSpec.Item> items = new ArrayList<>(request.getItemsCount());
    for (int i = 0; i < request.getItemsCount(); i++) {
      AcquireRequest item = request.getItems(i);
      items.add(
          new BundleSpec.Item(
              item.getSessionId(),
              kind(item.getKind()),
              item.getUrl(),
              item.getModule(),
              item.hasWait() ? duration(item.getWait(), "items[" + i + "].wait") : null,
              item.getRequestId(),
              Integer.toUnsignedLong(item.getPriority()),
              Integer.toUnsignedLong(item.getMemoryEstimateMb())));
    }
    return BundleSpec.validate(
        sessionId,
        items,
        wait,
        request.getRequestId(),
        Integer.toUnsignedLong(request.getPriority()));
  }

  /**
   * A declared lease's {@code held_for} in nanoseconds: 0 when unset, -1 (refused by {@link
   * HelloSpec#validate}) when negative or not a valid duration; a longer one than nanoseconds hold
   * is as long as they do, which is past every max hold.
   */
  private static long heldForNanos(dev.berth.proto.v1.HeldLease h) {
    if (!h.hasHeldFor()) {
      return 0;
    }
    com.google.protobuf.Duration d = h.getHeldFor();
    if (d.getSeconds() < 0 || d.getNanos() < 0 || d.getNanos() > 999_999_999) {
      return -1;
    }
    return d.getSeconds() >= Long.MAX_VALUE / 1_000_000_000L
        ? Long.MAX_VALUE
        : d.getSeconds() * 1_000_000_000L + d.getNanos();
  }

  /** Validates a hello: who the worker is and, when resuming, the leases it still holds. */
  static HelloSpec helloSpec(Hello hello) {
    List<HelloSpec.HeldLease> held = new ArrayList<>(hello.getHeldLeasesCount());
    for (dev.berth.proto.v1.HeldLease h : hello.getHeldLeasesList()) {
      held.add(
          new HelloSpec.HeldLease(
              h.getLeaseId(),
              h.getFencingToken(),
              kind(h.getKind()),
              h.getHost(),
              h.getModule(),
              h.getMemoryMb(),
              heldForNanos(h)));
    }
    return HelloSpec.validate(
        hello.getWorkerId(),
        hello.getLabelsMap(),
        hello.getMemoryLimitMb(),
        hello.getResumeSessionId(),
        held,
        hello.getJob(),
        hello.getHeldLeasesComplete(),
        hello.getAwaitedRequestIdsList());
  }

  /**
   * The WASM instance reports of a heartbeat.
   *
   * @throws BrokerException INVALID_ARGUMENT for too many reports or a malformed lease id
   */
  static List<InstanceStats> wasmStats(Heartbeat heartbeat) {
    if (heartbeat.getWasmStatsCount() == 0) {
      return List.of();
    }
    if (heartbeat.getWasmStatsCount() > MAX_WASM_STATS) {
      throw BrokerException.invalid(
          "heartbeat.wasm_stats", "at most " + MAX_WASM_STATS + " entries");
    }
    List<InstanceStats> stats = new ArrayList<>(heartbeat.getWasmStatsCount());
    for (WasmInstanceStats s : heartbeat.getWasmStatsList()) {
      AcquireSpec.requireId("heartbeat.wasm_stats.lease_id", s.getLeaseId(), true);
      stats.add(new InstanceStats(s.getLeaseId(), s.getCalls(), s.getFailures()));
    }
    return stats;
  }

  /**
   * {@code current} with an {@code UpdateLimits} request applied, fully validated: nothing of it
   * applies unless all of it is valid.
   *
   * @throws BrokerException INVALID_ARGUMENT naming the configuration key a value would have set
   */
  static Policy limits(Policy current, UpdateLimitsRequest request) {
    try {
      // Each part is built on its own and the policy once, at the end: the jobs' mins are checked
      // against the pools as the whole request leaves both, so a request that lowers a pool and
      // the mins that would no longer fit it in one go is not refused for the mins it replaces.
      BrokerConfig broker = current.broker();
      RateLimitConfig rateLimit = current.rateLimit();
      JobsConfig jobs = current.jobs();
      MemoryConfig memory = current.memory();
      if (request.getPoolsCount() > 0) {
        BrokerConfig.Builder pools = current.broker().toBuilder();
        Set<ResourceKind> kinds = EnumSet.noneOf(ResourceKind.class);
        for (PoolLimit pool : request.getPoolsList()) {
          ResourceKind kind = requireKind(pool.getKind(), "pools.kind");
          requireOnce(kinds.add(kind), "pools.kind", kind.name());
          long limit = Integer.toUnsignedLong(pool.getLimit()); // uint32 on the wire
          if (limit > BrokerConfig.MAX_POOL_LIMIT) {
            throw BrokerException.invalid(
                BrokerConfig.Keys.limit(kind),
                "must be 0.." + BrokerConfig.MAX_POOL_LIMIT + ", got " + limit);
          }
          pools.limit(kind, (int) limit);
        }
        broker = pools.build();
        if (request.getJobsCount() == 0) {
          // Only the pools change: a limit below the mins in force is the limit's fault.
          jobs.checkAgainst(broker::limit, BrokerConfig.Keys::limit, true);
        }
      }
      if (request.getHostRatesCount() > 0) {
        RateLimitConfig.Builder rates = current.rateLimit().toBuilder();
        Set<String> patterns = new HashSet<>();
        for (HostRate rate : request.getHostRatesList()) {
          String pattern = rate.getPattern();
          requireOnce(patterns.add(pattern), "host_rates.pattern", "'" + pattern + "'");
          if (pattern.equals("*")) {
            rates.defaultRate(rate.getRatePerSecond());
            if (rate.getBurst() != 0) {
              rates.defaultBurst(Integer.toUnsignedLong(rate.getBurst()));
            }
          } else if (rate.getBurst() != 0) {
            rates.host(pattern, rate.getRatePerSecond(), Integer.toUnsignedLong(rate.getBurst()));
          } else {
            rates.host(pattern, rate.getRatePerSecond());
          }
        }
        rateLimit = rates.build();
      }
      int defaultBurst = rateLimit.defaultRule().burst();
      if (request.getJobsCount() > 0) {
        jobs = jobs(current.jobs(), request.getJobsList(), defaultBurst);
      } else if (defaultBurst != current.rateLimit().defaultRule().burst()) {
        // The jobs' host rules that give no burst take the default burst, as on a reload.
        jobs = JobsConfig.Builder.from(jobs).defaultBurst(defaultBurst).build();
      }
      if (request.hasPressure()) {
        memory =
            current
                .memory()
                .withPressure(request.getPressure().getOn(), request.getPressure().getOff());
      }
      return new Policy(broker, rateLimit, memory, current.performance(), current.caps(), jobs);
    } catch (ConfigException e) {
      throw BrokerException.invalid(e.key(), e.rule());
    }
  }

  /** {@code current} with the jobs of an {@code UpdateLimits} request applied. */
  private static JobsConfig jobs(JobsConfig current, List<JobLimits> changes, int defaultBurst) {
    JobsConfig.Builder jobs = JobsConfig.Builder.from(current).defaultBurst(defaultBurst);
    // The jobs as the request has left them so far: a job it adds may be removed by a later entry.
    Set<String> known = new LinkedHashSet<>(current.jobs().keySet());
    for (JobLimits job : changes) {
      String name = job.getName();
      String problem = JobsConfig.nameProblem(name);
      if (problem != null) {
        throw BrokerException.invalid("jobs.name", "job name " + problem);
      }
      if (job.getRemove()) {
        if (job.getWeight() != 0 || job.getKindsCount() > 0 || job.getHostRatesCount() > 0) {
          throw BrokerException.invalid(
              "jobs.remove", "job '" + name + "': a removal takes no weight, kinds or host rates");
        }
        if (!known.remove(name)) {
          // A typo would otherwise answer OK, change nothing, and say in the event it removed it.
          throw BrokerException.notFound(
              "jobs.name: no job '"
                  + name
                  + "' to remove (jobs: "
                  + String.join(", ", known)
                  + ")");
        }
        jobs.remove(name);
        continue;
      }
      known.add(name);
      jobs.job(name);
      if (job.getWeight() != 0) {
        jobs.weight(name, Integer.toUnsignedLong(job.getWeight()));
      }
      Set<ResourceKind> kinds = EnumSet.noneOf(ResourceKind.class);
      for (JobKindLimit limit : job.getKindsList()) {
        ResourceKind kind = requireKind(limit.getKind(), "jobs.kinds.kind");
        requireOnce(kinds.add(kind), "jobs.kinds.kind", "job '" + name + "': " + kind.name());
        jobs.min(name, kind, Integer.toUnsignedLong(limit.getMin()));
        jobs.max(name, kind, Integer.toUnsignedLong(limit.getMax()));
      }
      if (job.getHostRatesCount() > 0) {
        jobs.clearHosts(name);
        Set<String> patterns = new HashSet<>();
        for (HostRate rate : job.getHostRatesList()) {
          requireOnce(
              patterns.add(rate.getPattern()),
              "jobs.host_rates.pattern",
              "job '" + name + "': '" + rate.getPattern() + "'");
          jobs.host(
              name,
              rate.getPattern(),
              rate.getRatePerSecond(),
              rate.getBurst() != 0 ? Integer.toUnsignedLong(rate.getBurst()) : null);
        }
      }
    }
    return jobs.build();
  }

  /**
   * Refuses a request that names the same thing twice where one setting would silently win over the
   * other; {@code added} is whether {@code what} was new to the request.
   */
  private static void requireOnce(boolean added, String field, String what) {
    if (!added) {
      throw BrokerException.invalid(field, what + " is named twice in one request; name each once");
    }
  }

  /** An {@code UpdateLimits} request in words, for the event stream and the log. */
  static String describe(UpdateLimitsRequest request) {
    List<String> parts = new ArrayList<>();
    for (PoolLimit pool : request.getPoolsList()) {
      parts.add(kind(pool.getKind()) + " limit " + Integer.toUnsignedString(pool.getLimit()));
    }
    for (HostRate rate : request.getHostRatesList()) {
      parts.add(
          "host "
              + rate.getPattern()
              + " "
              + RateText.rate(rate.getRatePerSecond())
              + (rate.getBurst() != 0
                  ? " burst " + Integer.toUnsignedString(rate.getBurst())
                  : ""));
    }
    for (JobLimits job : request.getJobsList()) {
      if (job.getRemove()) {
        parts.add("job " + job.getName() + " removed");
        continue;
      }
      StringBuilder b = new StringBuilder("job ").append(job.getName());
      if (job.getWeight() != 0) {
        b.append(" weight ").append(Integer.toUnsignedLong(job.getWeight()));
      }
      for (JobKindLimit limit : job.getKindsList()) {
        b.append(' ')
            .append(kind(limit.getKind()))
            .append(" min ")
            .append(Integer.toUnsignedLong(limit.getMin()))
            .append(" max ")
            .append(Integer.toUnsignedLong(limit.getMax()));
      }
      for (HostRate rate : job.getHostRatesList()) {
        b.append(" host ")
            .append(rate.getPattern())
            .append(' ')
            .append(RateText.rate(rate.getRatePerSecond()));
      }
      parts.add(b.toString());
    }
    if (request.hasPressure()) {
      parts.add(
          "pressure on "
              + request.getPressure().getOn()
              + " off "
              + request.getPressure().getOff());
    }
    return parts.isEmpty() ? "no change" : String.join(", ", parts);
  }

  // ------------------------------------------------------------ domain -> responses

  /**
   * A lease as the wire shows it. Both instants come from one conversion to wall-clock time, so
   * {@code expires_at - granted_at} is exactly the lease's max hold (two conversions read the
   * clocks twice each and could differ by the time between the reads).
   */
  Lease lease(dev.berth.server.lease.Lease lease) {
    Instant grantedAt = time.toWall(lease.grantedAtNanos());
    return Lease.newBuilder()
        .setLeaseId(lease.id())
        .setKind(kind(lease.kind()))
        .setFencingToken(lease.fencingToken())
        .setSessionId(lease.sessionId())
        .setHost(lease.host())
        .setModule(lease.module())
        .setModuleDigest(lease.moduleDigest())
        .setMemoryMb(lease.memoryMb())
        .setGrantedAt(timestamp(grantedAt))
        .setExpiresAt(
            timestamp(grantedAt.plusNanos(lease.expiresAtNanos() - lease.grantedAtNanos())))
        .build();
  }

  static Refusal refusal(Decision.Refused refused) {
    return Refusal.newBuilder()
        .setReason(reason(refused.reason()))
        .setRetryAfter(duration(refused.retryAfterNanos()))
        .setDetail(refused.detail())
        .setRule(refused.rule())
        .build();
  }

  AcquireResponse acquireResponse(Decision decision) {
    AcquireResponse.Builder response = AcquireResponse.newBuilder();
    if (decision instanceof Decision.Granted granted) {
      response.setGranted(lease(granted.lease()));
    } else {
      response.setRefused(refusal((Decision.Refused) decision));
    }
    return response.build();
  }

  AcquireBundleResponse bundleResponse(BundleDecision decision) {
    AcquireBundleResponse.Builder response = AcquireBundleResponse.newBuilder();
    if (decision instanceof BundleDecision.Granted granted) {
      BundleGrant.Builder grant = BundleGrant.newBuilder();
      for (dev.berth.server.lease.Lease lease : granted.leases()) {
        grant.addLeases(lease(lease));
      }
      response.setGranted(grant);
    } else {
      BundleDecision.Refused refused = (BundleDecision.Refused) decision;
      response.setRefused(
          BundleRefusal.newBuilder()
              .setItem(refused.item())
              .setRefusal(refusal(refused.refusal())));
    }
    return response.build();
  }

  static ReleaseResponse releaseResponse(Broker.EndResult result) {
    return ReleaseResponse.newBuilder()
        .setReleased(result.changed())
        .setEndedBy(end(result.end()))
        .setRevokeReason(revokeReason(result.revokeReason()))
        .build();
  }

  static RevokeLeaseResponse revokeResponse(Broker.EndResult result) {
    return RevokeLeaseResponse.newBuilder()
        .setRevoked(result.changed())
        .setEndedBy(end(result.end()))
        .build();
  }

  static GetModuleResponse module(WasmModule module) {
    return GetModuleResponse.newBuilder()
        .setName(module.name())
        .setDigest(module.digest())
        .setWasm(ByteString.copyFrom(module.bytes()))
        .addAllExports(module.exports())
        .build();
  }

  /** The broker's status, with each pool's acquire latencies from {@code timings}. */
  BrokerStatus status(Views.Status s, AcquireTimings timings) {
    BrokerStatus.Builder b =
        BrokerStatus.newBuilder()
            .setVersion(Versions.current())
            .setBrokerEpoch(s.epoch())
            .setStartedAt(timestamp(s.startedAtNanos()))
            .setUptime(duration(s.nowNanos() - s.startedAtNanos()))
            .setSessions(
                SessionCounts.newBuilder()
                    .setLive(s.connectedSessions())
                    .setDisconnected(s.disconnectedSessions()))
            .setPressure(
                PressureStatus.newBuilder()
                    .setLevel(pressure(s.pressure().level()))
                    .setFleetUsedMb(s.pressure().fleetUsedMb())
                    .setFleetLimitMb(s.pressure().fleetLimitMb())
                    .setTrigger(s.pressure().trigger()))
            .setDegradationScore(s.degradationScore())
            .setDraining(s.draining());
    for (HostStatus host : s.hotHosts()) {
      b.addHotHosts(
          dev.berth.proto.v1.HostStatus.newBuilder()
              .setHost(host.host())
              .setRatePerSecond(host.ratePerSecond())
              .setTokens(host.tokens())
              .setRefusals(host.refusals())
              .setReason(host.reason()));
    }
    for (Views.Pool pool : s.pools()) {
      AcquireTimings.Latency latency = timings.latency(pool.kind());
      b.addPools(
          PoolStatus.newBuilder()
              .setKind(kind(pool.kind()))
              .setLimit(pool.limit())
              .setEffectiveLimit(pool.effectiveLimit())
              .setInUse(pool.inUse())
              .setQueued(pool.queued())
              .setEffectiveReason(pool.reason())
              .setAcquireLatencyP50(duration(latency.p50Nanos()))
              .setAcquireLatencyP99(duration(latency.p99Nanos()))
              .setQueueWaitP99(duration(latency.queueWaitP99Nanos())));
    }
    Totals.Builder totals = Totals.newBuilder().setGrants(s.counters().grants());
    for (RefusalReason reason : RefusalReason.values()) {
      totals.addRefusals(
          RefusalCount.newBuilder()
              .setReason(reason(reason))
              .setCount(s.counters().refusals(reason)));
    }
    for (Views.Job job : s.jobs()) {
      JobStatus.Builder j =
          JobStatus.newBuilder()
              .setName(job.name())
              .setWeight(job.weight())
              .setWaiting(job.waiting())
              .setRefusals(job.refusals());
      for (Views.JobKind k : job.kinds()) {
        j.addKinds(
            JobKindStatus.newBuilder()
                .setKind(kind(k.kind()))
                .setHeld(k.held())
                .setWaiting(k.waiting())
                .setMin(k.min())
                .setGuaranteedMin(k.guaranteedMin())
                .setMax(k.max())
                .setShare(k.share())
                .setFairShare(k.fairShare())
                .setGrants(k.grants()));
      }
      b.addJobs(j);
    }
    return b.setTotals(totals).build();
  }

  SessionInfo session(Views.Session s) {
    SessionInfo.Builder b =
        SessionInfo.newBuilder()
            .setSessionId(s.id())
            .setWorkerId(s.workerId())
            .putAllLabels(s.labels())
            .setConnected(s.connected())
            .setDraining(s.draining())
            .setOpenedAt(timestamp(s.openedAtNanos()))
            .setMemoryUsedMb(s.memoryUsedMb())
            .setMemoryLimitMb(s.memoryLimitMb())
            .setLeases(s.leases())
            .setJob(s.job());
    if (s.lastSeenNanos() != Views.Session.UNKNOWN) {
      b.setLastHeartbeatAt(timestamp(s.lastSeenNanos()));
    }
    return b.build();
  }

  /** A waiting acquire or bundle for {@code ListWaiting}. */
  static WaitingRequest waiting(Views.Waiting waiting) {
    WaitingRequest.Builder b =
        WaitingRequest.newBuilder()
            .setSessionId(waiting.sessionId())
            .setWorkerId(waiting.workerId())
            .setJob(waiting.job())
            .setRequestId(waiting.requestId())
            .setPriority(waiting.priority())
            .setWaited(duration(waiting.waitedNanos()))
            .setWaitLeft(duration(waiting.leftNanos()))
            .setHeldItem(waiting.heldItem());
    for (AcquireSpec item : waiting.items()) {
      b.addItems(
          WaitingItem.newBuilder()
              .setKind(kind(item.kind()))
              .setHost(item.host())
              .setModule(item.module()));
    }
    if (waiting.heldBy() != null) {
      b.setHeldBy(refusal(waiting.heldBy()));
    }
    return b.build();
  }

  LeaseInfo leaseInfo(Views.LeaseInfo info) {
    return LeaseInfo.newBuilder()
        .setLease(lease(info.lease()))
        .setWorkerId(info.workerId())
        .build();
  }

  /** What a bundle would be answered, every item rule by rule, and which item and rule decides. */
  static Explanation bundleExplanation(Views.Explained explained) {
    Explanation explanation = explanation(explained);
    Admission.Verdict verdict = explained.verdict();
    if (verdict.refusal() == null) {
      return explanation;
    }
    return explanation.toBuilder()
        .setDecidedBy("items[" + verdict.item() + "] " + explanation.getDecidedBy())
        .build();
  }

  /** What an acquire would be answered, rule by rule, and which rule decides. */
  static Explanation explanation(Views.Explained explained) {
    Explanation.Builder b = Explanation.newBuilder();
    for (Admission.Step step : explained.steps()) {
      b.addSteps(
          ExplainStep.newBuilder()
              .setRule(step.rule())
              .setPassed(step.passed())
              .setDetail(step.detail()));
    }
    Admission.Verdict verdict = explained.verdict();
    if (verdict.refusal() == null) {
      Admission.Step last = explained.steps().get(explained.steps().size() - 1);
      b.setWouldGrant(true).setDecidedBy(last.rule() + ": " + last.detail());
    } else {
      b.setWouldGrant(false)
          .setRefusal(refusal(verdict.refusal()))
          .setDecidedBy(verdict.refusal().detail());
    }
    return b.build();
  }

  // ------------------------------------------------------------ session events

  static SessionEvent opened(Broker.Opened opened, int streamCallsInFlight) {
    return SessionEvent.newBuilder()
        .setOpened(
            Opened.newBuilder()
                .setSessionId(opened.sessionId())
                .setBrokerEpoch(opened.epoch())
                .setHeartbeatInterval(duration(opened.heartbeatIntervalNanos()))
                .setSessionTtl(duration(opened.ttlNanos()))
                .setResumed(opened.resumed())
                .addAllLostLeases(opened.lostLeases())
                .setStreamCallsInFlight(streamCallsInFlight)
                .setStreamCallCancel(true))
        .build();
  }

  /** The answer to a stream acquire. */
  static SessionEvent acquireResult(long callId, AcquireResponse response) {
    return SessionEvent.newBuilder()
        .setAcquireResult(AcquireResult.newBuilder().setCallId(callId).setResponse(response))
        .build();
  }

  /** The answer to a stream bundle. */
  static SessionEvent bundleResult(long callId, AcquireBundleResponse response) {
    return SessionEvent.newBuilder()
        .setBundleResult(BundleResult.newBuilder().setCallId(callId).setResponse(response))
        .build();
  }

  /** The answer to a stream release. */
  static SessionEvent releaseResult(long callId, ReleaseResponse response) {
    return SessionEvent.newBuilder()
        .setReleaseResult(ReleaseResult.newBuilder().setCallId(callId).setResponse(response))
        .build();
  }

  /**
   * The failure of one call on a session stream ({@code call} is ACQUIRE, RELEASE or
   * ACQUIRE_BUNDLE), as the unary call would have failed with {@code status}.
   */
  static SessionEvent callFailed(SessionRequest.MsgCase call, long callId, Status status) {
    CallError error = callError(status);
    SessionEvent.Builder event = SessionEvent.newBuilder();
    switch (call) {
      case ACQUIRE ->
          event.setAcquireResult(AcquireResult.newBuilder().setCallId(callId).setError(error));
      case RELEASE ->
          event.setReleaseResult(ReleaseResult.newBuilder().setCallId(callId).setError(error));
      case ACQUIRE_BUNDLE ->
          event.setBundleResult(BundleResult.newBuilder().setCallId(callId).setError(error));
      default -> throw new IllegalArgumentException("not a call on the stream: " + call);
    }
    return event.build();
  }

  /** A gRPC status as the error of one call on a session stream: its code number and message. */
  static CallError callError(Status status) {
    return CallError.newBuilder()
        .setCode(status.getCode().value())
        .setMessage(status.getDescription() == null ? "" : status.getDescription())
        .build();
  }

  /** The ack of a heartbeat the broker did not see (sent too soon after the last): no timing. */
  static SessionEvent heartbeatAck(long seq, PressureLevel level) {
    return SessionEvent.newBuilder()
        .setHeartbeatAck(HeartbeatAck.newBuilder().setSeq(seq).setPressure(pressure(level)))
        .build();
  }

  /** The ack of a heartbeat the broker recorded, with the session's timing from it on. */
  static SessionEvent heartbeatAck(long seq, Broker.Beat beat) {
    return SessionEvent.newBuilder()
        .setHeartbeatAck(
            HeartbeatAck.newBuilder()
                .setSeq(seq)
                .setPressure(pressure(beat.pressure()))
                .setSessionTtl(duration(beat.ttlNanos()))
                .setHeartbeatInterval(duration(beat.heartbeatIntervalNanos())))
        .build();
  }

  static SessionEvent revoke(long commandId, String leaseId, RevokeReason reason, long graceNanos) {
    return SessionEvent.newBuilder()
        .setRevoke(
            Revoke.newBuilder()
                .setCommandId(commandId)
                .setLeaseId(leaseId)
                .setReason(revokeReason(reason))
                .setGrace(duration(graceNanos)))
        .build();
  }

  static SessionEvent cleanup(long commandId, long targetFreeMb, String reason) {
    return SessionEvent.newBuilder()
        .setCleanup(
            Cleanup.newBuilder()
                .setCommandId(commandId)
                .setTargetFreeMb(targetFreeMb)
                .setReason(reason))
        .build();
  }

  static SessionEvent drain(long commandId, Instant deadline) {
    return SessionEvent.newBuilder()
        .setDrain(Drain.newBuilder().setCommandId(commandId).setDeadline(timestamp(deadline)))
        .build();
  }

  // ------------------------------------------------------------ broker events (WatchEvents)

  BrokerEvent.Builder granted(dev.berth.server.lease.Lease lease, String workerId) {
    return leaseEvent(BrokerEventType.BROKER_EVENT_TYPE_GRANTED, lease, workerId);
  }

  /** A lease kept for a resuming worker after a restart or a change of leader. */
  BrokerEvent.Builder readmitted(dev.berth.server.lease.Lease lease, String workerId) {
    return leaseEvent(BrokerEventType.BROKER_EVENT_TYPE_READMITTED, lease, workerId);
  }

  private BrokerEvent.Builder leaseEvent(
      BrokerEventType type, dev.berth.server.lease.Lease lease, String workerId) {
    return BrokerEvent.newBuilder()
        .setType(type)
        .setSessionId(lease.sessionId())
        .setWorkerId(workerId)
        .setLease(lease(lease));
  }

  static BrokerEvent.Builder refused(AcquireSpec spec, Decision.Refused refusal) {
    return BrokerEvent.newBuilder()
        .setType(BrokerEventType.BROKER_EVENT_TYPE_REFUSED)
        .setSessionId(spec.sessionId())
        .setRefusal(refusal(refusal))
        .setDetail(spec.kind() + (spec.host().isEmpty() ? "" : " " + spec.host()));
  }

  BrokerEvent.Builder ended(
      dev.berth.server.lease.Lease lease,
      LeaseEnd how,
      RevokeReason revokeReason,
      Outcome outcome) {
    BrokerEventType type =
        switch (how) {
          case RELEASED, SESSION_CLOSED -> BrokerEventType.BROKER_EVENT_TYPE_RELEASED;
          case SESSION_EXPIRED, MAX_HOLD -> BrokerEventType.BROKER_EVENT_TYPE_EXPIRED;
          case REVOKED -> BrokerEventType.BROKER_EVENT_TYPE_REVOKED;
        };
    return BrokerEvent.newBuilder()
        .setType(type)
        .setSessionId(lease.sessionId())
        .setLease(lease(lease))
        .setEndedBy(end(how))
        .setRevokeReason(revokeReason(revokeReason))
        .setDetail(outcome.error());
  }

  static BrokerEvent.Builder sessionOpened(String sessionId, String workerId, boolean resumed) {
    return BrokerEvent.newBuilder()
        .setType(
            resumed
                ? BrokerEventType.BROKER_EVENT_TYPE_SESSION_RESUMED
                : BrokerEventType.BROKER_EVENT_TYPE_SESSION_OPENED)
        .setSessionId(sessionId)
        .setWorkerId(workerId);
  }

  static BrokerEvent.Builder sessionEnded(String sessionId, String workerId, boolean expired) {
    return BrokerEvent.newBuilder()
        .setType(
            expired
                ? BrokerEventType.BROKER_EVENT_TYPE_SESSION_EXPIRED
                : BrokerEventType.BROKER_EVENT_TYPE_SESSION_CLOSED)
        .setSessionId(sessionId)
        .setWorkerId(workerId);
  }

  /**
   * Pressure turned on or off at {@code to}, fleet-wide or (with a session) for one worker.
   *
   * @param trigger the trigger in words, naming its source: "fleet 3500/4000 MB ...", "broker heap
   *     ..." or the worker's
   */
  static BrokerEvent.Builder pressure(PressureLevel to, String trigger) {
    return BrokerEvent.newBuilder()
        .setType(
            to == PressureLevel.NONE
                ? BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_OFF
                : BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_ON)
        .setPressure(pressure(to))
        .setDetail(trigger);
  }

  /** This broker started or stopped leading its cluster; {@code detail} says which. */
  static BrokerEvent.Builder leaderChanged(String detail) {
    return BrokerEvent.newBuilder()
        .setType(BrokerEventType.BROKER_EVENT_TYPE_LEADER_CHANGED)
        .setDetail("this broker " + detail);
  }

  static BrokerEvent.Builder limitChanged(LimitChange change) {
    return limitsUpdated(change.describe(change.kind().name()));
  }

  /** Limits changed, by an operator or by degradation; {@code detail} says which and how. */
  static BrokerEvent.Builder limitsUpdated(String detail) {
    return BrokerEvent.newBuilder()
        .setType(BrokerEventType.BROKER_EVENT_TYPE_LIMITS_UPDATED)
        .setDetail(detail);
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
    atMostADay("outcome.duration", duration);
    // A site's Retry-After is its own to choose: a long one is capped (the host's pause is capped
    // at rate_limit.max_pause, at most a day, anyway), not a reason to fail the release and keep
    // the slot held.
    if (retryAfter.compareTo(ONE_DAY) > 0) {
      retryAfter = ONE_DAY;
    }
    return new Outcome(
        outcome.getSuccess(), duration.toNanos(), status, retryAfter.toNanos(), outcome.getError());
  }

  private static final Duration ONE_DAY = Duration.ofDays(1);

  private static void atMostADay(String field, Duration value) {
    if (value.compareTo(ONE_DAY) > 0) {
      throw BrokerException.invalid(
          field, "must be at most one day, got " + Durations.format(value));
    }
  }

  /** A cluster member's view of its cluster, as admin reads report it. */
  static ClusterNode clusterNode(ClusterStatus c) {
    ClusterNode.Builder b =
        ClusterNode.newBuilder()
            .setNodeId(c.self())
            .setRole(
                switch (c.role()) {
                  case LEADER -> ClusterRole.CLUSTER_ROLE_LEADER;
                  case FOLLOWER -> ClusterRole.CLUSTER_ROLE_FOLLOWER;
                  case CANDIDATE -> ClusterRole.CLUSTER_ROLE_CANDIDATE;
                  case STOPPED -> ClusterRole.CLUSTER_ROLE_STOPPED;
                })
            .setTerm(c.term())
            .setLeaderId(c.leaderId())
            .setLeaderApi(c.leaderApi())
            .setEpoch(c.epoch())
            .setReady(c.ready())
            .setCommitIndex(Math.max(0, c.commitIndex()))
            .setAppliedIndex(Math.max(0, c.appliedIndex()))
            .setApplyLag(c.applyLag())
            .setUncommittedEntries(c.uncommittedEntries());
    for (ClusterStatus.Member m : c.members()) {
      ClusterMemberInfo.Builder member =
          ClusterMemberInfo.newBuilder()
              .setId(m.id())
              .setApi(m.api())
              .setCommitIndex(m.commitIndex())
              .setLag(m.lag());
      m.unansweredFor().ifPresent(d -> member.setUnansweredFor(duration(d)));
      b.addMembers(member);
    }
    return b.build();
  }
}
