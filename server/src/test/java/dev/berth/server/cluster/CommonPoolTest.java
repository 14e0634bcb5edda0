package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class CommonPoolTest {
  @Test
  void parallelismFor_twoCoresOrFewer_two_otherwiseLeftAlone() {
    assertThat(CommonPool.parallelismFor(null, 1)).isEqualTo("2");
    assertThat(CommonPool.parallelismFor(null, 2)).isEqualTo("2");
    assertThat(CommonPool.parallelismFor(null, 3)).isNull();
    assertThat(CommonPool.parallelismFor("1", 2)).as("the operator's setting stands").isNull();
    assertThat(CommonPool.parallelismFor("8", 1)).isNull();
  }

  /**
   * In a fresh JVM that sees two processors: an async stage without an executor gets a thread of
   * its own unless {@link CommonPool#configure} ran first, and then runs on the common pool.
   */
  @Test
  void configure_onATwoCoreJvm_asyncStagesRunOnThePoolNotOnAThreadEach() throws Exception {
    assertThat(probe(false)).as("the JDK's own behaviour").startsWith("false Thread-");
    assertThat(probe(true)).startsWith("true ForkJoinPool.commonPool-worker-");
  }

  private static String probe(boolean configure) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-XX:ActiveProcessorCount=2");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(Probe.class.getName());
    command.add(Boolean.toString(configure));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    return out;
  }

  /** Prints whether the pool is in use and the thread an async stage ran on. */
  static final class Probe {
    private Probe() {}

    public static void main(String[] args) throws Exception {
      boolean pooled = Boolean.parseBoolean(args[0]) && CommonPool.configure();
      String thread = CompletableFuture.supplyAsync(() -> Thread.currentThread().getName()).get();
      System.out.println(pooled + " " + thread);
    }
  }
}
