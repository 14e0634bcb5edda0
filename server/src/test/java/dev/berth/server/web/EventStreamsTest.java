package dev.berth.server.web;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.metrics.StreamDrops;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The bounded streams: a reader that stops reading is dropped and counted, never waited for. */
class EventStreamsTest {
  private static final WebAccess.Grant ANYONE = new WebAccess.Grant("anonymous", false, "");
  private final List<StreamDrops.Stream> drops = new ArrayList<>();
  private final EventStreams streams =
      new EventStreams(
          2,
          stream -> {
            synchronized (drops) {
              drops.add(stream);
            }
          });

  /** A connection whose reader never reads: every write blocks until the thread is interrupted. */
  private static final class StuckReader extends OutputStream {
    final CountDownLatch writing = new CountDownLatch(1);

    @Override
    public void write(int b) throws IOException {
      writing.countDown();
      try {
        new CountDownLatch(1).await();
      } catch (InterruptedException e) {
        throw new InterruptedIOException("closed by interrupt");
      }
    }
  }

  @Test
  void broadcast_toAReaderThatStoppedReading_dropsItOnce_withoutWaiting() throws Exception {
    EventStreams.Client client = streams.open(ANYONE);
    StuckReader stuck = new StuckReader();
    Thread writer = new Thread(() -> client.serve(stuck, EventStreams.frame("state", "{}")));
    writer.start();
    assertThat(stuck.writing.await(10, TimeUnit.SECONDS)).isTrue();

    // The writer is stuck on the first frame; the queue takes BACKLOG more, the next one drops.
    for (int i = 0; i < EventStreams.BACKLOG + 5; i++) {
      streams.broadcast(EventStreams.frame("events", "[" + i + "]"));
    }

    assertThat(drops).containsExactly(StreamDrops.Stream.DASHBOARD);
    assertThat(client.closed()).isTrue();
    assertThat(streams.size()).isZero();
    writer.join(TimeUnit.SECONDS.toMillis(10));
    assertThat(writer.isAlive()).as("the stuck writer was interrupted").isFalse();
  }

  @Test
  void serve_writesTheFirstFrame_thenWhatIsBroadcast_untilClosed() throws Exception {
    EventStreams.Client client = streams.open(ANYONE);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    streams.broadcast(EventStreams.frame("snapshot", "{\"a\":1}"));
    Thread writer = new Thread(() -> client.serve(out, EventStreams.frame("state", "{}")));
    writer.start();
    streams.broadcast(EventStreams.frame("events", "[]"));

    // Closing wakes the writer, which has written what was queued before it noticed.
    awaitWritten(out, "event: events");
    client.close();
    writer.join(TimeUnit.SECONDS.toMillis(10));

    assertThat(writer.isAlive()).isFalse();
    assertThat(out.toString(StandardCharsets.UTF_8))
        .isEqualTo(
            """
            event: state
            data: {}

            event: snapshot
            data: {"a":1}

            event: events
            data: []

            """);
    assertThat(drops).isEmpty();
  }

  private static void awaitWritten(ByteArrayOutputStream out, String text) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!out.toString(StandardCharsets.UTF_8).contains(text)) {
      assertThat(System.nanoTime()).as("'%s' written within 10 s", text).isLessThan(deadline);
      Thread.onSpinWait();
    }
  }

  @Test
  void open_beyondTheBound_isRefused503_untilOneCloses() {
    EventStreams.Client first = streams.open(ANYONE);
    streams.open(ANYONE);

    assertThatThrownBy(() -> streams.open(ANYONE))
        .isInstanceOf(WebError.class)
        .satisfies(e -> assertThat(((WebError) e).status()).isEqualTo(503))
        .hasMessageContaining("dashboard.max_streams");

    first.close();
    assertThat(streams.open(ANYONE).closed()).isFalse();
  }

  @Test
  void tokensReplaced_streamsWhoseTokenNoLongerHoldsEnd_othersGoOn() {
    dev.berth.server.security.TokenRegistry before =
        dev.berth.server.security.TokenRegistry.of(
            List.of(entry("alice", "token-a"), entry("bob", "token-b")));
    WebAccess access = new WebAccess(before, false);
    EventStreams.Client alice =
        streams.open(
            new WebAccess.Grant(
                "alice", true, dev.berth.server.security.TokenRegistry.hash("token-a")));
    EventStreams.Client bob =
        streams.open(
            new WebAccess.Grant(
                "bob", true, dev.berth.server.security.TokenRegistry.hash("token-b")));

    access.replace(dev.berth.server.security.TokenRegistry.of(List.of(entry("bob", "token-b"))));
    streams.closeUnless(access::stillHolds);

    assertThat(alice.closed()).isTrue();
    assertThat(bob.closed()).isFalse();
  }

  private static dev.berth.server.security.TokenRegistry.Entry entry(String who, String token) {
    return new dev.berth.server.security.TokenRegistry.Entry(
        who,
        java.util.Set.of(dev.berth.server.security.Role.ADMIN),
        dev.berth.server.security.TokenRegistry.hash(token));
  }
}
