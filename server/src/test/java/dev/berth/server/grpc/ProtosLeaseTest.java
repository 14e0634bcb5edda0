package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Timestamp;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.time.TimeSource;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ProtosLeaseTest {
  /** A wall clock that moves a millisecond on every read, as a real one moves between reads. */
  private static final class TickingWall implements TimeSource {
    private Instant wall = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public long nanoTime() {
      return 5_000_000_000L;
    }

    @Override
    public Instant wallTime() {
      wall = wall.plusMillis(1);
      return wall;
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
      throw new UnsupportedOperationException();
    }

    @Override
    public Cancellable scheduleAtFixedRate(Runnable task, long periodNanos) {
      throw new UnsupportedOperationException();
    }
  }

  private static long nanos(Timestamp t) {
    return t.getSeconds() * 1_000_000_000L + t.getNanos();
  }

  @Test
  void lease_expiresExactlyItsMaxHoldAfterItsGrant_evenWhileTheWallClockMoves() {
    long maxHold = Duration.ofSeconds(90).toNanos() + 7;
    Lease lease =
        new Lease(
            "id",
            ResourceKind.RENDER,
            1,
            "s",
            "example.com",
            "",
            "",
            512,
            4_000_000_000L,
            4_000_000_000L + maxHold);

    dev.berth.proto.v1.Lease wire = new Protos(new TickingWall()).lease(lease);

    assertThat(nanos(wire.getExpiresAt()) - nanos(wire.getGrantedAt())).isEqualTo(maxHold);
    // a second before the monotonic "now", on the wall clock as read once for this lease
    assertThat(
            Instant.ofEpochSecond(wire.getGrantedAt().getSeconds(), wire.getGrantedAt().getNanos()))
        .isEqualTo(Instant.parse("2025-12-31T23:59:59.001Z"));
  }
}
