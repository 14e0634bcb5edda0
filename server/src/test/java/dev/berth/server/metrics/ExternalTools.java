package dev.berth.server.metrics;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.google.common.base.Splitter;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Programs from Debian packages that some tests run (promtool and prometheus from {@code
 * prometheus}). {@code bin/test} installs them; under CI (the {@code CI} environment variable set)
 * a missing one fails the test, on a developer's machine it skips it with a note.
 */
public final class ExternalTools {
  private ExternalTools() {}

  /** The program {@code name} on the PATH; fails (CI) or skips (elsewhere) when there is none. */
  public static Path require(String name, String debianPackage) {
    Optional<Path> found = find(name);
    if (found.isEmpty()) {
      String why =
          name + " is not installed (Debian package " + debianPackage + "; bin/test installs it)";
      if (underCi()) {
        throw new AssertionError(why);
      }
      assumeTrue(false, why + "; skipped");
    }
    return found.get();
  }

  static Optional<Path> find(String name) {
    String path = System.getenv().getOrDefault("PATH", "/usr/bin:/bin");
    for (String dir : Splitter.on(File.pathSeparatorChar).split(path)) {
      Path candidate = Path.of(dir, name);
      if (Files.isExecutable(candidate)) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  static boolean underCi() {
    String ci = System.getenv("CI");
    return ci != null && !ci.isBlank() && !ci.equalsIgnoreCase("false");
  }
}
