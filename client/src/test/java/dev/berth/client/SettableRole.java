package dev.berth.client;

import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.replication.ServingRole;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A cluster role a test sets by hand, for a real broker behind the server's leader gate: a follower
 * that names {@code leaderApi} (an in-process server's name in the SDK's tests) until told
 * otherwise. Thread-safe.
 */
final class SettableRole implements ServingRole {
  private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
  private volatile boolean serving;
  private volatile String leaderApi;

  SettableRole(boolean serving, String leaderApi) {
    this.serving = serving;
    this.leaderApi = leaderApi;
  }

  /** Changes the role and tells the server, as a cluster member does on a role change. */
  void set(boolean serving, String leaderApi) {
    this.serving = serving;
    this.leaderApi = leaderApi;
    listeners.forEach(Runnable::run);
  }

  @Override
  public boolean serving() {
    return serving;
  }

  @Override
  public String leaderApi() {
    return leaderApi;
  }

  @Override
  public Optional<ClusterStatus> cluster() {
    return Optional.empty();
  }

  @Override
  public void onChange(Runnable listener) {
    listeners.add(listener);
  }
}
