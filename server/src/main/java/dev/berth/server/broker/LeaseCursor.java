package dev.berth.server.broker;

import java.util.Comparator;
import java.util.function.Function;
import java.util.function.ToLongFunction;

/**
 * Where a page of leases starts: the leases listed come after this one in the listing order, which
 * is by fencing token (unsigned) and then by lease id. The id breaks ties between leases that share
 * a token: every lease a broker grants has its own, but the leases a worker kept in safe mode and
 * the broker adopted all carry token 0, and a listing that paged by token alone would skip them.
 *
 * <p>Its text form, {@link #text}, is what a page hands back as its next page's start: {@code
 * <token>:<lease id>}. A bare {@code <token>}, the form before lease ids broke ties, still parses
 * and starts after every lease with that token.
 *
 * @param leaseId the last lease listed; null when only the token is known (after all of its leases)
 */
public record LeaseCursor(long token, String leaseId) {
  /** Before every lease: the first page. */
  public static final LeaseCursor START = new LeaseCursor(0, "");

  /** The listing order: by fencing token (unsigned), then by lease id. */
  public static final Comparator<Views.LeaseInfo> ORDER =
      order(i -> i.lease().fencingToken(), i -> i.lease().id());

  /** The listing order of any record of a lease, given its fencing token and its id. */
  public static <T> Comparator<T> order(ToLongFunction<T> token, Function<T, String> id) {
    // Flipping the sign bit orders signed longs as their unsigned values.
    return Comparator.<T>comparingLong(l -> token.applyAsLong(l) ^ Long.MIN_VALUE)
        .thenComparing(id);
  }

  /** The cursor just past {@code info}, the last lease of a page. */
  public static LeaseCursor after(Views.LeaseInfo info) {
    return new LeaseCursor(info.lease().fencingToken(), info.lease().id());
  }

  /** Whether the lease with {@code token} and {@code id} comes after this cursor. */
  public boolean precedes(long token, String id) {
    int byToken = Long.compareUnsigned(token, this.token);
    if (byToken != 0) {
      return byToken > 0;
    }
    return leaseId != null && id.compareTo(leaseId) > 0;
  }

  /** {@code <token>:<lease id>}, or the bare token when no id is known. */
  public String text() {
    String t = Long.toUnsignedString(token);
    return leaseId == null ? t : t + ":" + leaseId;
  }

  /**
   * The cursor {@code text} gives ({@link #text}), {@link #START} for an empty one.
   *
   * @throws IllegalArgumentException when it is not one of the two forms
   */
  public static LeaseCursor parse(String text) {
    if (text.isEmpty()) {
      return START;
    }
    int colon = text.indexOf(':');
    String token = colon < 0 ? text : text.substring(0, colon);
    long value;
    try {
      value = Long.parseUnsignedLong(token);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("no fencing token before the ':'", e);
    }
    if (colon < 0) {
      return new LeaseCursor(value, null);
    }
    String id = text.substring(colon + 1);
    if (id.isEmpty()) {
      throw new IllegalArgumentException("no lease id after the ':'");
    }
    return new LeaseCursor(value, id);
  }
}
