package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class NettyLeakSamplingTest {
  private static final List<String> KEYS =
      List.of(
          "io.netty.leakDetection.level",
          "io.netty.leakDetection.samplingInterval",
          "org.apache.ratis.thirdparty.io.netty.leakDetection.level",
          "org.apache.ratis.thirdparty.io.netty.leakDetection.samplingInterval");

  private final Map<String, String> saved = new HashMap<>();

  @BeforeEach
  void clear() {
    for (String k : KEYS) {
      saved.put(k, System.getProperty(k));
      System.clearProperty(k);
    }
  }

  @AfterEach
  void restore() {
    saved.forEach(
        (k, v) -> {
          if (v == null) {
            System.clearProperty(k);
          } else {
            System.setProperty(k, v);
          }
        });
  }

  @Test
  void configure_nothingSet_samplesOneBufferIn4096_inBothCopiesOfNetty() {
    NettyLeakSampling.configure();

    assertThat(System.getProperty("io.netty.leakDetection.samplingInterval")).isEqualTo("4096");
    assertThat(
            System.getProperty(
                "org.apache.ratis.thirdparty.io.netty.leakDetection.samplingInterval"))
        .isEqualTo("4096");
    assertThat(System.getProperty("io.netty.leakDetection.level"))
        .as("the level is Netty's")
        .isNull();
  }

  @Test
  void configure_operatorSetTheLevelOrTheInterval_leavesThatCopyAlone() {
    System.setProperty("io.netty.leakDetection.level", "paranoid");
    System.setProperty("org.apache.ratis.thirdparty.io.netty.leakDetection.samplingInterval", "16");

    NettyLeakSampling.configure();

    assertThat(System.getProperty("io.netty.leakDetection.samplingInterval")).isNull();
    assertThat(System.getProperty("io.netty.leakDetection.level")).isEqualTo("paranoid");
    assertThat(
            System.getProperty(
                "org.apache.ratis.thirdparty.io.netty.leakDetection.samplingInterval"))
        .isEqualTo("16");
  }
}
