package dev.berth.server.cluster;

import dev.berth.proto.cluster.v1.FleetState;
import dev.berth.proto.cluster.v1.JournalEntry;
import dev.berth.proto.cluster.v1.LogRecord;
import dev.berth.proto.cluster.v1.SessionOpened;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A replica for tests: the sessions the journal opened and ended (what a broker's mirror would
 * keep), every record applied since the last snapshot load, and how often a snapshot was loaded.
 * Its snapshot is a {@link FleetState} of the open sessions. Optionally fails on a session id, to
 * exercise the fatal path. Thread-safe for readers.
 */
final class RecordingSink implements ReplicaSink {
  private final String failOnSession;
  private final Map<String, SessionOpened> sessions = new LinkedHashMap<>();
  private final List<AppliedRecord> applied = new ArrayList<>();
  private final Map<Long, Long> appliedAtNanos = new java.util.HashMap<>();
  private long lastIndex;
  private int loads;
  private long orderViolations;

  RecordingSink() {
    this(null);
  }

  RecordingSink(String failOnSession) {
    this.failOnSession = failOnSession;
  }

  @Override
  public synchronized void apply(AppliedRecord record) {
    if (record.index() <= lastIndex) {
      orderViolations++;
    }
    lastIndex = record.index();
    applied.add(record);
    appliedAtNanos.put(record.index(), System.nanoTime());
    LogRecord r = record.record();
    if (r.hasJournal()) {
      for (JournalEntry e : r.getJournal().getEntriesList()) {
        if (e.hasSessionOpened()) {
          if (e.getSessionOpened().getSessionId().equals(failOnSession)) {
            throw new IllegalStateException("test replica refuses " + failOnSession);
          }
          sessions.put(e.getSessionOpened().getSessionId(), e.getSessionOpened());
        } else if (e.hasSessionEnded()) {
          sessions.remove(e.getSessionEnded().getSessionId());
        }
      }
    }
  }

  @Override
  public synchronized void writeSnapshot(OutputStream out) throws IOException {
    FleetState.newBuilder().addAllSessions(sessions.values()).build().writeTo(out);
  }

  @Override
  public synchronized void loadSnapshot(InputStream in) throws IOException {
    FleetState state = FleetState.parseFrom(in);
    sessions.clear();
    for (SessionOpened s : state.getSessionsList()) {
      sessions.put(s.getSessionId(), s);
    }
    applied.clear();
    loads++;
  }

  synchronized List<String> sessionIds() {
    return new ArrayList<>(sessions.keySet());
  }

  synchronized List<AppliedRecord> applied() {
    return new ArrayList<>(applied);
  }

  /** When the record at {@code index} was applied here (System.nanoTime), or null. */
  synchronized Long appliedAtNanos(long index) {
    return appliedAtNanos.get(index);
  }

  synchronized int loads() {
    return loads;
  }

  synchronized long orderViolations() {
    return orderViolations;
  }

  synchronized long lastIndex() {
    return lastIndex;
  }
}
