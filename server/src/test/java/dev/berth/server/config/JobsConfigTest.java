package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.jobs.JobSettings;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.settings.ConfigException;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The {@code jobs.<name>.*} keys from every source, their rules, and their round trip. */
class JobsConfigTest extends ConfigFileTest {
  private static JobsConfig jobs(BerthConfig config) {
    return config.policy().jobs();
  }

  @Test
  void load_nothingGiven_onlyAPlainDefaultJob() {
    JobsConfig jobs = jobs(load(null));

    assertThat(jobs.jobs().keySet()).containsExactly(JobsConfig.DEFAULT_JOB);
    assertThat(jobs.isDefault()).isTrue();
    assertThat(jobs.resolve("anything").name()).isEqualTo(JobsConfig.DEFAULT_JOB);
  }

  @Test
  void load_jobsInYaml_becomeWeightsMinsMaxesAndHostRules() throws IOException {
    Path f =
        file(
            """
            jobs:
              urgent: {weight: 4, min: {render: 2}}
              recrawl:
                max: {render: 6, pdf: 1}
              partner:
                hosts: {"*.partner.example": {rate: 10, burst: 20}}
            """);

    JobsConfig jobs = jobs(load(f));

    JobSettings urgent = jobs.get("urgent");
    assertThat(urgent.weight()).isEqualTo(4);
    assertThat(urgent.min(ResourceKind.RENDER)).isEqualTo(2);
    assertThat(urgent.max(ResourceKind.RENDER)).isZero();
    assertThat(jobs.get("recrawl").weight()).isEqualTo(1);
    assertThat(jobs.get("recrawl").max(ResourceKind.RENDER)).isEqualTo(6);
    assertThat(jobs.get("recrawl").max(ResourceKind.PDF)).isEqualTo(1);
    assertThat(jobs.get("partner").hostRates()).isNotNull();
    assertThat(jobs.resolve("urgent")).isSameAs(urgent);
    assertThat(jobs.resolve("nobody").name()).isEqualTo(JobsConfig.DEFAULT_JOB);
  }

  @Test
  void load_jobFieldByFieldFromFlagsAndEnv_mergeIntoOneJob() {
    env.put("BERTH_JOBS", "{bulk: {weight: 2}}");

    JobsConfig jobs =
        jobs(
            load(
                null,
                new Flag("--jobs.urgent.weight", "5"),
                new Flag("--jobs.urgent.min.pdf", "1")));

    assertThat(jobs.get("urgent").weight()).isEqualTo(5);
    assertThat(jobs.get("urgent").min(ResourceKind.PDF)).isEqualTo(1);
  }

  /**
   * A job's min or max map given whole from a flag is YAML flow text, as the jobs map and a job's
   * hosts are; it was refused with "must be a map ... like {render: 2}, got '{render: 2}'".
   */
  @Test
  void load_jobMinAndMaxMapsAsFlowTextFromFlags_parsed() {
    JobsConfig jobs =
        jobs(
            load(
                null,
                new Flag("--jobs.urgent.min", "{render: 2, pdf: 1}"),
                new Flag("--jobs.bulk.max", "{render: 3, pdf: 1}")));

    assertThat(jobs.get("urgent").min(ResourceKind.RENDER)).isEqualTo(2);
    assertThat(jobs.get("urgent").min(ResourceKind.PDF)).isEqualTo(1);
    assertThat(jobs.get("bulk").max(ResourceKind.RENDER)).isEqualTo(3);
    assertThat(jobs.get("bulk").max(ResourceKind.PDF)).isEqualTo(1);
  }

  @Test
  void load_jobMinNotAMap_namesTheKeyAndShowsTheValue() {
    assertThatThrownBy(() -> load(null, new Flag("--jobs.urgent.min", "2")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith(
            "jobs.urgent.min: must be a map of kind to a count, like {render: 2}, got '2'");
  }

  @Test
  void load_weightOutOfRange_namesTheKey() throws IOException {
    Path f = file("jobs:\n  urgent: {weight: 0}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("jobs.urgent.weight: must be 1..1000, got 0");
  }

  @Test
  void load_unknownKind_namesTheKey() throws IOException {
    Path f = file("jobs:\n  urgent: {max: {gpu: 2}}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("jobs.urgent")
        .hasMessageContaining("gpu");
  }

  @Test
  void load_negativeMax_namesTheKey() throws IOException {
    Path f = file("jobs:\n  urgent: {max: {render: -1}}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("jobs.urgent.max.render");
  }

  @Test
  void load_minsAbovePoolLimit_namesTheMinKeyAndThePool() throws IOException {
    Path f =
        file(
            """
            pools: {pdf: {limit: 2}}
            jobs:
              a: {min: {pdf: 1}}
              b: {min: {pdf: 2}}
            """);

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("jobs.b.min.pdf")
        .hasMessageContaining("pools.pdf.limit 2");
  }

  @Test
  void load_minAboveMax_namesTheMinKey() throws IOException {
    Path f = file("jobs:\n  a: {min: {render: 3}, max: {render: 2}}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("jobs.a.min.render");
  }

  @Test
  void load_badJobName_namesTheRule() throws IOException {
    Path f = file("jobs:\n  Urgent: {weight: 2}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("lower-case");
  }

  @Test
  void toYaml_jobs_readBackAsTheSameConfig() throws IOException {
    BerthConfig config =
        load(
            file(
                """
                jobs:
                  urgent: {weight: 4, min: {render: 2}, max: {pdf: 1}}
                  partner: {hosts: {a.example: {rate: 3, burst: 5}}}
                """));

    BerthConfig again = load(file(config.toYaml()));

    assertThat(jobs(again)).isEqualTo(jobs(config));
  }
}
