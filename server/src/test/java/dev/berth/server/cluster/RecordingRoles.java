package dev.berth.server.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** A {@link RoleListener} that keeps what it heard, for tests. Thread-safe. */
final class RecordingRoles implements RoleListener {
  private final List<String> events = new ArrayList<>();
  private long readyTerm = -1;
  private long readyEpoch;
  private String fatal;

  @Override
  public synchronized void elected(long term) {
    events.add("elected " + term);
  }

  @Override
  public synchronized void leaderReady(long term, long epoch) {
    events.add("ready " + term + " epoch " + epoch);
    readyTerm = term;
    readyEpoch = epoch;
  }

  @Override
  public synchronized void following(Optional<Peer> leader) {
    events.add("following " + leader.map(Peer::id).orElse("nobody"));
    readyTerm = -1;
  }

  @Override
  public synchronized void fatal(String reason, Throwable cause) {
    events.add("fatal");
    fatal = reason;
  }

  synchronized boolean ready() {
    return readyTerm >= 0;
  }

  synchronized long readyEpoch() {
    return readyEpoch;
  }

  synchronized String fatal() {
    return fatal;
  }

  synchronized List<String> events() {
    return new ArrayList<>(events);
  }
}
