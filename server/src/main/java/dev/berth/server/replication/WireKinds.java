package dev.berth.server.replication;

import dev.berth.server.lease.ResourceKind;

/**
 * The broker's pool kinds as the wire carries them: the worker API and the cluster's log both use
 * {@code berth.v1.ResourceKind} (the log borrows the API's enum rather than keep its own), so one
 * mapping serves both, and a kind added to the broker is added to the wire in one place. It lives
 * here, not with the gRPC adapters, because the log's packages may not depend on those. Stateless.
 */
public final class WireKinds {
  private WireKinds() {}

  /** The wire's value for {@code kind}. */
  public static dev.berth.proto.v1.ResourceKind toWire(ResourceKind kind) {
    return switch (kind) {
      case RENDER -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_RENDER;
      case PDF -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
      case WASM -> dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_WASM;
    };
  }

  /**
   * The broker's kind of a wire value; null for UNSPECIFIED and for a value this version does not
   * know (a newer peer's or client's), which each caller refuses in its own terms.
   */
  public static ResourceKind fromWire(dev.berth.proto.v1.ResourceKind kind) {
    return switch (kind) {
      case RESOURCE_KIND_RENDER -> ResourceKind.RENDER;
      case RESOURCE_KIND_PDF -> ResourceKind.PDF;
      case RESOURCE_KIND_WASM -> ResourceKind.WASM;
      default -> null;
    };
  }
}
