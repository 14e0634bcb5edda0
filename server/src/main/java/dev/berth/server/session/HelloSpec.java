package dev.berth.server.session;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import java.util.List;
import java.util.Map;

/**
 * A validated {@code hello}: who the worker is, which crawl job it works for and, when
 * reconnecting, which session it resumes and which leases it believes it holds.
 *
 * @param job the job it names, or empty: then its principal's name is its job
 */
public record HelloSpec(
    String workerId,
    Map<String, String> labels,
    long memoryLimitMb,
    String resumeSessionId,
    List<HeldLease> heldLeases,
    String job) {

  public static final int MAX_LABELS = 32;
  public static final int MAX_LABEL_KEY = 63;
  public static final int MAX_LABEL_VALUE = 256;
  public static final int MAX_HELD_LEASES = 4096;

  /**
   * A lease the worker declares it still holds.
   *
   * @param kind null when the worker did not say (it cannot be re-admitted after a restart then)
   */
  public record HeldLease(
      String leaseId,
      long fencingToken,
      ResourceKind kind,
      String host,
      String module,
      int memoryMb) {

    /** A declaration with only the id and token, enough to resume within one broker run. */
    public HeldLease(String leaseId, long fencingToken) {
      this(leaseId, fencingToken, null, "", "", 0);
    }
  }

  public HelloSpec {
    labels = Map.copyOf(labels);
    heldLeases = List.copyOf(heldLeases);
    java.util.Objects.requireNonNull(job, "job");
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

  /**
   * Validates raw hello fields.
   *
   * @param job empty, or a job name by the rule of {@link JobsConfig#nameProblem} (it need not be
   *     configured: a job that is not runs as {@code default})
   * @throws BrokerException INVALID_ARGUMENT naming the first field that breaks its rule
   */
  public static HelloSpec validate(
      String workerId,
      Map<String, String> labels,
      long memoryLimitMb,
      String resumeSessionId,
      List<HeldLease> heldLeases,
      String job) {
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
    for (HeldLease held : heldLeases) {
      AcquireSpec.requireId("hello.held_leases.lease_id", held.leaseId(), true);
      if (held.host().length() > 253) {
        throw BrokerException.invalid("hello.held_leases.host", "longer than 253 characters");
      }
      if (!held.module().isEmpty()) {
        AcquireSpec.requireName("hello.held_leases.module", held.module());
      }
      if (held.memoryMb() < 0 || held.memoryMb() > AcquireSpec.MAX_MEMORY_ESTIMATE_MB) {
        // The bound of an acquire's memory_estimate_mb, which is what a held lease's memory was.
        throw BrokerException.invalid(
            "hello.held_leases.memory_mb",
            "must be 0.." + AcquireSpec.MAX_MEMORY_ESTIMATE_MB + ", got " + held.memoryMb());
      }
    }
    return new HelloSpec(workerId, labels, memoryLimitMb, resumeSessionId, heldLeases, job);
  }

  private static String clip(String s) {
    return s.length() <= 80 ? s : s.substring(0, 77) + "...";
  }
}
