package dev.berth.server.admission;

/** Receives the answer to a bundle, exactly once, outside the broker's lock. */
public interface BundleCallback extends Callback<BundleDecision> {}
