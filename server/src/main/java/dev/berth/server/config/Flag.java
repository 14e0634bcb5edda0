package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

/**
 * One {@code --name value} pair from the command line, as typed.
 *
 * @param name the option with its dashes, e.g. {@code --session-ttl} or {@code --pools.pdf.limit}
 * @param value the value as typed
 */
public record Flag(String name, String value) {
  public Flag {
    requireNonNull(name, "name");
    requireNonNull(value, "value");
  }
}
