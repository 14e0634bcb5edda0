package dev.berth.server.admission;

import static java.util.Objects.requireNonNull;

import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated bundle: several acquires for one session granted together or not at all, e.g. RENDER
 * + PDF + WASM for one page. It waits as one request, with one request id and one priority. Built
 * only by {@link #validate}; immutable.
 *
 * @param sessionId the session that will hold every lease
 * @param items 2..8 acquires, each validated as an {@link AcquireSpec}, with this bundle's session,
 *     wait and priority and no request id of their own
 * @param waitNanos how long the caller is willing to wait for all of it (0 = answer now)
 * @param requestId idempotency key of the whole bundle, or empty
 * @param priority 0..9, higher first
 */
public record BundleSpec(
    String sessionId, List<AcquireSpec> items, long waitNanos, String requestId, int priority)
    implements Request<BundleDecision> {

  public static final int MIN_ITEMS = 2;
  public static final int MAX_ITEMS = 8;

  /**
   * One item as the caller sent it, before validation.
   *
   * @param kind null when the caller left it unspecified
   * @param waitFor the item's own wait, null when absent (it must be absent or zero)
   */
  public record Item(
      String sessionId,
      ResourceKind kind,
      String url,
      String module,
      Duration waitFor,
      String requestId,
      long priority,
      long memoryEstimateMb) {}

  public BundleSpec {
    requireNonNull(sessionId, "sessionId");
    items = List.copyOf(items);
    requireNonNull(requestId, "requestId");
  }

  /**
   * Validates a bundle: its own fields as an acquire's, then each item exactly as an acquire
   * (errors name {@code items[i].field}), whose session_id, wait, request_id and priority must be
   * left empty; at most one item may be WASM (a session holds one instance).
   *
   * @param wait null when absent
   * @throws BrokerException INVALID_ARGUMENT naming the first field that breaks its rule
   */
  public static BundleSpec validate(
      String sessionId, List<Item> items, Duration wait, String requestId, long priority) {
    // The bundle's own fields follow the rules of an acquire's; validate them as one.
    AcquireSpec own =
        AcquireSpec.validate(sessionId, ResourceKind.PDF, "", "", wait, requestId, priority, 0);
    if (items.size() < MIN_ITEMS || items.size() > MAX_ITEMS) {
      throw BrokerException.invalid(
          "items", "a bundle has " + MIN_ITEMS + ".." + MAX_ITEMS + " items, got " + items.size());
    }
    List<AcquireSpec> specs = new ArrayList<>(items.size());
    int wasm = -1;
    for (int i = 0; i < items.size(); i++) {
      Item item = items.get(i);
      String field = "items[" + i + "].";
      String shared = "must be left empty: the bundle's own field applies to all of it";
      if (!item.sessionId().isEmpty()) {
        throw BrokerException.invalid(field + "session_id", shared);
      }
      if (item.waitFor() != null && !item.waitFor().isZero()) {
        throw BrokerException.invalid(field + "wait", shared);
      }
      if (!item.requestId().isEmpty()) {
        throw BrokerException.invalid(field + "request_id", shared);
      }
      if (item.priority() != 0) {
        throw BrokerException.invalid(field + "priority", shared);
      }
      AcquireSpec spec;
      try {
        spec =
            AcquireSpec.validate(
                own.sessionId(),
                item.kind(),
                item.url(),
                item.module(),
                null,
                "",
                own.priority(),
                item.memoryEstimateMb());
      } catch (BrokerException e) {
        throw new BrokerException(e.code(), field + e.getMessage());
      }
      if (spec.kind() == ResourceKind.WASM) {
        if (wasm >= 0) {
          throw BrokerException.invalid(
              field + "kind",
              "at most one WASM item (a session holds one instance), items["
                  + wasm
                  + "] is WASM already");
        }
        wasm = i;
      }
      specs.add(spec.withWaitNanos(own.waitNanos()));
    }
    return new BundleSpec(own.sessionId(), specs, own.waitNanos(), own.requestId(), own.priority());
  }

  /** This bundle with a shorter wait, e.g. cut to the caller's deadline. */
  public BundleSpec withWaitNanos(long nanos) {
    List<AcquireSpec> cut = new ArrayList<>(items.size());
    for (AcquireSpec item : items) {
      cut.add(item.withWaitNanos(nanos));
    }
    return new BundleSpec(sessionId, cut, nanos, requestId, priority);
  }

  @Override
  public int itemCount() {
    return items.size();
  }

  @Override
  public AcquireSpec item(int i) {
    return items.get(i);
  }

  /** The same items, in the same order. */
  @Override
  public boolean sameRequestAs(Request<?> other) {
    if (!(other instanceof BundleSpec b) || b.items.size() != items.size()) {
      return false;
    }
    for (int i = 0; i < items.size(); i++) {
      if (!items.get(i).sameRequestAs(b.items.get(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public String describe() {
    List<String> parts = new ArrayList<>(items.size());
    for (AcquireSpec item : items) {
      parts.add(item.describe());
    }
    return "bundle of " + String.join(", ", parts);
  }

  @Override
  public BundleDecision granted(Lease[] leases, int heldItem) {
    return new BundleDecision.Granted(List.of(leases), heldItem);
  }

  @Override
  public BundleDecision refused(int item, Decision.Refused refusal) {
    return new BundleDecision.Refused(item, refusal);
  }
}
