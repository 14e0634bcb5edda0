package dev.berth.server;

/** The broker's version, as built. */
public final class Versions {
  private Versions() {}

  /** The version from the jar manifest, or "dev" when run from classes. */
  public static String current() {
    String v = Versions.class.getPackage().getImplementationVersion();
    return v != null ? v : "dev";
  }
}
