package dev.berth.client;

import java.util.List;
import java.util.NoSuchElementException;

/**
 * The leases of one granted bundle, in the order of its items, closed together. Close it when done
 * — try-with-resources is the intended use — and each lease goes back to the broker with its own
 * {@linkplain Lease#recordOutcome recorded outcome}. A lease of the bundle may also be closed on
 * its own earlier; closing the bundle then skips it (a lease's close acts once).
 *
 * <p>Immutable and thread-safe, as its leases are.
 */
public final class LeaseBundle implements AutoCloseable {
  private final List<Lease> leases;

  /** The leases of a grant, in the order of the bundle's items. */
  public LeaseBundle(List<Lease> leases) {
    this.leases = List.copyOf(leases);
  }

  /** Every lease, in the order of the bundle's items. */
  public List<Lease> leases() {
    return leases;
  }

  /** The lease of item {@code item}. */
  public Lease get(int item) {
    return leases.get(item);
  }

  /**
   * The first lease of {@code kind}.
   *
   * @throws NoSuchElementException when the bundle has none
   */
  public Lease first(ResourceKind kind) {
    for (Lease lease : leases) {
      if (lease.kind() == kind) {
        return lease;
      }
    }
    throw new NoSuchElementException("kind: the bundle has no " + kind + " lease");
  }

  /** True while every lease is {@linkplain Lease#isValid() valid}. */
  public boolean isValid() {
    for (Lease lease : leases) {
      if (!lease.isValid()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Releases every lease not closed yet, each with its recorded outcome, one after the other. Never
   * throws, as {@link Lease#close()} does not.
   */
  @Override
  public void close() {
    for (Lease lease : leases) {
      lease.close();
    }
  }

  @Override
  public String toString() {
    return "LeaseBundle" + leases;
  }
}
