package dev.berth.server.admission;

import java.util.Comparator;
import java.util.Iterator;
import java.util.TreeSet;

/**
 * The fair queue of one resource kind: higher priority first, FIFO within a priority. Removal of
 * any waiter (timeout, cancel) is logarithmic.
 *
 * <p>Not thread-safe: guarded by the broker's lock.
 */
public final class WaitQueue implements Iterable<Waiter> {
  private static final Comparator<Waiter> ORDER =
      Comparator.comparingInt((Waiter w) -> -w.spec().priority()).thenComparingLong(Waiter::seq);

  private final TreeSet<Waiter> waiters = new TreeSet<>(ORDER);

  public void add(Waiter waiter) {
    waiters.add(waiter);
  }

  public boolean remove(Waiter waiter) {
    return waiters.remove(waiter);
  }

  public int size() {
    return waiters.size();
  }

  public boolean isEmpty() {
    return waiters.isEmpty();
  }

  /** Waiters in grant order; {@code remove()} on the iterator is supported. */
  @Override
  public Iterator<Waiter> iterator() {
    return waiters.iterator();
  }

  /** Removes every dead waiter and reports how many there were. */
  public int purgeDead(long nowNanos) {
    int before = waiters.size();
    waiters.removeIf(w -> w.isDead(nowNanos));
    return before - waiters.size();
  }
}
