package dev.berth.server.cluster;

import java.time.Duration;

/**
 * A leadership transfer was refused before anything changed: the member asked to lead next has not
 * answered this leader for longer than {@link RaftNode#silenceBound()} (its process is stopped, or
 * it is cut off). This member leads on as before; nothing was paused or written.
 */
public final class MemberSilentException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final String member;
  private final transient Duration silentFor;

  /**
   * A refusal naming {@code member}, how long it was silent and the bound.
   *
   * @param member the member asked to lead next
   * @param leader this leader's id
   * @param silentFor how long the member has not answered it
   * @param bound the longest silence a transfer accepts ({@link RaftNode#silenceBound()})
   */
  public MemberSilentException(String member, String leader, Duration silentFor, Duration bound) {
    super(
        "member "
            + member
            + " has not answered the leader ("
            + leader
            + ") for "
            + seconds(silentFor)
            + ", longer than "
            + seconds(bound)
            + " (twice "
            + ClusterSettings.Keys.ELECTION_TIMEOUT_MAX
            + "); start it or pick another member");
    this.member = member;
    this.silentFor = silentFor;
  }

  /** The member that was asked to lead next. */
  public String member() {
    return member;
  }

  /** How long it had not answered when the transfer was asked. */
  public Duration silentFor() {
    return silentFor;
  }

  /** "12 s", "3.2 s": whole seconds from 10 s on, tenths below. */
  static String seconds(Duration d) {
    long tenths = d.toMillis() / 100;
    return tenths >= 100 ? tenths / 10 + " s" : tenths / 10 + "." + tenths % 10 + " s";
  }
}
