package dev.berth.server.admission;

/** Receives the answer to an acquire, exactly once, outside the broker's lock. */
public interface AcquireCallback extends Callback<Decision> {}
