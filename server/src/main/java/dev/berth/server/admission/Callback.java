package dev.berth.server.admission;

import dev.berth.server.failure.BrokerException;

/**
 * Receives the answer to a request exactly once, outside the broker's lock: an {@code A} when it
 * was decided, a failure when it could not be answered.
 *
 * @param <A> the answer: a {@link Decision} for an acquire, a {@link BundleDecision} for a bundle
 */
public interface Callback<A> {

  /** The request was granted or refused. */
  void decided(A answer);

  /** The request could not be answered, e.g. its session expired while it waited. */
  void failed(BrokerException error);
}
