package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.broker.Broker;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A session stream that ends on another thread while one of its acquires is being started, as in
 * the daemon when the worker resumes its session on a new stream (the old one is closed from the
 * new one's thread), or the session expires: the acquire gives its place in the queue up, whatever
 * the interleaving. Real threads, since the race is between two of them; each round moves the
 * closer's moment by a random spin, and no round sleeps.
 */
class SessionStreamEndRaceTest {
  private static final int ROUNDS = 50_000;

  @Test
  void streamEndsWhileAnAcquireStarts_theAcquireNeverStaysQueued() throws Exception {
    FakeTimeSource time = new FakeTimeSource();
    SessionStream.Shared shared =
        InProcessBroker.streamsWithoutServer(
            InProcessBroker.config().limit(ResourceKind.PDF, 1).build(), time);
    Broker broker = shared.broker();
    // Another worker holds the one PDF slot, so every acquire below waits.
    SessionStream holder = open(shared);
    holder.onNext(acquire(0, Duration.ZERO));
    assertThat(broker.inUse(ResourceKind.PDF)).isOne();

    AtomicReference<SessionStream> target = new AtomicReference<>();
    AtomicInteger started = new AtomicInteger();
    AtomicInteger closed = new AtomicInteger();
    Thread closer =
        new Thread(
            () -> {
              SplittableRandom random = new SplittableRandom(42);
              for (int round = 1; round <= ROUNDS; round++) {
                while (started.get() < round) {
                  Thread.onSpinWait();
                }
                for (int spin = random.nextInt(400); spin > 0; spin--) {
                  Thread.onSpinWait();
                }
                target
                    .get()
                    .close(SessionChannel.CloseReason.REPLACED, "resumed on another stream");
                closed.set(round);
              }
            },
            "closer");
    closer.setDaemon(true);
    closer.start();

    int leftQueued = 0;
    for (int round = 1; round <= ROUNDS; round++) {
      FakeServerCallStreamObserver<SessionEvent> out = new FakeServerCallStreamObserver<>();
      SessionStream stream = new SessionStream(shared, out, "worker");
      stream.onNext(
          SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("w")).build());
      String session = out.written.get(0).getOpened().getSessionId();
      target.set(stream);
      started.set(round);
      stream.onNext(acquire(1, Duration.ofHours(1))); // waits: the pool is full
      while (closed.get() < round) {
        Thread.onSpinWait();
      }
      if (broker.queued(ResourceKind.PDF) != 0) {
        leftQueued++;
      }
      broker.goodbye(session, stream); // ends the round's session, and a waiter it left
    }
    closer.join();

    assertThat(leftQueued).as("acquires left queued after their stream ended").isZero();
  }

  private static SessionStream open(SessionStream.Shared shared) {
    SessionStream stream =
        new SessionStream(shared, new FakeServerCallStreamObserver<>(), "holder");
    stream.onNext(
        SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("holder")).build());
    return stream;
  }

  private static SessionRequest acquire(long callId, Duration wait) {
    return InProcessBroker.pdfOnStream(callId, wait, "");
  }
}
