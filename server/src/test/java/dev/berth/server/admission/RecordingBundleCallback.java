package dev.berth.server.admission;

import dev.berth.server.lease.Lease;
import java.util.List;

/** A {@link RecordingCallback} of a bundle. Thread-safe. */
public final class RecordingBundleCallback extends RecordingCallback<BundleDecision>
    implements BundleCallback {

  /** The single answer, which must be a grant: its leases in the items' order. */
  public List<Lease> granted() {
    return only(BundleDecision.Granted.class).leases();
  }

  /** The single answer, which must be a refusal. */
  public BundleDecision.Refused refused() {
    return only(BundleDecision.Refused.class);
  }
}
