package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The broker's answer to a bundle: every lease in a {@link Granted}, or one {@link Refused} naming
 * the first item that could not be had and the rule that decided. Nothing of a refused bundle is
 * held. Refusals are ordinary answers, not exceptions.
 *
 * <pre>{@code
 * BundleResult result = session.acquireBundle(
 *     BundleOptions.of(AcquireOptions.render(url), AcquireOptions.pdf(), AcquireOptions.wasm()));
 * if (result instanceof BundleResult.Granted granted) {
 *   try (LeaseBundle leases = granted.leases()) {
 *     Lease render = leases.get(0);
 *     ...
 *   }
 * } else if (result instanceof BundleResult.Refused refused) {
 *   log("item " + refused.item() + " (" + refused.kind() + "): " + refused.detail());
 * }
 * }</pre>
 */
public sealed interface BundleResult permits BundleResult.Granted, BundleResult.Refused {

  /** True for a {@link Granted}. */
  boolean isGranted();

  /** The broker granted every item; close the bundle when done. */
  record Granted(LeaseBundle leases) implements BundleResult {
    public Granted {
      requireNonNull(leases, "leases");
    }

    @Override
    public boolean isGranted() {
      return true;
    }
  }

  /**
   * The broker said no to the whole bundle.
   *
   * @param item the index (in {@link BundleOptions#items()}) of the first item that could not be
   *     granted
   * @param kind that item's kind
   * @param reason why
   * @param retryAfter how long to wait before asking again
   * @param detail a sentence naming the rule that decided, e.g. {@code pool PDF 2/2 in use}
   */
  record Refused(
      int item, ResourceKind kind, RefusalReason reason, Duration retryAfter, String detail)
      implements BundleResult {
    public Refused {
      requireNonNull(kind, "kind");
      requireNonNull(reason, "reason");
      requireNonNull(retryAfter, "retryAfter");
      requireNonNull(detail, "detail");
    }

    @Override
    public boolean isGranted() {
      return false;
    }
  }
}
