package dev.berth.server.security;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One INFO line per change an operator makes to a running broker (a revoke, a drain, new limits, a
 * leadership transfer), naming who made it and through which door, so that "who set RENDER to
 * 1000000?" can be answered from the daemon's log after the fact. Watchers of {@code WatchEvents}
 * see the same changes, but only while they watch. Its own logger, {@value #LOGGER}, so that the
 * lines can be routed or kept apart from the rest. Stateless.
 */
public final class AdminAudit {
  /** The logger the lines go to. */
  public static final String LOGGER = "dev.berth.server.audit";

  private static final Logger log = LoggerFactory.getLogger(LOGGER);

  private AdminAudit() {}

  /**
   * Logs a change that was made.
   *
   * @param principal who made it (the authenticated principal, or {@code anonymous})
   * @param via how it came: {@code grpc} (the admin API and the CLI) or {@code dashboard}
   * @param what the change in words
   */
  public static void changed(String principal, String via, String what) {
    log.info("admin change by {} via {}: {}", principal, via, what);
  }
}
