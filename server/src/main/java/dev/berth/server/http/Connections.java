package dev.berth.server.http;

import java.util.Comparator;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The listener's open connections, at most {@code max}. A connection beyond that takes the place of
 * the one that has waited longest for a request, so clients that open connections and send nothing
 * cannot lock out a scraper: they only push out each other. Only when every connection has a
 * request running is a new one refused.
 *
 * <p>{@link #admit} runs on the listener's one I/O thread; {@link #remove} and {@link #closeAll}
 * may run anywhere. Thread-safe.
 */
final class Connections {
  private final int max;
  private final Set<Connection> open = ConcurrentHashMap.newKeySet();

  Connections(int max) {
    this.max = max;
  }

  /**
   * Counts {@code connection} in, closing the longest-waiting idle connection when the listener is
   * full.
   *
   * @return false when the listener is full of running requests: {@code connection} must close
   */
  boolean admit(Connection connection) {
    if (open.size() >= max) {
      Optional<Connection> oldest =
          open.stream()
              .filter(Connection::waiting)
              .min(Comparator.comparingLong(Connection::waitingSince));
      if (oldest.isEmpty()) {
        return false;
      }
      open.remove(oldest.get());
      oldest.get().close();
    }
    open.add(connection);
    return true;
  }

  void remove(Connection connection) {
    open.remove(connection);
  }

  int open() {
    return open.size();
  }

  void closeAll() {
    open.forEach(Connection::close);
    open.clear();
  }
}
