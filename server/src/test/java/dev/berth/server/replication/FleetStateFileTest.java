package dev.berth.server.replication;

import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.broker.Fleet;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A lone broker's fleet-state file: written whole, taken once by the next run, and refused (kept
 * aside, ignored) when stale or unreadable.
 */
class FleetStateFileTest {
  @TempDir Path dir;

  private static final Fleet FLEET =
      new Fleet(
          List.of(new Fleet.SessionEntry("s-1", "w", "p", Map.of("zone", "a"), 512, "crawl", 1000)),
          List.of(
              new Fleet.LeaseEntry(
                  "l-1",
                  "s-1",
                  RENDER,
                  (5L << 40) + 3,
                  "example.com",
                  "",
                  "",
                  300,
                  new Fleet.Asked("r-1", "https://example.com/a", "", 0, 1),
                  900,
                  60_000)),
          List.of(new Fleet.HostPenalty("slow.example", 429, 30_000, 2_000)));

  @Test
  void take_afterWrite_byTheNextRun_returnsTheStateAndRemovesTheFile() throws Exception {
    FleetStateFile.write(dir, 5, FLEET, 2_000);

    Fleet taken = FleetStateFile.take(dir, 5).orElseThrow();

    assertThat(taken.sessions()).isEqualTo(FLEET.sessions());
    assertThat(taken.leases()).isEqualTo(FLEET.leases());
    assertThat(taken.hosts())
        .containsExactly(new Fleet.HostPenalty("slow.example", 429, 30_000, 2_000));
    assertThat(dir.resolve(FleetStateFile.NAME)).doesNotExist();
    assertThat(FleetStateFile.take(dir, 5)).isEmpty();
  }

  @Test
  void take_aFileOfAnOlderRun_isRefusedKeptAsideAndIgnored() throws Exception {
    FleetStateFile.write(dir, 3, FLEET, 2_000);

    assertThat(FleetStateFile.take(dir, 5)).isEmpty();
    assertThat(dir.resolve(FleetStateFile.NAME)).doesNotExist();
    assertThat(dir.resolve(FleetStateFile.NAME + ".refused")).exists();
  }

  @Test
  void take_aCorruptFile_isRefusedAndIgnored() throws Exception {
    Files.write(dir.resolve(FleetStateFile.NAME), new byte[] {(byte) 0xff, 0x7f, 1, 2, 3});

    assertThat(FleetStateFile.take(dir, 5)).isEmpty();
    assertThat(dir.resolve(FleetStateFile.NAME + ".refused")).exists();
  }

  @Test
  void take_noFile_isEmpty() {
    assertThat(FleetStateFile.take(dir, 1)).isEmpty();
  }
}
