package dev.berth.common;

import java.util.Optional;

/**
 * The rule for the identifiers a worker chooses (worker ids, request ids): 1 to {@value
 * #MAX_LENGTH} printable ASCII characters without spaces. The broker enforces it; the SDK checks it
 * before it makes a call, so both must read it alike.
 *
 * <p>This class is stateless and thread-safe.
 */
public final class Identifiers {
  /** The longest identifier the broker accepts. */
  public static final int MAX_LENGTH = 128;

  private Identifiers() {}

  /**
   * The rule {@code value} breaks, e.g. {@code must be printable ASCII without spaces}; empty when
   * it is a valid identifier.
   */
  public static Optional<String> problem(String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_LENGTH) {
      return Optional.of("must be 1.." + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        return Optional.of("must be printable ASCII without spaces");
      }
    }
    return Optional.empty();
  }

  /**
   * Checks that {@code value} is a valid identifier.
   *
   * @throws IllegalArgumentException {@code field: rule}, naming {@code field} and the rule broken
   */
  public static void check(String field, String value) {
    Optional<String> problem = problem(value);
    if (problem.isPresent()) {
      throw new IllegalArgumentException(field + ": " + problem.get());
    }
  }
}
