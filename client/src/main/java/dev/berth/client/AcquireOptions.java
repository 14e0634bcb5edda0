package dev.berth.client;

import static java.util.Objects.requireNonNull;

import dev.berth.common.Identifiers;
import java.time.Duration;
import java.util.Optional;

/**
 * What to ask the broker for in one acquire. Immutable; built by {@link #newBuilder} (or the
 * shortcuts {@link #render}, {@link #pdf()} and {@link #wasm()}), whose {@code build()} fails fast
 * with an {@link IllegalArgumentException} naming the field and the rule it breaks — the same rules
 * the broker enforces.
 */
public final class AcquireOptions {
  /** The longest an acquire may wait in the broker's queue. */
  public static final Duration MAX_WAIT = Duration.ofHours(1);

  private static final int MAX_URL_LENGTH = 8192;
  private static final int MAX_PRIORITY = 9;
  private static final int MAX_MEMORY_ESTIMATE_MB = 1 << 20;

  private final ResourceKind kind;
  private final String url;
  private final String module;
  private final Duration maxWait;
  private final int priority;
  private final String requestId;
  private final int memoryEstimateMb;

  private AcquireOptions(Builder b) {
    this.kind = b.kind;
    this.url = b.url;
    this.module = b.module;
    this.maxWait = b.maxWait;
    this.priority = b.priority;
    this.requestId = b.requestId;
    this.memoryEstimateMb = b.memoryEstimateMb;
  }

  /** Options for one lease of {@code kind}, to be filled in. */
  public static Builder newBuilder(ResourceKind kind) {
    return new Builder(requireNonNull(kind, "kind"));
  }

  /** A RENDER slot for {@code url} (whose host is rate-limited), answered at once. */
  public static AcquireOptions render(String url) {
    return newBuilder(ResourceKind.RENDER).url(url).build();
  }

  /** A PDF slot, answered at once. */
  public static AcquireOptions pdf() {
    return newBuilder(ResourceKind.PDF).build();
  }

  /** This session's WASM instance of the broker's default module, answered at once. */
  public static AcquireOptions wasm() {
    return newBuilder(ResourceKind.WASM).build();
  }

  /** A builder holding these options, for a changed copy. */
  public Builder toBuilder() {
    Builder b = new Builder(kind);
    b.url = url;
    b.module = module;
    b.maxWait = maxWait;
    b.priority = priority;
    b.requestId = requestId;
    b.memoryEstimateMb = memoryEstimateMb;
    return b;
  }

  public ResourceKind kind() {
    return kind;
  }

  /** The URL to work on; empty when none. */
  public String url() {
    return url;
  }

  /** The WASM module name; empty for the broker's default. */
  public String module() {
    return module;
  }

  /** How long the broker may queue this acquire for capacity; zero answers at once. */
  public Duration maxWait() {
    return maxWait;
  }

  /** 0–9, higher first; FIFO within a priority. */
  public int priority() {
    return priority;
  }

  /**
   * The idempotency key, when the caller chose one; otherwise each attempt gets a fresh random one.
   */
  public Optional<String> requestId() {
    return Optional.ofNullable(requestId);
  }

  /** Memory to charge for the lease, in MiB; 0 takes the kind's default. */
  public int memoryEstimateMb() {
    return memoryEstimateMb;
  }

  @Override
  public String toString() {
    return "AcquireOptions{"
        + kind
        + (url.isEmpty() ? "" : " " + url)
        + (module.isEmpty() ? "" : " module=" + module)
        + (maxWait.isZero() ? "" : " maxWait=" + maxWait)
        + (priority == 0 ? "" : " priority=" + priority)
        + (requestId == null ? "" : " requestId=" + requestId)
        + "}";
  }

  /** Collects options; {@link #build()} validates them together. Not thread-safe. */
  public static final class Builder {
    private final ResourceKind kind;
    private String url = "";
    private String module = "";
    private Duration maxWait = Duration.ZERO;
    private int priority;
    private String requestId;
    private int memoryEstimateMb;

    private Builder(ResourceKind kind) {
      this.kind = kind;
    }

    /** Required for RENDER, optional for PDF, not allowed for WASM. */
    public Builder url(String value) {
      this.url = requireNonNull(value, "url");
      return this;
    }

    /** WASM only: the module to instantiate; the broker's default when not set. */
    public Builder module(String value) {
      this.module = requireNonNull(value, "module");
      return this;
    }

    /**
     * How long the broker may queue this acquire when capacity is short (0..1 h); the call's
     * deadline is extended to match. Zero, the default, answers at once.
     */
    public Builder maxWait(Duration value) {
      this.maxWait = requireNonNull(value, "maxWait");
      return this;
    }

    /** 0–9, higher is served first; default 0. */
    public Builder priority(int value) {
      this.priority = value;
      return this;
    }

    /**
     * An idempotency key (printable ASCII, at most 128 characters): the same key within a session
     * returns the first answer again, so an acquire that failed in transit can be retried without
     * being granted twice. A grant is answered again only while its lease is live: once the lease
     * is closed, revoked or expired, the key asks afresh. When not set, every attempt gets a fresh
     * random key.
     */
    public Builder requestId(String value) {
      this.requestId = requireNonNull(value, "requestId");
      return this;
    }

    /** Memory to charge for the lease, in MiB; 0 (the default) takes the kind's default. */
    public Builder memoryEstimateMb(int value) {
      this.memoryEstimateMb = value;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws IllegalArgumentException naming the first field that breaks its rule
     */
    public AcquireOptions build() {
      if (url.length() > MAX_URL_LENGTH) {
        throw invalid("url", "longer than " + MAX_URL_LENGTH + " characters");
      }
      if (kind == ResourceKind.RENDER && url.isEmpty()) {
        throw invalid("url", "required for RENDER (its host is rate-limited)");
      }
      if (kind == ResourceKind.WASM && !url.isEmpty()) {
        throw invalid("url", "must be empty for WASM");
      }
      if (!module.isEmpty() && kind != ResourceKind.WASM) {
        throw invalid("module", "only WASM acquires name a module");
      }
      checkQueueing(maxWait, priority, requestId);
      if (memoryEstimateMb < 0 || memoryEstimateMb > MAX_MEMORY_ESTIMATE_MB) {
        throw invalid(
            "memoryEstimateMb",
            "must be 0.." + MAX_MEMORY_ESTIMATE_MB + ", got " + memoryEstimateMb);
      }
      return new AcquireOptions(this);
    }
  }

  /**
   * The rules of how a request waits, shared with {@link BundleOptions}: maxWait 0..1 h, priority
   * 0..9, and a well-formed request id when one is set.
   */
  static void checkQueueing(Duration maxWait, int priority, String requestId) {
    if (maxWait.isNegative() || maxWait.compareTo(MAX_WAIT) > 0) {
      throw invalid("maxWait", "must be 0.." + MAX_WAIT + ", got " + maxWait);
    }
    if (priority < 0 || priority > MAX_PRIORITY) {
      throw invalid("priority", "must be 0.." + MAX_PRIORITY + ", got " + priority);
    }
    if (requestId != null) {
      Identifiers.check("requestId", requestId);
    }
  }

  private static IllegalArgumentException invalid(String field, String rule) {
    return new IllegalArgumentException(field + ": " + rule);
  }
}
