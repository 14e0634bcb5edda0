package dev.berth.server.lease;

/** The kinds of capacity the broker leases out. */
public enum ResourceKind {
  /** A headless-browser render slot; rate-limited per host. */
  RENDER(0),
  /** A PDF generation slot; rate-limited per host when a URL is given. */
  PDF(1),
  /** A WASM extractor instance; at most one per session. */
  WASM(2);

  /** How many kinds there are: the size of an array indexed by {@link #index()}. */
  public static final int COUNT = 3;

  private final int index;

  ResourceKind(int index) {
    this.index = index;
  }

  /**
   * The kind's slot, 0..{@link #COUNT}-1, in the per-kind counters of the grant path (plain int
   * arrays: no boxing, no map lookup). Fixed here so that no reordering of the constants moves a
   * count.
   */
  public int index() {
    return index;
  }
}
