package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link LockTiming}'s bookkeeping, called directly: whether the broker calls it depends on a
 * property read once per JVM, so these tests record as {@link BrokerState} would. A site is the
 * class of a lambda written in the test, as the broker's sites are the classes of its commands'
 * lambdas; a site is named once, by the method that first records it.
 */
class LockTimingTest {
  @BeforeEach
  @AfterEach
  void clear() {
    LockTiming.reset();
  }

  @Test
  void record_twoSitesAndOutcomes_oneRowEachNamedByCallerAndOutcome() {
    Runnable siteA = () -> {};
    for (int i = 1; i <= 100; i++) {
      LockTiming.outcome(LockTiming.Outcome.GRANTED);
      LockTiming.record(siteA.getClass(), 10, i * 1_000L);
    }
    LockTiming.outcome(LockTiming.Outcome.REFUSED);
    LockTiming.record(siteA.getClass(), 5, 700);
    Runnable siteB = () -> {};
    recordFromAnotherMethod(siteB);

    List<LockTiming.Row> rows = LockTiming.rows();

    String caller = "LockTimingTest.record_twoSitesAndOutcomes_oneRowEachNamedByCallerAndOutcome";
    assertThat(rows)
        .extracting(LockTiming.Row::command)
        .containsExactly(
            caller + " granted", "LockTimingTest.recordFromAnotherMethod", caller + " refused");
    LockTiming.Row granted = rows.get(0);
    assertThat(granted.count()).isEqualTo(100);
    assertThat(granted.holdTotal()).isEqualTo(5_050_000L);
    assertThat(granted.holdMean()).isEqualTo(50_500.0);
    assertThat(granted.holdP50()).isBetween(49_500L, 50_500L); // within 1 %
    assertThat(granted.holdP99()).isBetween(98_000L, 100_000L);
    assertThat(granted.holdMax()).isBetween(99_000L, 101_000L);
    assertThat(granted.waitTotal()).isEqualTo(1_000L);
    assertThat(rows.get(2).holdTotal()).isEqualTo(700);
  }

  @Test
  void record_afterAnOutcome_nextRecordOfTheThreadHasNone() {
    Runnable siteA = () -> {};
    LockTiming.outcome(LockTiming.Outcome.QUEUED);
    LockTiming.record(siteA.getClass(), 0, 100);
    LockTiming.record(siteA.getClass(), 0, 100);

    assertThat(LockTiming.rows())
        .extracting(LockTiming.Row::command)
        .containsExactlyInAnyOrder(
            "LockTimingTest.record_afterAnOutcome_nextRecordOfTheThreadHasNone queued",
            "LockTimingTest.record_afterAnOutcome_nextRecordOfTheThreadHasNone");
  }

  @Test
  void rows_threads_mergedIntoOneRowPerCommand() throws InterruptedException {
    Runnable siteB = () -> {};
    Thread other = new Thread(() -> LockTiming.record(siteB.getClass(), 0, 300));
    other.start();
    other.join();
    LockTiming.record(siteB.getClass(), 0, 100); // named by the thread that first recorded it

    List<LockTiming.Row> rows = LockTiming.rows();

    assertThat(rows).hasSize(1);
    assertThat(rows.get(0).count()).isEqualTo(2);
    assertThat(rows.get(0).holdTotal()).isEqualTo(400);
  }

  @Test
  void reset_afterRecords_forgetsThemAndStartsANewWindow() {
    Runnable siteA = () -> {};
    LockTiming.record(siteA.getClass(), 0, 100);
    long windowBefore = LockTiming.rows().get(0).windowNanos();

    LockTiming.reset();
    LockTiming.record(siteA.getClass(), 0, 50);

    List<LockTiming.Row> rows = LockTiming.rows();
    assertThat(rows).hasSize(1);
    assertThat(rows.get(0).count()).isEqualTo(1);
    assertThat(rows.get(0).windowNanos()).isPositive();
    assertThat(windowBefore).isPositive();
  }

  @Test
  void report_aRecord_oneTabSeparatedLineUnderTheHeader() {
    Runnable siteA = () -> {};
    LockTiming.record(siteA.getClass(), 100, 200); // exact: below 256, a histogram bucket each

    List<String> lines = LockTiming.report().lines().toList();

    assertThat(lines).hasSize(2);
    assertThat(lines.get(0)).startsWith("command\tcount\thold_p50_ns");
    assertThat(lines.get(1))
        .startsWith(
            "LockTimingTest.report_aRecord_oneTabSeparatedLineUnderTheHeader\t1\t200\t200\t200\t200\t100\t100\t100\t100\t");
  }

  private static void recordFromAnotherMethod(Runnable siteB) {
    LockTiming.record(siteB.getClass(), 0, 50_000);
  }
}
