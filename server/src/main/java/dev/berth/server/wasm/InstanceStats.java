package dev.berth.server.wasm;

import static java.util.Objects.requireNonNull;

/**
 * What a worker reports in a heartbeat about the WASM instance it runs under one lease.
 *
 * @param leaseId the WASM lease
 * @param calls calls into the instance since it was created (a running count)
 * @param failures of those, calls that trapped or failed
 */
public record InstanceStats(String leaseId, long calls, long failures) {
  public InstanceStats {
    requireNonNull(leaseId, "leaseId");
  }
}
