package dev.berth.server.grpc;

import dev.berth.proto.v1.Hello;
import dev.berth.server.broker.BrokerListener;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The worker and job of each live session as its hello named them, so that the spans of its
 * acquires can carry them without asking the broker (and taking its lock) per call. Filled when a
 * session opens or resumes, emptied as the broker ends sessions, so it holds at most the broker's
 * live sessions. Used only while tracing is on.
 *
 * <p>Thread-safe.
 */
final class SessionTags implements BrokerListener {
  /** The label a worker may name its job with when its hello has no {@code job}. */
  static final String JOB_LABEL = "job";

  /** What a session's spans say about it. */
  record Tag(String workerId, String job) {
    static Tag of(Hello hello) {
      String job = hello.getJob();
      if (job.isEmpty()) {
        job = hello.getLabelsOrDefault(JOB_LABEL, "");
      }
      return new Tag(hello.getWorkerId(), job);
    }
  }

  private final Map<String, Tag> bySession = new ConcurrentHashMap<>();

  void opened(String sessionId, Tag tag) {
    if (tag != null && !sessionId.isEmpty()) {
      bySession.put(sessionId, tag);
    }
  }

  /** The session's tag, or null for a session opened before tracing saw it. */
  Tag find(String sessionId) {
    return bySession.get(sessionId);
  }

  @Override
  public void sessionEnded(String sessionId, String workerId, boolean expired) {
    bySession.remove(sessionId);
  }

  int size() {
    return bySession.size();
  }
}
