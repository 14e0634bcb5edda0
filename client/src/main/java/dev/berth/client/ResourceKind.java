package dev.berth.client;

/** The kinds of capacity a broker leases out. */
public enum ResourceKind {
  /** One headless-browser render slot; rate-limited per host of the URL. */
  RENDER,
  /** One PDF generation slot; rate-limited per host when a URL is given. */
  PDF,
  /** One WASM extractor instance; a session holds at most one (asking again returns it). */
  WASM
}
