package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.jobs.JobsConfig;
import org.junit.jupiter.api.Test;

class JobsTest {
  @Test
  void firstHeardOf_anUnconfiguredName_trueOnceUntilTheJobsChange() {
    Jobs jobs = new Jobs(JobsConfig.newBuilder().weight("crawl", 2).build());

    assertThat(jobs.resolve("crawl2").name()).isEqualTo(JobsConfig.DEFAULT_JOB);
    assertThat(jobs.firstHeardOf("crawl2")).isTrue();
    assertThat(jobs.firstHeardOf("crawl2")).isFalse();
    assertThat(jobs.firstHeardOf("crawl3")).isTrue();

    jobs.update(JobsConfig.newBuilder().weight("crawl", 3).build(), 0);

    assertThat(jobs.firstHeardOf("crawl2")).isTrue();
  }

  @Test
  void firstHeardOf_remembersABoundedNumberOfNames_thenSaysNoMore() {
    Jobs jobs = new Jobs(JobsConfig.defaults());
    for (int i = 0; i < 1000; i++) {
      assertThat(jobs.firstHeardOf("job-" + i)).isTrue();
    }

    assertThat(jobs.firstHeardOf("one-more")).isFalse();
    assertThat(jobs.firstHeardOf("job-1")).isFalse();
  }
}
