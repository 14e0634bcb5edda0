package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What to ask the broker for in one bundle: two to eight leases (e.g. RENDER + PDF + WASM for one
 * page) granted together or not at all, under one request id, one queue wait and one priority.
 * Immutable; built by {@link #newBuilder} (or {@link #of}), whose {@code build()} fails fast with
 * an {@link IllegalArgumentException} naming the field ({@code items[i].field} for an item) and the
 * rule it breaks — the same rules the broker enforces.
 */
public final class BundleOptions {
  /** The fewest items a bundle may have. */
  public static final int MIN_ITEMS = 2;

  /** The most items a bundle may have. */
  public static final int MAX_ITEMS = 8;

  private final List<AcquireOptions> items;
  private final Duration maxWait;
  private final int priority;
  private final String requestId;

  private BundleOptions(Builder b) {
    this.items = List.copyOf(b.items);
    this.maxWait = b.maxWait;
    this.priority = b.priority;
    this.requestId = b.requestId;
  }

  /** An empty bundle, to be filled in with {@link Builder#add}. */
  public static Builder newBuilder() {
    return new Builder();
  }

  /** A bundle of {@code items}, answered at once, with a fresh request id per attempt. */
  public static BundleOptions of(AcquireOptions... items) {
    Builder b = newBuilder();
    for (AcquireOptions item : items) {
      b.add(item);
    }
    return b.build();
  }

  /** A builder holding these options, for a changed copy. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.items.addAll(items);
    b.maxWait = maxWait;
    b.priority = priority;
    b.requestId = requestId;
    return b;
  }

  /**
   * The items, in order: kind, url, module and memory estimate of each lease. The leases of a grant
   * and the index of a refusal follow this order.
   */
  public List<AcquireOptions> items() {
    return items;
  }

  /** How long the broker may queue the whole bundle for capacity; zero answers at once. */
  public Duration maxWait() {
    return maxWait;
  }

  /** 0–9, higher first; FIFO within a priority. */
  public int priority() {
    return priority;
  }

  /**
   * The bundle's idempotency key, when the caller chose one; otherwise each attempt gets a fresh
   * random one.
   */
  public Optional<String> requestId() {
    return Optional.ofNullable(requestId);
  }

  @Override
  public String toString() {
    return "BundleOptions{"
        + items
        + (maxWait.isZero() ? "" : " maxWait=" + maxWait)
        + (priority == 0 ? "" : " priority=" + priority)
        + (requestId == null ? "" : " requestId=" + requestId)
        + "}";
  }

  /** Collects items and options; {@link #build()} validates them together. Not thread-safe. */
  public static final class Builder {
    private final List<AcquireOptions> items = new ArrayList<>();
    private Duration maxWait = Duration.ZERO;
    private int priority;
    private String requestId;

    private Builder() {}

    /**
     * Adds one lease to ask for. Its kind, url, module and memory estimate apply to that lease; its
     * {@code maxWait}, {@code priority} and {@code requestId} must be left unset, since the
     * bundle's own apply to all of it.
     */
    public Builder add(AcquireOptions item) {
      items.add(requireNonNull(item, "item"));
      return this;
    }

    /** How long the broker may queue the bundle (0..1 h); zero, the default, answers at once. */
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
     * An idempotency key for the whole bundle (printable ASCII, at most 128 characters): the same
     * key within a session returns the first answer again. When not set, every attempt gets a fresh
     * random key.
     */
    public Builder requestId(String value) {
      this.requestId = requireNonNull(value, "requestId");
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws IllegalArgumentException naming the first field that breaks its rule
     */
    public BundleOptions build() {
      if (items.size() < MIN_ITEMS || items.size() > MAX_ITEMS) {
        throw invalid(
            "items", "a bundle has " + MIN_ITEMS + ".." + MAX_ITEMS + ", got " + items.size());
      }
      int wasm = 0;
      for (int i = 0; i < items.size(); i++) {
        AcquireOptions item = items.get(i);
        if (!item.maxWait().isZero()) {
          throw invalid("items[" + i + "].maxWait", "must be unset: the bundle's maxWait applies");
        }
        if (item.priority() != 0) {
          throw invalid(
              "items[" + i + "].priority", "must be unset: the bundle's priority applies");
        }
        if (item.requestId().isPresent()) {
          throw invalid(
              "items[" + i + "].requestId", "must be unset: the bundle's requestId applies");
        }
        if (item.kind() == ResourceKind.WASM && ++wasm > 1) {
          throw invalid("items[" + i + "].kind", "at most one item of a bundle is WASM");
        }
      }
      AcquireOptions.checkQueueing(maxWait, priority, requestId);
      return new BundleOptions(this);
    }
  }

  private static IllegalArgumentException invalid(String field, String rule) {
    return new IllegalArgumentException(field + ": " + rule);
  }
}
