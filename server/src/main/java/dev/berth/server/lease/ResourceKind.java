package dev.berth.server.lease;

/** The kinds of capacity the broker leases out. */
public enum ResourceKind {
  /** A headless-browser render slot; rate-limited per host. */
  RENDER,
  /** A PDF generation slot; rate-limited per host when a URL is given. */
  PDF,
  /** A WASM extractor instance; at most one per session. */
  WASM
}
