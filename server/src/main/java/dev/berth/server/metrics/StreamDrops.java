package dev.berth.server.metrics;

/**
 * Told when the daemon drops a reader of one of its event streams because it fell too far behind: a
 * {@code WatchEvents} watcher or a live dashboard. Implementations must be quick and must not block
 * or throw: this runs on the thread that found the reader behind, often the broker's; they are
 * called from many threads at once and must be thread-safe.
 */
public interface StreamDrops {
  /** Counts nothing. */
  StreamDrops NONE = stream -> {};

  /** The streams whose readers can be dropped; the label value of {@code stream}. */
  enum Stream {
    /** {@code berth.v1.BrokerAdmin/WatchEvents} (e.g. {@code berth watch}). */
    WATCH,
    /** The dashboard's Server-Sent Events stream. */
    DASHBOARD
  }

  /** One reader of {@code stream} was dropped. */
  void dropped(Stream stream);
}
