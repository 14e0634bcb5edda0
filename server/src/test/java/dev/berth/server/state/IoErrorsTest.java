package dev.berth.server.state;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IoErrorsTest {
  @TempDir Path dir;

  private static String failure(IoAction action) {
    try {
      action.run();
    } catch (IOException e) {
      return IoErrors.describe(e);
    }
    throw new AssertionError("no IOException");
  }

  private interface IoAction {
    void run() throws IOException;
  }

  @Test
  void describe_saysWhatWentWrong_notOnlyThePath() throws IOException {
    Path file = Files.writeString(dir.resolve("file"), "x");
    Path locked = Files.createDirectory(dir.resolve("locked"));
    Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-x------"));

    assertThat(failure(() -> Files.readString(dir.resolve("missing"))))
        .isEqualTo(dir.resolve("missing") + ": no such file or directory");
    assertThat(failure(() -> Files.createDirectory(file))).isEqualTo(file + ": already exists");
    assertThat(
            failure(
                () -> {
                  try (var entries = Files.newDirectoryStream(file)) {
                    var unused = entries.iterator();
                  }
                }))
        .isEqualTo(file + ": not a directory");
    if (!"root".equals(System.getProperty("user.name"))) {
      assertThat(failure(() -> Files.writeString(locked.resolve("x"), "y")))
          .isEqualTo(locked.resolve("x") + ": permission denied");
    }
    assertThat(IoErrors.describe(new IOException("disk on fire"))).isEqualTo("disk on fire");
  }
}
