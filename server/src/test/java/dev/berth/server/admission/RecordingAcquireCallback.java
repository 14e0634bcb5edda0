package dev.berth.server.admission;

import dev.berth.server.lease.Lease;

/** A {@link RecordingCallback} of an acquire. Thread-safe. */
public final class RecordingAcquireCallback extends RecordingCallback<Decision>
    implements AcquireCallback {

  /** The single answer, which must be a grant. */
  public Lease granted() {
    return only(Decision.Granted.class).lease();
  }

  /** The single answer, which must be a refusal. */
  public Decision.Refused refused() {
    return only(Decision.Refused.class);
  }
}
