package dev.berth.server.broker;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Work a broker command leaves for after its lock is released — answering callers, pushing to
 * session streams, notifying listeners — run in order; one failure does not stop the rest. Not
 * thread-safe: one per command.
 */
final class Effects {
  private static final Logger log = LoggerFactory.getLogger(Effects.class);

  /**
   * In order: a {@link Runnable}, or a {@code Consumer<BrokerListener>} event for {@link
   * #listeners}. An event is kept as it is, not wrapped in a runnable that tells the listeners:
   * every grant and every end tells them, and the wrapper was one more object per event. The first
   * two are fields, the rest a list: a command leaves one or two (a grant answers its caller and
   * tells the listeners; a release tells the listeners), and the list with its array were two more
   * objects per command.
   */
  private Object first;

  private Object second;

  private List<Object> rest;

  private List<BrokerListener> listeners;

  void add(Runnable action) {
    append(action);
  }

  /** Tells each of {@code to} (read when the effects run) {@code event}. */
  void tell(List<BrokerListener> to, Consumer<BrokerListener> event) {
    listeners = to;
    append(event);
  }

  private void append(Object action) {
    if (first == null) {
      first = action;
    } else if (second == null) {
      second = action;
    } else {
      if (rest == null) {
        rest = new ArrayList<>();
      }
      rest.add(action);
    }
  }

  void run() {
    if (first == null) {
      return;
    }
    run(first);
    if (second == null) {
      return;
    }
    run(second);
    if (rest != null) {
      for (Object action : rest) {
        run(action);
      }
    }
  }

  private void run(Object action) {
    try {
      if (action instanceof Runnable runnable) {
        runnable.run();
      } else {
        listeners.forEach(event(action));
      }
    } catch (RuntimeException e) {
      log.warn("broker side effect failed", e);
    }
  }

  @SuppressWarnings("unchecked") // only tell() puts anything but a Runnable in the list
  private static Consumer<BrokerListener> event(Object action) {
    return (Consumer<BrokerListener>) action;
  }
}
