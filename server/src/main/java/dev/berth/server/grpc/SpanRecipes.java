package dev.berth.server.grpc;

import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireBundleResponse;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.DrainBrokerRequest;
import dev.berth.proto.v1.DrainBrokerResponse;
import dev.berth.proto.v1.DrainSessionRequest;
import dev.berth.proto.v1.DrainSessionResponse;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.Refusal;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.RevokeLeaseRequest;
import dev.berth.proto.v1.RevokeLeaseResponse;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.server.admission.HostName;
import dev.berth.server.tracing.Spans;
import io.opentelemetry.api.trace.Span;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What each traced call's span says, read from its request and its answer. A message of another
 * type (a request that did not parse reaches here as {@link RequestGuard}'s marker) adds nothing.
 * Stateless but for the session tags; thread-safe.
 */
final class SpanRecipes {
  private static final Logger log = LoggerFactory.getLogger(SpanRecipes.class);

  /**
   * The span of one lease or admin call, unary or on a session stream: its name, what its request
   * adds and what its answer adds, given the nanoseconds since the call started.
   */
  record Recipe(String name, BiConsumer<Span, Object> request, Answer answer) {}

  /** What an answer adds to its call's span. */
  interface Answer {
    void add(Span span, Object response, long elapsedNanos);
  }

  private final SessionTags sessions;

  SpanRecipes(SessionTags sessions) {
    this.sessions = sessions;
  }

  /** Runs {@code attributes}; a failure is logged, never passed to the call. */
  static void safely(Runnable attributes) {
    try {
      attributes.run();
    } catch (RuntimeException e) {
      log.debug("span attributes not recorded", e);
    }
  }

  /** {@code body} for messages of {@code type}; nothing for others. */
  private static <M> BiConsumer<Span, Object> on(Class<M> type, BiConsumer<Span, M> body) {
    return (span, message) -> {
      if (type.isInstance(message)) {
        body.accept(span, type.cast(message));
      }
    };
  }

  private static <M> Answer answer(Class<M> type, BiConsumer<Span, M> body) {
    BiConsumer<Span, Object> typed = on(type, body);
    return (span, message, elapsedNanos) -> typed.accept(span, message);
  }

  Recipe acquire() {
    return new Recipe(
        Spans.ACQUIRE,
        on(AcquireRequest.class, this::acquireRequest),
        (span, message, elapsedNanos) -> {
          if (message instanceof AcquireResponse r) {
            span.setAttribute(Spans.WAIT_MS, TimeUnit.NANOSECONDS.toMillis(elapsedNanos));
            acquireResponse(span, r);
          }
        });
  }

  Recipe bundle() {
    return new Recipe(
        Spans.ACQUIRE_BUNDLE,
        on(
            AcquireBundleRequest.class,
            (span, r) -> {
              session(span, r.getSessionId());
              span.setAttribute(Spans.BUNDLE_ITEMS, (long) r.getItemsCount());
              span.setAttribute(Spans.PRIORITY, (long) r.getPriority());
              span.setAttribute(Spans.MAX_WAIT_MS, millis(r.getWait()));
            }),
        (span, message, elapsedNanos) -> {
          if (message instanceof AcquireBundleResponse r) {
            span.setAttribute(Spans.WAIT_MS, TimeUnit.NANOSECONDS.toMillis(elapsedNanos));
            if (r.hasGranted()) {
              span.setAttribute(Spans.DECISION, "granted");
            } else if (r.hasRefused()) {
              span.setAttribute(Spans.BUNDLE_REFUSED_ITEM, (long) r.getRefused().getItem());
              refusal(span, r.getRefused().getRefusal());
            }
          }
        });
  }

  Recipe release() {
    return new Recipe(
        Spans.RELEASE,
        on(ReleaseRequest.class, this::releaseRequest),
        answer(
            ReleaseResponse.class,
            (span, r) -> {
              span.setAttribute(Spans.RELEASED, r.getReleased());
              span.setAttribute(Spans.ENDED_BY, name(r.getEndedBy(), "LEASE_END_"));
            }));
  }

  Recipe revokeLease() {
    return new Recipe(
        Spans.REVOKE_LEASE,
        on(
            RevokeLeaseRequest.class,
            (span, r) -> {
              span.setAttribute(Spans.LEASE_ID, r.getLeaseId());
              span.setAttribute(Spans.REVOKE_REASON, name(r.getReason(), "REVOKE_REASON_"));
            }),
        answer(
            RevokeLeaseResponse.class,
            (span, r) -> {
              span.setAttribute(Spans.REVOKED, r.getRevoked());
              span.setAttribute(Spans.ENDED_BY, name(r.getEndedBy(), "LEASE_END_"));
            }));
  }

  Recipe drainSession() {
    return new Recipe(
        Spans.DRAIN_SESSION,
        on(DrainSessionRequest.class, (span, r) -> session(span, r.getSessionId())),
        answer(
            DrainSessionResponse.class,
            (span, r) -> span.setAttribute(Spans.LEASES_HELD, (long) r.getLeasesHeld())));
  }

  Recipe drainBroker() {
    return new Recipe(
        Spans.DRAIN_BROKER,
        on(
            DrainBrokerRequest.class,
            (span, r) -> span.setAttribute(Spans.DRAIN_RESUME, r.getResume())),
        answer(
            DrainBrokerResponse.class,
            (span, r) -> {
              span.setAttribute(Spans.SESSIONS, (long) r.getSessions());
              span.setAttribute(Spans.LEASES_HELD, (long) r.getLeasesHeld());
            }));
  }

  Recipe updateLimits() {
    return new Recipe(
        Spans.UPDATE_LIMITS,
        on(
            UpdateLimitsRequest.class,
            (span, r) -> span.setAttribute(Spans.LIMITS_CHANGE, Protos.describe(r))),
        (span, message, elapsedNanos) -> {});
  }

  private void acquireRequest(Span span, AcquireRequest r) {
    session(span, r.getSessionId());
    span.setAttribute(Spans.KIND, name(r.getKind(), "RESOURCE_KIND_"));
    if (!r.getUrl().isEmpty()) {
      span.setAttribute(Spans.HOST, HostName.of(r.getUrl(), "url"));
    }
    if (!r.getModule().isEmpty()) {
      span.setAttribute(Spans.MODULE, r.getModule());
    }
    span.setAttribute(Spans.PRIORITY, (long) r.getPriority());
    span.setAttribute(Spans.MAX_WAIT_MS, millis(r.getWait()));
  }

  private static void acquireResponse(Span span, AcquireResponse r) {
    if (r.hasGranted()) {
      span.setAttribute(Spans.DECISION, "granted");
      span.setAttribute(Spans.LEASE_ID, r.getGranted().getLeaseId());
      span.setAttribute(Spans.FENCING_TOKEN, r.getGranted().getFencingToken());
    } else if (r.hasRefused()) {
      refusal(span, r.getRefused());
    }
  }

  private static void refusal(Span span, Refusal r) {
    span.setAttribute(Spans.DECISION, "refused");
    span.setAttribute(Spans.REFUSAL_REASON, name(r.getReason(), "REFUSAL_REASON_"));
    span.setAttribute(Spans.REFUSAL_DETAIL, r.getDetail());
    if (!r.getRule().isEmpty()) {
      span.setAttribute(Spans.REFUSAL_RULE, r.getRule());
    }
    span.setAttribute(Spans.RETRY_AFTER_MS, millis(r.getRetryAfter()));
  }

  private void releaseRequest(Span span, ReleaseRequest r) {
    session(span, r.getSessionId());
    span.setAttribute(Spans.LEASE_ID, r.getLeaseId());
    if (!r.hasOutcome()) {
      span.setAttribute(Spans.OUTCOME, "unknown");
      return;
    }
    span.setAttribute(Spans.OUTCOME, r.getOutcome().getSuccess() ? "success" : "failure");
    if (r.getOutcome().getHttpStatus() != 0) {
      span.setAttribute(Spans.OUTCOME_HTTP_STATUS, (long) r.getOutcome().getHttpStatus());
    }
  }

  /** The session's id, and its worker and job when its hello was seen. */
  void session(Span span, String sessionId) {
    span.setAttribute(Spans.SESSION_ID, sessionId);
    SessionTags.Tag tag = sessions.find(sessionId);
    if (tag != null) {
      worker(span, tag);
    }
  }

  private static void worker(Span span, SessionTags.Tag tag) {
    if (!tag.workerId().isEmpty()) {
      span.setAttribute(Spans.WORKER_ID, tag.workerId());
    }
    if (!tag.job().isEmpty()) {
      span.setAttribute(Spans.JOB, tag.job());
    }
  }

  /** A session's hello: who and, when resuming, how much it says it holds. */
  static void hello(Span span, Hello hello, SessionTags.Tag tag) {
    worker(span, tag);
    if (!hello.getResumeSessionId().isEmpty()) {
      span.setAttribute(Spans.SESSION_ID, hello.getResumeSessionId());
      span.setAttribute(Spans.HELD_LEASES, (long) hello.getHeldLeasesCount());
    }
  }

  /** The broker's answer to a hello. */
  static void opened(Span span, Opened opened) {
    span.setAttribute(Spans.SESSION_ID, opened.getSessionId());
    span.setAttribute(Spans.RESUMED, opened.getResumed());
    span.setAttribute(Spans.LOST_LEASES, (long) opened.getLostLeasesCount());
  }

  /** An enum value without its wire prefix: {@code RESOURCE_KIND_RENDER} → {@code RENDER}. */
  private static String name(Enum<?> value, String prefix) {
    String n = value.name();
    return n.startsWith(prefix) ? n.substring(prefix.length()) : n;
  }

  private static long millis(com.google.protobuf.Duration d) {
    return TimeUnit.SECONDS.toMillis(d.getSeconds()) + TimeUnit.NANOSECONDS.toMillis(d.getNanos());
  }
}
