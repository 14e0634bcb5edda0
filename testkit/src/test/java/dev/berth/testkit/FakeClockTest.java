package dev.berth.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class FakeClockTest {
  private final FakeClock clock = new FakeClock();
  private final List<String> ran = new ArrayList<>();

  @Test
  void nanoTimeAndWallTime_moveOnlyWhenAdvanced_andTogether() {
    long start = clock.nanoTime();
    Instant wall = clock.wallTime();

    clock.advance(Duration.ofMillis(1500));

    assertThat(start).isEqualTo(FakeClock.START_NANOS);
    assertThat(wall).isEqualTo(FakeClock.WALL_AT_ZERO.plusSeconds(1));
    assertThat(clock.nanoTime() - start).isEqualTo(Duration.ofMillis(1500).toNanos());
    assertThat(clock.wallTime()).isEqualTo(wall.plusMillis(1500));
  }

  @Test
  void advance_runsDueTasksInTimeOrderThenSchedulingOrder_eachAtItsDueTime() {
    List<Long> at = new ArrayList<>();
    long start = clock.nanoTime();
    clock.schedule(() -> record("b", at), 20);
    clock.schedule(() -> record("a", at), 10);
    clock.schedule(() -> record("c", at), 20);
    clock.schedule(() -> record("late", at), 31);

    clock.advance(Duration.ofNanos(30));

    assertThat(ran).containsExactly("a", "b", "c");
    assertThat(at).containsExactly(start + 10, start + 20, start + 20);
    assertThat(clock.nanoTime()).isEqualTo(start + 30);
    assertThat(clock.pendingTasks()).isEqualTo(1);
  }

  @Test
  void scheduleAtFixedRate_runsOncePerPeriodPassed_untilCancelled() {
    FakeClock.Task task = clock.scheduleAtFixedRate(() -> ran.add("tick"), 100);

    clock.advance(Duration.ofNanos(99));
    assertThat(ran).isEmpty();
    clock.advance(Duration.ofNanos(301));
    assertThat(ran).hasSize(4);

    task.cancel();
    clock.advance(Duration.ofNanos(1000));
    assertThat(ran).hasSize(4);
    assertThat(clock.pendingTasks()).isZero();
  }

  @Test
  void cancel_fromInsideItsOwnPeriodicRun_stopsIt() {
    FakeClock.Task[] self = new FakeClock.Task[1];
    self[0] =
        clock.scheduleAtFixedRate(
            () -> {
              ran.add("once");
              self[0].cancel();
            },
            10);

    clock.advance(Duration.ofNanos(100));

    assertThat(ran).containsExactly("once");
  }

  @Test
  void schedule_fromATask_runsInTheSameAdvanceWhenDue() {
    clock.schedule(() -> clock.schedule(() -> ran.add("second"), 5), 5);

    clock.advance(Duration.ofNanos(10));

    assertThat(ran).containsExactly("second");
  }

  @Test
  void advance_negative_throwsAndLeavesTheClock() {
    long before = clock.nanoTime();

    assertThatThrownBy(() -> clock.advance(Duration.ofNanos(-1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("by:");
    assertThat(clock.nanoTime()).isEqualTo(before);
  }

  private void record(String name, List<Long> at) {
    ran.add(name);
    at.add(clock.nanoTime());
  }
}
