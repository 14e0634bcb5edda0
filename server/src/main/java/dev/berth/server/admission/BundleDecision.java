package dev.berth.server.admission;

import static java.util.Objects.requireNonNull;

import dev.berth.server.lease.Lease;
import java.util.ArrayList;
import java.util.List;

/** The answer to one bundle: every lease, in the order of its items, or one refusal. */
public sealed interface BundleDecision permits BundleDecision.Granted, BundleDecision.Refused {

  /**
   * Every item was granted, all at once; {@code leases} follows the items' order.
   *
   * @param heldItem the item answered with a lease the session held before this bundle (its WASM
   *     instance), or -1 for none
   */
  record Granted(List<Lease> leases, int heldItem) implements BundleDecision {
    public Granted {
      leases = List.copyOf(leases);
      if (heldItem < -1 || heldItem >= leases.size()) {
        throw new IllegalArgumentException("heldItem " + heldItem + " of " + leases.size());
      }
    }

    /** Leases all granted by this bundle. */
    public Granted(List<Lease> leases) {
      this(leases, -1);
    }

    /**
     * The leases this bundle took, which nobody else holds: what is given back when its caller is
     * gone. Leaves out a lease the session already held.
     */
    public List<Lease> newlyGranted() {
      if (heldItem < 0) {
        return leases;
      }
      List<Lease> fresh = new ArrayList<>(leases);
      fresh.remove(heldItem);
      return fresh;
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
