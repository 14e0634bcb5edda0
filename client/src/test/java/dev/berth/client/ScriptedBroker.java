package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.HeartbeatAck;
import dev.berth.proto.v1.Lease;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResponse;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake LeaseBroker for tests of the session stream, which can do what the real broker never does
 * (leave a hello unanswered, heartbeats unacknowledged): it opens one session, {@code s-1} unless
 * told another, answering as many hellos as it is told to (a resume of it as resumed), acknowledges
 * heartbeats only when told to, ends the stream at goodbye unless told not to, and records the
 * hellos, heartbeats and acquires it receives (answering none, unless told to grant them) and
 * counts the goodbyes. It records releases too, answering none on the stream and each unary one as
 * out of reach ({@code UNAVAILABLE}), or not at all when told to. Thread-safe.
 */
final class ScriptedBroker extends LeaseBrokerGrpc.LeaseBrokerImplBase {
  final AtomicInteger hellosToAnswer = new AtomicInteger();
  private final Duration heartbeatInterval;
  private final Duration ttl;
  volatile boolean ackHeartbeats;

  /** Whether a goodbye ends the stream; a half-open connection leaves it unanswered. */
  volatile boolean answerGoodbye = true;

  /** How many goodbyes have come. */
  final AtomicInteger goodbyes = new AtomicInteger();

  final BlockingQueue<SessionRequest> hellos = new LinkedBlockingQueue<>();
  final BlockingQueue<SessionRequest> heartbeats = new LinkedBlockingQueue<>();

  /** Acquires and bundles on the stream, which it answers only with {@link #grant}. */
  final BlockingQueue<SessionRequest> calls = new LinkedBlockingQueue<>();

  /** When set, the lease each acquire on the stream is granted; else acquires go unanswered. */
  volatile Lease grant;

  /** Releases, on the stream (never answered) and unary. */
  final BlockingQueue<ReleaseRequest> releases = new LinkedBlockingQueue<>();

  /**
   * The session every hello opens; a resume of another one is answered as a new session (the broker
   * lost the old one).
   */
  volatile String sessionId = "s-1";

  /** Answers to hellos left unanswered, the latest last, for {@link #answerHeldHello}. */
  private final BlockingQueue<Runnable> heldHellos = new LinkedBlockingQueue<>();

  /** Whether a unary release is left unanswered, rather than failed as out of reach. */
  volatile boolean holdUnaryReleases;

  /** The unary releases left unanswered, for {@link #answerHeldReleases}. */
  private final BlockingQueue<StreamObserver<ReleaseResponse>> heldReleases =
      new LinkedBlockingQueue<>();

  /**
   * A broker that tells its worker to heartbeat every {@code heartbeatInterval}, TTL {@code ttl}.
   */
  ScriptedBroker(Duration heartbeatInterval, Duration ttl) {
    this.heartbeatInterval = heartbeatInterval;
    this.ttl = ttl;
  }

  SessionRequest nextHello() {
    return next(hellos, "hello");
  }

  SessionRequest nextHeartbeat() {
    return next(heartbeats, "heartbeat");
  }

  SessionRequest nextCall() {
    return next(calls, "lease call");
  }

  ReleaseRequest nextRelease() {
    return next(releases, "release");
  }

  private static <T> T next(BlockingQueue<T> queue, String what) {
    try {
      T request = queue.poll(5, TimeUnit.SECONDS);
      assertThat(request).as("a " + what + " within 5 s").isNotNull();
      return request;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public StreamObserver<SessionRequest> openSession(StreamObserver<SessionEvent> events) {
    return new StreamObserver<>() {
      @Override
      public void onNext(SessionRequest request) {
        switch (request.getMsgCase()) {
          case HELLO -> {
            SessionEvent answer = opened(request.getHello().getResumeSessionId());
            boolean answerNow = hellosToAnswer.getAndDecrement() > 0;
            if (!answerNow) {
              heldHellos.add(() -> events.onNext(answer)); // before a test can see the hello
            }
            hellos.add(request);
            if (answerNow) {
              events.onNext(answer);
            }
          }
          case HEARTBEAT -> {
            heartbeats.add(request);
            if (ackHeartbeats) {
              events.onNext(
                  SessionEvent.newBuilder()
                      .setHeartbeatAck(
                          HeartbeatAck.newBuilder().setSeq(request.getHeartbeat().getSeq()))
                      .build());
            }
          }
          case GOODBYE -> {
            goodbyes.incrementAndGet();
            if (answerGoodbye) {
              events.onCompleted();
            }
          }
          case ACQUIRE -> {
            calls.add(request);
            Lease lease = grant;
            if (lease != null) {
              events.onNext(
                  SessionEvent.newBuilder()
                      .setAcquireResult(
                          AcquireResult.newBuilder()
                              .setCallId(request.getAcquire().getCallId())
                              .setResponse(AcquireResponse.newBuilder().setGranted(lease)))
                      .build());
            }
          }
          case ACQUIRE_BUNDLE -> calls.add(request);
          case RELEASE -> releases.add(request.getRelease().getRequest());
          default -> {}
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  @Override
  public void release(ReleaseRequest request, StreamObserver<ReleaseResponse> response) {
    releases.add(request);
    if (holdUnaryReleases) {
      heldReleases.add(response);
    } else {
      response.onError(Status.UNAVAILABLE.withDescription("out of reach").asRuntimeException());
    }
  }

  /** Answers the oldest hello left unanswered now, on its stream (the session thread is idle). */
  void answerHeldHello() {
    Runnable answer = heldHellos.poll();
    assertThat(answer).as("a hello left unanswered").isNotNull();
    answer.run();
  }

  /** Answers the unary releases left unanswered, as released. */
  void answerHeldReleases() {
    for (StreamObserver<ReleaseResponse> response; (response = heldReleases.poll()) != null; ) {
      response.onNext(ReleaseResponse.getDefaultInstance());
      response.onCompleted();
    }
  }

  private SessionEvent opened(String resumeSessionId) {
    String id = sessionId;
    return SessionEvent.newBuilder()
        .setOpened(
            Opened.newBuilder()
                .setSessionId(id)
                .setBrokerEpoch(1)
                .setResumed(resumeSessionId.equals(id))
                .setHeartbeatInterval(protoDuration(heartbeatInterval))
                .setSessionTtl(protoDuration(ttl)))
        .build();
  }

  private static com.google.protobuf.Duration protoDuration(Duration d) {
    return com.google.protobuf.Duration.newBuilder()
        .setSeconds(d.getSeconds())
        .setNanos(d.getNano())
        .build();
  }
}
