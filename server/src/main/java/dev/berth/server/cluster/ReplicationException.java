package dev.berth.server.cluster;

/** A write to the replicated log failed; {@link #reason()} says how. */
public final class ReplicationException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** How a write failed. */
  public enum Reason {
    /** This node does not lead (any more): only the leader writes. */
    NOT_LEADER,
    /** No majority committed it within the bounded attempts; the node may have lost its peers. */
    UNAVAILABLE,
    /** The node is closed. */
    CLOSED
  }

  private final Reason reason;

  public ReplicationException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
