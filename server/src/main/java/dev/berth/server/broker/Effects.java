package dev.berth.server.broker;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Work a broker command leaves for after its lock is released — answering callers, pushing to
 * session streams, notifying listeners — run in order; one failure does not stop the rest. Not
 * thread-safe: one per command.
 */
final class Effects {
  private static final Logger log = LoggerFactory.getLogger(Effects.class);

  private List<Runnable> actions;

  void add(Runnable action) {
    if (actions == null) {
      actions = new ArrayList<>(2);
    }
    actions.add(action);
  }

  void run() {
    if (actions == null) {
      return;
    }
    for (Runnable action : actions) {
      try {
        action.run();
      } catch (RuntimeException e) {
        log.warn("broker side effect failed", e);
      }
    }
  }
}
