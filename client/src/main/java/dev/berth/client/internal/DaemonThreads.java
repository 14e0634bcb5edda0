package dev.berth.client.internal;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** Names the SDK's threads and makes them daemons, so a forgotten session never blocks exit. */
final class DaemonThreads implements ThreadFactory {
  private static final AtomicInteger SEQ = new AtomicInteger();
  private final String prefix;

  DaemonThreads(String prefix) {
    this.prefix = prefix;
  }

  @Override
  public Thread newThread(Runnable r) {
    Thread t = new Thread(r, prefix + "-" + SEQ.incrementAndGet());
    t.setDaemon(true);
    return t;
  }
}
