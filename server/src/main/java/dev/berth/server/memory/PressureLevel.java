package dev.berth.server.memory;

/** How close memory is to its limit, as told to workers in every heartbeat ack. */
public enum PressureLevel {
  /** Below pressure_on (or back at or below pressure_off): grants proceed. */
  NONE,
  /** At or above pressure_on: new RENDER and PDF grants are refused, cleanup is pushed. */
  ELEVATED,
  /** At or above the critical ratio: as ELEVATED; workers should shed work now. */
  CRITICAL;

  /** The more severe of two levels. */
  static PressureLevel max(PressureLevel a, PressureLevel b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
