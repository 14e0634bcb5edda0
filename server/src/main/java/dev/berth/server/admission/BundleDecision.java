package dev.berth.server.admission;

import static java.util.Objects.requireNonNull;

import dev.berth.server.lease.Lease;
import java.util.List;

/** The answer to one bundle: every lease, in the order of its items, or one refusal. */
public sealed interface BundleDecision permits BundleDecision.Granted, BundleDecision.Refused {

  /** Every item was granted, all at once; {@code leases} follows the items' order. */
  record Granted(List<Lease> leases) implements BundleDecision {
    public Granted {
      leases = List.copyOf(leases);
    }
  }

  /**
   * Nothing was granted: item {@code item} (an index into the bundle's items) could not be, and
   * {@code refusal} says why.
   */
  record Refused(int item, Decision.Refused refusal) implements BundleDecision {
    public Refused {
      requireNonNull(refusal, "refusal");
      if (item < 0) {
        throw new IllegalArgumentException("item < 0");
      }
    }
  }
}
