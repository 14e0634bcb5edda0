package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a worker's session presents itself to the broker: the crawl job it works for, labels for
 * operators, its memory limit and how its memory use is measured. Immutable; built by {@link
 * #newBuilder()}, whose {@code build()} fails fast naming the value at fault.
 */
public final class SessionOptions {
  private static final int MAX_LABELS = 32;
  private static final int MAX_LABEL_KEY = 63;
  private static final int MAX_LABEL_VALUE = 256;
  private static final long MAX_MEMORY_LIMIT_MB = 1L << 30;
  private static final int MAX_JOB = 64;

  private final String job;
  private final Map<String, String> labels;
  private final long memoryLimitMb;
  private final MemoryProbe memoryProbe;

  private SessionOptions(Builder b) {
    this.job = b.job;
    this.labels = Map.copyOf(b.labels);
    this.memoryLimitMb = b.memoryLimitMb;
    this.memoryProbe = b.memoryProbe;
  }

  /** No job, no labels, no memory limit, and the {@link MemoryProbe#jvmAndChildren()} probe. */
  public static SessionOptions defaults() {
    return newBuilder().build();
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /**
   * The crawl job the session works for ({@code hello.job}); empty for none, when the broker takes
   * the principal's name, or {@code default}.
   */
  public String job() {
    return job;
  }

  public Map<String, String> labels() {
    return labels;
  }

  /** The most memory this worker may use, in MiB; 0 when unknown. */
  public long memoryLimitMb() {
    return memoryLimitMb;
  }

  public MemoryProbe memoryProbe() {
    return memoryProbe;
  }

  /** Collects options; {@link #build()} validates them. Not thread-safe. */
  public static final class Builder {
    private String job = "";
    private final Map<String, String> labels = new LinkedHashMap<>();
    private long memoryLimitMb;
    private MemoryProbe memoryProbe;

    private Builder() {}

    /**
     * The crawl job the session works for: the broker shares contended pools between jobs by the
     * weights, mins and maxes configured under {@code jobs.<name>}, and runs a session naming a job
     * it has not configured as {@code default}. 1..64 lower-case letters, digits, '_' and '-',
     * starting with a letter or digit; empty (the default) names none.
     */
    public Builder job(String value) {
      this.job = requireNonNull(value, "job");
      return this;
    }

    /** A label shown to operators, e.g. {@code zone=a}; at most 32. */
    public Builder label(String key, String value) {
      labels.put(requireNonNull(key, "key"), requireNonNull(value, "value"));
      return this;
    }

    /**
     * The most memory this worker may use, in MiB, for the broker's per-worker pressure rule; 0
     * (the default) when unknown.
     */
    public Builder memoryLimitMb(long value) {
      this.memoryLimitMb = value;
      return this;
    }

    /** How memory use is measured; {@link MemoryProbe#jvmAndChildren()} when not set. */
    public Builder memoryProbe(MemoryProbe value) {
      this.memoryProbe = requireNonNull(value, "memoryProbe");
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws IllegalArgumentException naming the first value that breaks its rule
     */
    public SessionOptions build() {
      if (!job.isEmpty() && !validJob(job)) {
        throw new IllegalArgumentException(
            "job: must be 1.."
                + MAX_JOB
                + " lower-case letters, digits, '_' and '-', starting with a letter or digit, got '"
                + job
                + "'");
      }
      if (labels.size() > MAX_LABELS) {
        throw new IllegalArgumentException(
            "labels: at most " + MAX_LABELS + ", got " + labels.size());
      }
      for (Map.Entry<String, String> label : labels.entrySet()) {
        if (label.getKey().isEmpty() || label.getKey().length() > MAX_LABEL_KEY) {
          throw new IllegalArgumentException(
              "labels: keys must be 1.."
                  + MAX_LABEL_KEY
                  + " characters, got '"
                  + label.getKey()
                  + "'");
        }
        if (label.getValue().length() > MAX_LABEL_VALUE) {
          throw new IllegalArgumentException(
              "labels['" + label.getKey() + "']: longer than " + MAX_LABEL_VALUE + " characters");
        }
      }
      if (memoryLimitMb < 0 || memoryLimitMb > MAX_MEMORY_LIMIT_MB) {
        throw new IllegalArgumentException("memoryLimitMb: must be 0..2^30, got " + memoryLimitMb);
      }
      if (memoryProbe == null) {
        memoryProbe = MemoryProbe.jvmAndChildren();
      }
      return new SessionOptions(this);
    }

    /** The broker's rule for a job name, so a bad one fails here rather than at every hello. */
    private static boolean validJob(String name) {
      if (name.length() > MAX_JOB) {
        return false;
      }
      for (int i = 0; i < name.length(); i++) {
        char c = name.charAt(i);
        boolean ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '_' || c == '-'));
        if (!ok) {
          return false;
        }
      }
      return true;
    }
  }
}
