package dev.berth.server.eventlog;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.lease.FencingTokens;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EventLogTest {
  @TempDir Path dir;

  private final AtomicLong clock = new AtomicLong(1_000);

  private static Lease lease(String id, String host, long token) {
    return new Lease(id, ResourceKind.RENDER, token, "s 1", host, "", "", 64, 900, 5_000);
  }

  @Test
  void events_writtenOneLineEach_withTimeNodeAndFields() throws Exception {
    Path file = dir.resolve("events.log");
    EventLog events = new EventLog(file, "n1", 3, clock::get, 16);
    events.start();
    long token = FencingTokens.firstTokenOf(3);
    events.sessionOpened("s 1", "worker a", false);
    clock.set(2_000);
    events.granted(lease("L1", "example.com", token), "worker a", "default");
    clock.set(3_000);
    events.ended(
        lease("L1", "example.com", token), LeaseEnd.RELEASED, null, Outcome.UNKNOWN, "default");
    events.leading(7);
    events.readmitted(lease("L2", "", token), "worker a", "default");
    events.sessionEnded("s 1", "worker a", true);
    events.following();
    events.close();

    assertThat(Files.readAllLines(file))
        .containsExactly(
            "t=1000 node=n1 ev=start epoch=3",
            "t=1000 node=n1 ev=session_open session=s_1 worker=worker_a resumed=false",
            "t=2000 node=n1 ev=grant lease=L1 kind=RENDER host=example.com token="
                + token
                + " epoch=3 session=s_1 at=900",
            "t=3000 node=n1 ev=end lease=L1 kind=RENDER host=example.com token="
                + token
                + " how=RELEASED",
            "t=3000 node=n1 ev=lead epoch=7",
            "t=3000 node=n1 ev=readmit lease=L2 kind=RENDER host=- token="
                + token
                + " epoch=7 session=s_1 at=900",
            "t=3000 node=n1 ev=session_end session=s_1 worker=worker_a expired=true",
            "t=3000 node=n1 ev=follow");
    assertThat(events.written()).isEqualTo(8);
    assertThat(events.dropped()).isZero();
  }

  @Test
  void fullQueue_dropsAndCounts_neverBlocks() throws Exception {
    Path file = dir.resolve("events.log");
    EventLog events = new EventLog(file, "single", 1, clock::get, 3); // the start line is one
    for (int i = 0; i < 5; i++) {
      events.sessionOpened("s" + i, "w", false);
    }
    assertThat(events.dropped()).isEqualTo(3);
    events.close();

    List<String> lines = Files.readAllLines(file);
    assertThat(lines).hasSize(3);
    assertThat(lines.get(2)).contains("session=s1");
    assertThat(events.written()).isEqualTo(3);
  }

  @Test
  void close_thenEvents_areDroppedNotWritten() throws Exception {
    Path file = dir.resolve("sub/events.log");
    EventLog events = EventLog.open(file, "n2", 1);
    events.close();
    events.sessionOpened("late", "w", false);

    assertThat(Files.readAllLines(file)).hasSize(1);
    assertThat(events.dropped()).isEqualTo(1);
  }
}
