package dev.berth.server.state;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EpochStoreTest {
  @TempDir Path dir;

  @Test
  void open_newDirectory_startsAtZeroAndCreatesIt() {
    Path state = dir.resolve("a/b/state");

    try (EpochStore store = EpochStore.open(state)) {
      assertThat(store.current()).isZero();
    }
    assertThat(state).isDirectory();
  }

  @Test
  void advance_persistsSoReopenedStoreReadsIt() throws Exception {
    try (EpochStore store = EpochStore.open(dir)) {
      assertThat(store.advance()).isEqualTo(1);
      assertThat(store.advance()).isEqualTo(2);
      assertThat(store.current()).isEqualTo(2);
    }
    assertThat(Files.readString(dir.resolve("epoch")).trim()).isEqualTo("2");
    assertThat(dir.resolve("epoch.tmp")).doesNotExist();

    try (EpochStore reopened = EpochStore.open(dir)) {
      assertThat(reopened.current()).isEqualTo(2);
      assertThat(reopened.advance()).isEqualTo(3);
    }
  }

  @Test
  void advance_thatCannotBeWritten_saysWhyAndKeepsTheEpoch() throws Exception {
    try (EpochStore store = EpochStore.open(dir)) {
      store.advance();
      // The temporary file cannot be created: a stand-in for a full disk, which a test cannot make.
      Files.createDirectories(dir.resolve("epoch.tmp").resolve("x"));

      assertThatThrownBy(store::advance)
          .isInstanceOf(java.io.UncheckedIOException.class)
          .hasMessageStartingWith(
              "cannot persist epoch 2 in " + dir + ": " + dir.resolve("epoch.tmp"))
          .hasMessageContaining("directory");
      assertThat(store.current()).isEqualTo(1);
    }
    assertThat(Files.readString(dir.resolve("epoch")).trim()).isEqualTo("1");
  }

  @Test
  void open_closedStoreDirectory_canBeOpenedAgain() {
    EpochStore.open(dir).close();

    try (EpochStore again = EpochStore.open(dir)) {
      assertThat(again.current()).isZero();
    }
  }

  @Test
  void open_directoryLockedByOpenStore_throwsStateException() {
    try (EpochStore first = EpochStore.open(dir)) {
      assertThatThrownBy(() -> EpochStore.open(dir))
          .isInstanceOf(StateException.class)
          .hasMessageContaining(dir.toString())
          .hasMessageContaining("in use");
      assertThat(first.advance()).isEqualTo(1);
    }
  }

  @Test
  void open_directoryLockedByOpenStore_failsAndLeavesFirstStoreWorking() {
    try (EpochStore first = EpochStore.open(dir)) {
      assertThatThrownBy(() -> EpochStore.open(dir)).isInstanceOf(RuntimeException.class);
      assertThat(first.advance()).isEqualTo(1);
    }
  }

  @Test
  void open_corruptEpochFile_throwsStateExceptionNamingTheFile() throws Exception {
    Path epoch = dir.resolve("epoch");
    Files.writeString(epoch, "seven\n", StandardCharsets.US_ASCII);

    assertThatThrownBy(() -> EpochStore.open(dir))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(epoch.toString())
        .hasMessageContaining("seven");
  }

  @Test
  void open_negativeEpoch_throwsStateExceptionNamingTheFile() throws Exception {
    Path epoch = dir.resolve("epoch");
    Files.writeString(epoch, "-4", StandardCharsets.US_ASCII);

    assertThatThrownBy(() -> EpochStore.open(dir))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(epoch.toString());
  }

  @Test
  void open_afterCorruptEpochFileRepaired_succeeds() throws Exception {
    Path epoch = dir.resolve("epoch");
    Files.writeString(epoch, "garbage", StandardCharsets.US_ASCII);
    assertThatThrownBy(() -> EpochStore.open(dir)).isInstanceOf(StateException.class);

    Files.writeString(epoch, "5\n", StandardCharsets.US_ASCII);

    try (EpochStore store = EpochStore.open(dir)) {
      assertThat(store.current()).isEqualTo(5);
    }
  }

  @Test
  void open_pathIsAFile_throwsStateExceptionNamingIt() throws Exception {
    Path file = Files.writeString(dir.resolve("not-a-dir"), "x");

    assertThatThrownBy(() -> EpochStore.open(file))
        .isInstanceOf(StateException.class)
        .hasMessageContaining(file.toString());
  }
}
