package dev.berth.server.memory;

/** How close memory is to its limit, as told to workers in every heartbeat ack. */
public enum PressureLevel {
  /** Below pressure_on (or back at or below pressure_off): grants proceed. */
  NONE(0),
  /** At or above pressure_on: new RENDER and PDF grants are refused, cleanup is pushed. */
  ELEVATED(1),
  /** At or above the critical ratio: as ELEVATED; workers should shed work now. */
  CRITICAL(2);

  private final int number;

  PressureLevel(int number) {
    this.number = number;
  }

  /**
   * The level as published in numbers (the pressure gauge, the dashboard's samples): 0 none, 1
   * elevated, 2 critical. Fixed here so that no reordering of the constants can change it.
   */
  public int number() {
    return number;
  }

  /** The more severe of two levels. */
  static PressureLevel max(PressureLevel a, PressureLevel b) {
    return a.compareTo(b) >= 0 ? a : b;
  }
}
