package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** The rule that scales the jobs' mins to a pool's effective limit, and where it is kept. */
class ScaledMinsTest {
  @Test
  void scale_atTheConfiguredLimit_minsUnchanged() {
    assertThat(ScaledMins.scale(new int[] {4, 0, 3}, 8, 8)).containsExactly(4, 0, 3);
  }

  @Test
  void scale_degradedBelowTheSumOfMins_sameShareOfThePoolLeftForJobsWithoutMin() {
    // 4 + 3 of 8 promised, 1 shared; at 4: 2 + 1.5 -> 2 + 1, and 1 still shared.
    int[] scaled = ScaledMins.scale(new int[] {4, 0, 3}, 4, 8);

    assertThat(scaled).containsExactly(2, 0, 1);
  }

  @Test
  void scale_fractionsLeaveSlots_largestFractionsGetThemAndTheTotalIsItsFloor() {
    // Exact shares 0.9, 1.8, 0.3, 0: 0 + 1 + 0 rounded down, and the 2 slots left of the 3 go to
    // the largest fractions, 0.9 and 0.8.
    assertThat(ScaledMins.scale(new int[] {3, 6, 1, 0}, 3, 10)).containsExactly(1, 2, 0, 0);
    // 2.5 + 1.5 = 4: the fractions tie, and the job configured first gets the slot left.
    assertThat(ScaledMins.scale(new int[] {5, 3}, 4, 8)).containsExactly(3, 1);
    // 0.6 + 0.6 + 0.6 + 0.6 + 0.6 = 3: three of the five get one.
    assertThat(ScaledMins.scale(new int[] {1, 1, 1, 1, 1}, 3, 5)).containsExactly(1, 1, 1, 0, 0);
  }

  @Test
  void scale_anyDegradedLimit_guaranteesAddUpToAtMostTheEffectiveLimitAndNoneAboveItsMin() {
    int[] mins = {5, 2, 0, 1};
    for (int effective = 0; effective <= 8; effective++) {
      int[] scaled = ScaledMins.scale(mins, effective, 8);

      assertThat(Arrays.stream(scaled).sum())
          .as("at %d", effective)
          .isEqualTo(8 * effective / 8)
          .isLessThanOrEqualTo(effective);
      for (int j = 0; j < mins.length; j++) {
        assertThat(scaled[j]).as("job %d at %d", j, effective).isBetween(0, mins[j]);
      }
    }
  }

  @Test
  void scale_minsAboveTheConfiguredLimit_scaledToTheEffectiveOneByTheirSum() {
    // Never configured so (the mins may not sum above the limit), but never more than the pool.
    assertThat(ScaledMins.scale(new int[] {3, 3}, 4, 4)).containsExactly(2, 2);
  }

  @Test
  void scale_emptyOrNoMinOrZeroPool_nothingGuaranteed() {
    assertThat(ScaledMins.scale(new int[0], 2, 8)).isEmpty();
    assertThat(ScaledMins.scale(new int[] {0, 0}, 2, 8)).containsExactly(0, 0);
    assertThat(ScaledMins.scale(new int[] {0}, 0, 0)).containsExactly(0);
  }

  @Test
  void guarantee_degradedThenRecovered_jobsBelowMinFollowTheLimit() {
    Jobs jobs = new Jobs(JobsConfig.newBuilder().min("urgent", ResourceKind.RENDER, 4).build());
    Job urgent = jobs.resolve("urgent");
    urgent.leaseGranted(ResourceKind.RENDER);
    urgent.leaseGranted(ResourceKind.RENDER);
    assertThat(urgent.belowMin(ResourceKind.RENDER)).isTrue();

    jobs.guarantee(ResourceKind.RENDER, 4, 8);
    assertThat(urgent.guaranteedMin(ResourceKind.RENDER)).isEqualTo(2);
    assertThat(urgent.belowMin(ResourceKind.RENDER)).isFalse();
    assertThat(urgent.guaranteedMin(ResourceKind.PDF)).isZero();

    jobs.guarantee(ResourceKind.RENDER, 8, 8);
    assertThat(urgent.guaranteedMin(ResourceKind.RENDER)).isEqualTo(4);
    assertThat(urgent.belowMin(ResourceKind.RENDER)).isTrue();
  }

  @Test
  void guarantee_jobsReconfiguredAtTheSameLimits_scaledAgain() {
    Jobs jobs = new Jobs(JobsConfig.newBuilder().min("urgent", ResourceKind.RENDER, 4).build());
    jobs.guarantee(ResourceKind.RENDER, 4, 8);

    jobs.update(JobsConfig.newBuilder().min("urgent", ResourceKind.RENDER, 6).build(), 0);
    jobs.guarantee(ResourceKind.RENDER, 4, 8);

    assertThat(jobs.resolve("urgent").guaranteedMin(ResourceKind.RENDER)).isEqualTo(3);
  }
}
