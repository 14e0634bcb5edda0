package dev.berth.server.memory;

import java.util.List;

/**
 * What {@link FleetMemory#evaluate} found changed since the previous evaluation: the fleet-wide
 * level (fleet usage or the broker's heap) and the workers whose own level moved.
 *
 * @param from the fleet-wide level at the previous evaluation
 * @param to the fleet-wide level now
 * @param trigger the rule behind {@code to}, or behind the last transition when {@code to} is NONE;
 *     e.g. {@code fleet 3500/4000 MB = 0.88 >= pressure_on 0.85}
 * @param workers workers whose own level differs from the previous evaluation, in the order they
 *     changed; sessions forgotten in between are left out
 */
public record PressureChange(
    PressureLevel from, PressureLevel to, String trigger, List<Worker> workers) {

  public PressureChange {
    workers = List.copyOf(workers);
  }

  /** Whether anything moved: the fleet-wide level or any worker's. */
  public boolean changed() {
    return from != to || !workers.isEmpty();
  }

  /** Fleet-wide pressure began: new RENDER and PDF grants are refused from now on. */
  public boolean turnedOn() {
    return from == PressureLevel.NONE && to != PressureLevel.NONE;
  }

  /** Fleet-wide pressure ended: waiting grants may proceed. */
  public boolean turnedOff() {
    return from != PressureLevel.NONE && to == PressureLevel.NONE;
  }

  /**
   * One worker's own pressure level moved.
   *
   * @param trigger the rule that moved it, e.g. {@code worker w1 (session s) 1900/2000 MB = 0.95 >=
   *     critical 0.95}
   */
  public record Worker(
      String sessionId, String workerId, PressureLevel from, PressureLevel to, String trigger) {

    public boolean turnedOn() {
      return from == PressureLevel.NONE && to != PressureLevel.NONE;
    }

    public boolean turnedOff() {
      return from != PressureLevel.NONE && to == PressureLevel.NONE;
    }
  }
}
