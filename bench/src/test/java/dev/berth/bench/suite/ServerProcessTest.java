package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ServerProcessTest {

  /** A generator started with a relative class path still starts servers that find its classes. */
  @Test
  void absoluteClassPath_makesRelativeEntriesAbsoluteAndKeepsAbsoluteOnes() {
    String cwd = Path.of("").toAbsolutePath().toString();

    assertThat(ServerProcess.absoluteClassPath("bench/target/berth-bench.jar:/opt/lib/x.jar"))
        .isEqualTo(cwd + "/bench/target/berth-bench.jar:/opt/lib/x.jar");
  }
}
