package dev.berth.client.internal;

/** The broker's rule for identifiers (worker ids, request ids), checked before a call is made. */
public final class Ids {
  /** The longest identifier the broker accepts. */
  public static final int MAX_LENGTH = 128;

  private Ids() {}

  /**
   * Checks that {@code value} is 1..128 printable ASCII characters without spaces.
   *
   * @throws IllegalArgumentException naming {@code field}
   */
  public static void check(String field, String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_LENGTH) {
      throw new IllegalArgumentException(field + ": must be 1.." + MAX_LENGTH + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException(field + ": must be printable ASCII without spaces");
      }
    }
  }

  /**
   * The request id of attempt {@code attempt} (from 1) of a retried acquire: the caller's id first,
   * then {@code id/2}, {@code id/3}… cut to fit the length limit.
   */
  public static String attempt(String requestId, int attempt) {
    if (attempt <= 1) {
      return requestId;
    }
    String suffix = "/" + attempt;
    int keep = Math.min(requestId.length(), MAX_LENGTH - suffix.length());
    return requestId.substring(0, keep) + suffix;
  }
}
