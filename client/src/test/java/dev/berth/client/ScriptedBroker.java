package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.HeartbeatAck;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake LeaseBroker for tests of the session stream, which can do what the real broker never does
 * (leave a hello unanswered, heartbeats unacknowledged): it opens one session, {@code s-1},
 * answering as many hellos as it is told to (a resume as resumed), acknowledges heartbeats only
 * when told to, ends the stream at goodbye unless told not to, and records the hellos, heartbeats
 * and acquires it receives (answering no acquire) and counts the goodbyes. Thread-safe.
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

  /** Acquires and bundles on the stream, which it never answers. */
  final BlockingQueue<SessionRequest> calls = new LinkedBlockingQueue<>();

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

  private static SessionRequest next(BlockingQueue<SessionRequest> queue, String what) {
    try {
      SessionRequest request = queue.poll(5, TimeUnit.SECONDS);
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
            hellos.add(request);
            if (hellosToAnswer.getAndDecrement() > 0) {
              events.onNext(opened(!request.getHello().getResumeSessionId().isEmpty()));
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
          case ACQUIRE, ACQUIRE_BUNDLE -> calls.add(request);
          default -> {}
        }
      }

      @Override
      public void onError(Throwable t) {}

      @Override
      public void onCompleted() {}
    };
  }

  private SessionEvent opened(boolean resumed) {
    return SessionEvent.newBuilder()
        .setOpened(
            Opened.newBuilder()
                .setSessionId("s-1")
                .setBrokerEpoch(1)
                .setResumed(resumed)
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
