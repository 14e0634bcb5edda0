package dev.berth.bench.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class EpisodesTest {
  @Test
  void from_nonePressureInsideRun_oneEpisodeWithPeak() {
    long[] t = {0, 10, 20, 30, 40, 50};
    int[] l = {1, 2, 1, 3, 2, 1};
    assertThat(Episodes.from(t, l, 25)).containsExactly(new Episodes.Episode(10, 40, 3));
  }

  @Test
  void from_gapLongerThanMerge_twoEpisodes() {
    long[] t = {0, 100, 200};
    int[] l = {2, 1, 2};
    List<Episodes.Episode> e = Episodes.from(t, l, 50);
    assertThat(e).hasSize(2);
    assertThat(e.get(0).seconds()).isZero();
  }

  @Test
  void from_noPressure_none() {
    assertThat(Episodes.from(new long[] {0, 1}, new int[] {1, 1}, 10)).isEmpty();
  }

  @Test
  void from_decreasingTimes_throwsNamingIndex() {
    assertThatThrownBy(() -> Episodes.from(new long[] {5, 1}, new int[] {2, 2}, 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("index 1");
  }
}
