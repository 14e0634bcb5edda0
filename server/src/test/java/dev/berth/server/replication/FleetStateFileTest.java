package dev.berth.server.replication;

import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.broker.Fleet;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.state.StateException;
import java.io.InputStream;
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
  void checkEpoch_aFileOfALaterEpochThanTheEpochFile_refusesNamingBothAndChangesNothing()
      throws Exception {
    FleetStateFile.write(dir, 7, FLEET, 2_000);
    byte[] before = Files.readAllBytes(dir.resolve(FleetStateFile.NAME));

    assertThatThrownBy(() -> FleetStateFile.checkEpoch(dir, 3))
        .isInstanceOf(StateException.class)
        .hasMessageStartingWith(
            dir.resolve(FleetStateFile.NAME)
                + " was written by the run of epoch 7, but "
                + dir.resolve("epoch")
                + " holds 3: the epoch file went back")
        .hasMessageContaining("at least 7, to " + dir.resolve("epoch"));
    assertThatThrownBy(() -> FleetStateFile.checkEpoch(dir, 0))
        .hasMessageContaining(dir.resolve("epoch") + " is missing");
    assertThat(Files.readAllBytes(dir.resolve(FleetStateFile.NAME))).isEqualTo(before);
  }

  @Test
  void checkEpoch_theFileOfThisOrAnEarlierEpoch_orNoneOrADamagedOne_passes() throws Exception {
    FleetStateFile.checkEpoch(dir, 0); // no file
    FleetStateFile.write(dir, 7, FLEET, 2_000);
    FleetStateFile.checkEpoch(dir, 7); // the usual case: the epoch file holds the writer's epoch
    FleetStateFile.checkEpoch(dir, 9); // stale: take() refuses it
    Files.write(dir.resolve(FleetStateFile.NAME), new byte[] {(byte) 0xff, 0x7f, 1, 2, 3});
    FleetStateFile.checkEpoch(dir, 0); // damaged: take() refuses it
  }

  /**
   * A file the daemon of commit 285c020 wrote on SIGTERM (an SDK worker held two RENDER and two PDF
   * leases), as captured from that build: this version resumes it whole.
   */
  @Test
  void take_aFileWrittenByAnEarlierVersion_resumesItsSessionAndLeases() throws Exception {
    try (InputStream in =
        FleetStateFileTest.class.getResourceAsStream("/compat/fleet-state-285c020")) {
      Files.write(dir.resolve(FleetStateFile.NAME), in.readAllBytes());
    }

    Fleet taken = FleetStateFile.take(dir, 1).orElseThrow();

    assertThat(taken.sessions())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.id()).isEqualTo("1a626e1b6fa1e6ae206e4e64dad74af4");
              assertThat(s.workerId()).isEqualTo("holder");
            });
    assertThat(taken.leases())
        .extracting(Fleet.LeaseEntry::fencingToken)
        .containsExactlyInAnyOrder((1L << 40) + 1, (1L << 40) + 2, (1L << 40) + 3, (1L << 40) + 4);
    assertThat(taken.leases())
        .filteredOn(l -> l.kind() == ResourceKind.RENDER)
        .extracting(Fleet.LeaseEntry::host)
        .containsExactlyInAnyOrder("h0.example", "h2.example");
    assertThat(taken.leases())
        .allSatisfy(l -> assertThat(l.sessionId()).isEqualTo("1a626e1b6fa1e6ae206e4e64dad74af4"));
  }

  @Test
  void take_noFile_isEmpty() {
    assertThat(FleetStateFile.take(dir, 1)).isEmpty();
  }
}
