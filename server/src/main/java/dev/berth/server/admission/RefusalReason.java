package dev.berth.server.admission;

/** Why an acquire was not granted. Refusals are results, not errors. */
public enum RefusalReason {
  RATE_LIMITED,
  EXHAUSTED,
  MEMORY_PRESSURE,
  TIMEOUT,
  DRAINING
}
