package dev.berth.server.session;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.HostName;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A validated {@code hello}: who the worker is, which crawl job it works for and, when
 * reconnecting, which session it resumes and which leases it believes it holds.
 *
 * @param job the job it names, or empty: then its principal's name is its job
 * @param heldLeasesComplete the worker says {@code heldLeases} is every lease it holds in the
 *     session it resumes: the broker ends the session's other leases, except those answering {@code
 *     awaitedRequestIds}
 * @param awaitedRequestIds the request ids of the session's acquires and bundles that the worker
 *     sent and has not seen answered; empty unless {@code heldLeasesComplete}
 */
public record HelloSpec(
    String workerId,
    Map<String, String> labels,
    long memoryLimitMb,
    String resumeSessionId,
    List<HeldLease> heldLeases,
    String job,
    boolean heldLeasesComplete,
    List<String> awaitedRequestIds) {

  public static final int MAX_LABELS = 32;
  public static final int MAX_LABEL_KEY = 63;
  public static final int MAX_LABEL_VALUE = 256;
  public static final int MAX_HELD_LEASES = 4096;
  public static final int MAX_AWAITED_REQUESTS = 4096;

  /**
   * A lease the worker declares it still holds.
   *
   * @param kind null when the worker did not say (it cannot be re-admitted after a restart then)
   * @param host as {@link HostName#of} gives it (validated hellos carry it normalised), or empty
   * @param memoryMb the wire's {@code uint32} as it came, so above 2^31 it reads negative (and is
   *     refused by {@link #validate})
   * @param heldForNanos how long the worker has held it, by its own clock; 0 when it did not say
   */
  public record HeldLease(
      String leaseId,
      long fencingToken,
      ResourceKind kind,
      String host,
      String module,
      int memoryMb,
      long heldForNanos) {

    /** A declaration that does not say how long the lease has been held. */
    public HeldLease(
        String leaseId,
        long fencingToken,
        ResourceKind kind,
        String host,
        String module,
        int memoryMb) {
      this(leaseId, fencingToken, kind, host, module, memoryMb, 0);
    }

    /** A declaration with only the id and token, enough to resume within one broker run. */
    public HeldLease(String leaseId, long fencingToken) {
      this(leaseId, fencingToken, null, "", "", 0);
    }
  }

  public HelloSpec {
    labels = Map.copyOf(labels);
    heldLeases = List.copyOf(heldLeases);
    java.util.Objects.requireNonNull(job, "job");
    awaitedRequestIds = List.copyOf(awaitedRequestIds);
  }

  /** A hello that does not say its declaration is complete. */
  public HelloSpec(
      String workerId,
      Map<String, String> labels,
      long memoryLimitMb,
      String resumeSessionId,
      List<HeldLease> heldLeases,
      String job) {
    this(workerId, labels, memoryLimitMb, resumeSessionId, heldLeases, job, false, List.of());
  }

  /** A hello that names no job. */
  public HelloSpec(
      String workerId,
      Map<String, String> labels,
      long memoryLimitMb,
      String resumeSessionId,
      List<HeldLease> heldLeases) {
    this(workerId, labels, memoryLimitMb, resumeSessionId, heldLeases, "");
  }

  /** Validates raw hello fields of a hello that names no job; see the full overload. */
  public static HelloSpec validate(
      String workerId,
      Map<String, String> labels,
      long memoryLimitMb,
      String resumeSessionId,
      List<HeldLease> heldLeases) {
    return validate(workerId, labels, memoryLimitMb, resumeSessionId, heldLeases, "");
  }

  /** Validates raw hello fields of a hello that does not say its declaration is complete. */
  public static HelloSpec validate(
      String workerId,
      Map<String, String> labels,
      long memoryLimitMb,
      String resumeSessionId,
      List<HeldLease> heldLeases,
      String job) {
    return validate(
        workerId, labels, memoryLimitMb, resumeSessionId, heldLeases, job, false, List.of());
  }

  /**
   * Validates raw hello fields; the held leases' hosts come back normalised ({@link
   * HostName#ofHost}).
   *
   * @param job empty, or a job name by the rule of {@link JobsConfig#nameProblem} (it need not be
   *     configured: a job that is not runs as {@code default})
   * @param awaitedRequestIds request ids by the rule of an acquire's, only with {@code
   *     heldLeasesComplete}
   * @throws BrokerException INVALID_ARGUMENT naming the first field that breaks its rule
   */
  public static HelloSpec validate(
      String workerId,
      Map<String, String> labels,
      long memoryLimitMb,
      String resumeSessionId,
      List<HeldLease> heldLeases,
      String job,
      boolean heldLeasesComplete,
      List<String> awaitedRequestIds) {
    if (!job.isEmpty()) {
      String problem = JobsConfig.nameProblem(job);
      if (problem != null) {
        throw BrokerException.invalid("hello.job", problem + ", got '" + clip(job) + "'");
      }
    }
    AcquireSpec.requireId("hello.worker_id", workerId, true);
    if (labels.size() > MAX_LABELS) {
      throw BrokerException.invalid("hello.labels", "at most " + MAX_LABELS + " labels");
    }
    for (Map.Entry<String, String> label : labels.entrySet()) {
      if (label.getKey().isEmpty() || label.getKey().length() > MAX_LABEL_KEY) {
        throw BrokerException.invalid(
            "hello.labels", "keys must be 1.." + MAX_LABEL_KEY + " characters");
      }
      if (label.getValue().length() > MAX_LABEL_VALUE) {
        throw BrokerException.invalid(
            "hello.labels['" + label.getKey() + "']",
            "longer than " + MAX_LABEL_VALUE + " characters");
      }
    }
    if (memoryLimitMb < 0 || memoryLimitMb > (1L << 30)) {
      throw BrokerException.invalid("hello.memory_limit_mb", "must be 0..2^30");
    }
    AcquireSpec.requireId("hello.resume_session_id", resumeSessionId, false);
    if (heldLeases.size() > MAX_HELD_LEASES) {
      throw BrokerException.invalid("hello.held_leases", "at most " + MAX_HELD_LEASES + " entries");
    }
    List<HeldLease> declared = new ArrayList<>(heldLeases.size());
    Set<String> ids = new HashSet<>();
    for (HeldLease held : heldLeases) {
      AcquireSpec.requireId("hello.held_leases.lease_id", held.leaseId(), true);
      if (!ids.add(held.leaseId())) {
        // A second entry would be judged after the first had taken the lease back, and reported
        // lost while the broker counts it.
        throw BrokerException.invalid(
            "hello.held_leases.lease_id",
            "each lease is declared once, but " + held.leaseId() + " is declared twice");
      }
      // Normalised as an acquire's host is, so that what the lease's release reports (a 429's
      // pause) reaches the bucket the host's acquires are charged to.
      String host = HostName.ofHost(held.host(), "hello.held_leases.host");
      if (!held.module().isEmpty()) {
        AcquireSpec.requireName("hello.held_leases.module", held.module());
      }
      if (held.memoryMb() < 0 || held.memoryMb() > AcquireSpec.MAX_MEMORY_ESTIMATE_MB) {
        // The bound of an acquire's memory_estimate_mb, which is what a held lease's memory was.
        throw BrokerException.invalid(
            "hello.held_leases.memory_mb",
            "must be 0.."
                + AcquireSpec.MAX_MEMORY_ESTIMATE_MB
                + ", got "
                + Integer.toUnsignedString(held.memoryMb()));
      }
      if (held.heldForNanos() < 0) {
        throw BrokerException.invalid(
            "hello.held_leases.held_for",
            "must not be negative, got " + held.heldForNanos() + "ns");
      }
      declared.add(
          host.equals(held.host())
              ? held
              : new HeldLease(
                  held.leaseId(),
                  held.fencingToken(),
                  held.kind(),
                  host,
                  held.module(),
                  held.memoryMb(),
                  held.heldForNanos()));
    }
    if (!awaitedRequestIds.isEmpty() && !heldLeasesComplete) {
      throw BrokerException.invalid(
          "hello.awaited_request_ids", "only with hello.held_leases_complete set");
    }
    if (awaitedRequestIds.size() > MAX_AWAITED_REQUESTS) {
      throw BrokerException.invalid(
          "hello.awaited_request_ids", "at most " + MAX_AWAITED_REQUESTS + " entries");
    }
    for (String requestId : awaitedRequestIds) {
      AcquireSpec.requireId("hello.awaited_request_ids", requestId, true);
    }
    return new HelloSpec(
        workerId,
        labels,
        memoryLimitMb,
        resumeSessionId,
        declared,
        job,
        heldLeasesComplete,
        awaitedRequestIds);
  }

  private static String clip(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
