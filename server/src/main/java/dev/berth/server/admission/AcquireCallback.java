package dev.berth.server.admission;

import dev.berth.server.failure.BrokerException;

/** Receives the answer to an acquire, exactly once, outside the broker's lock. */
public interface AcquireCallback {

  /** The acquire was granted or refused. */
  void decided(Decision decision);

  /** The acquire could not be answered, e.g. its session expired while it waited. */
  void failed(BrokerException error);
}
