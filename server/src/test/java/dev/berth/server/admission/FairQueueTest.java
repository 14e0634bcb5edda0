package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FairQueueTest {
  private static final long DEADLINE = 1_000;

  private final Jobs jobs =
      new Jobs(
          JobsConfig.newBuilder()
              .weight("a", 1)
              .weight("b", 3)
              .job("c")
              .min("c", ResourceKind.PDF, 1)
              .build());
  private final FairQueue queue = new FairQueue(ResourceKind.PDF);
  private long seq;

  private Waiter<Decision> waiter(String job, int priority) {
    AcquireSpec spec = AcquireSpec.validate("s1", ResourceKind.PDF, "", "", null, "", priority, 0);
    return new Waiter<>(
        spec, "p", jobs.resolve(job), seq++, DEADLINE, new RecordingAcquireCallback());
  }

  private static List<Long> seqs(List<Waiter<?>> waiters) {
    List<Long> out = new ArrayList<>();
    waiters.forEach(w -> out.add(w.seq()));
    return out;
  }

  /** Serves the queue as the broker's pump does while every grant succeeds; the jobs served. */
  private List<String> serve(int grants) {
    List<String> served = new ArrayList<>();
    for (int i = 0; i < grants && !queue.isEmpty(); i++) {
      long pass = i;
      FairQueue.Lane lane = queue.next(pass);
      Iterator<Waiter<?>> cursor = queue.cursor(lane, pass);
      Waiter<?> w = cursor.next();
      queue.removeCurrent(lane, cursor);
      queue.charge(w.job(), true);
      w.job().leaseGranted(ResourceKind.PDF);
      queue.endPass(pass);
      served.add(w.job().name());
    }
    return served;
  }

  /**
   * One pass of the pump in which {@code blockedJob}'s waiter cannot be granted (say, its host has
   * no token), so it is passed over and the next lane is served; the job served.
   */
  private String servePassingOver(String blockedJob, long pass) {
    FairQueue.Lane lane = queue.next(pass);
    if (lane.job().name().equals(blockedJob)) {
      queue.cursor(lane, pass).next();
      queue.exhausted(lane, pass);
      lane = queue.next(pass);
    }
    Iterator<Waiter<?>> cursor = queue.cursor(lane, pass);
    Waiter<?> w = cursor.next();
    queue.removeCurrent(lane, cursor);
    queue.charge(w.job(), true);
    queue.endPass(pass);
    return w.job().name();
  }

  @Test
  void waiters_oneJobMixedPriorities_higherFirstThenFifo() {
    queue.add(waiter("a", 1));
    queue.add(waiter("a", 3));
    queue.add(waiter("a", 1));
    queue.add(waiter("a", 9));
    queue.add(waiter("a", 3));
    queue.add(waiter("a", 0));

    assertThat(seqs(queue.waiters())).containsExactly(3L, 1L, 4L, 0L, 2L, 5L);
    assertThat(queue.size()).isEqualTo(6);
    assertThat(jobs.resolve("a").waiting(ResourceKind.PDF)).isEqualTo(6);
  }

  @Test
  void remove_middleWaiter_keepsOrderOfTheRestAndCounts() {
    Waiter<Decision> a = waiter("a", 0);
    Waiter<Decision> b = waiter("a", 0);
    Waiter<Decision> c = waiter("b", 0);
    queue.add(a);
    queue.add(b);
    queue.add(c);

    assertThat(queue.remove(b)).isTrue();
    assertThat(queue.remove(b)).isFalse();
    assertThat(seqs(queue.waiters())).containsExactly(0L, 2L);
    assertThat(queue.size()).isEqualTo(2);
    assertThat(jobs.resolve("a").waiting(ResourceKind.PDF)).isEqualTo(1);
  }

  @Test
  void next_twoBackloggedJobsWeighted1To3_servedOneToThree() {
    for (int i = 0; i < 40; i++) {
      queue.add(waiter("a", 0));
      queue.add(waiter("b", 0));
    }

    List<String> served = serve(40);

    assertThat(served.stream().filter("a"::equals).count()).isEqualTo(10);
    assertThat(served.stream().filter("b"::equals).count()).isEqualTo(30);
    // Interleaved, not in runs: every window of four grants has one of a's and three of b's.
    for (int i = 0; i + 4 <= served.size(); i++) {
      assertThat(served.subList(i, i + 4)).containsOnlyOnce("a");
    }
  }

  @Test
  void remove_waitersTimeOutAndAskAgain_jobsKeepTheirVirtualTimesAndShares() {
    List<Waiter<Decision>> bs = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      queue.add(waiter("a", 0));
      Waiter<Decision> b = waiter("b", 0);
      bs.add(b);
      queue.add(b);
    }
    serve(8);
    long tagA = jobs.resolve("a").tag(ResourceKind.PDF);
    long tagB = jobs.resolve("b").tag(ResourceKind.PDF);

    // Ten of b's waiters time out (their worker asks again at once, at the back of b's lane) and
    // ten of a's leave for good: a timed-out wait is no grant, so no one is charged or credited.
    for (Waiter<Decision> b : bs.subList(20, 30)) {
      assertThat(queue.remove(b)).isTrue();
      queue.add(waiter("b", 0));
    }
    for (Waiter<?> a :
        queue.waiters().stream().filter(w -> w.job().name().equals("a")).toList().subList(0, 10)) {
      queue.remove(a);
    }

    assertThat(jobs.resolve("a").tag(ResourceKind.PDF)).isEqualTo(tagA);
    assertThat(jobs.resolve("b").tag(ResourceKind.PDF)).isEqualTo(tagB);
    List<String> served = serve(20);
    assertThat(served.stream().filter("a"::equals).count()).isEqualTo(5);
  }

  @Test
  void next_priorityInOneJob_doesNotJumpAheadOfAnotherJob() {
    queue.add(waiter("a", 9));
    queue.add(waiter("a", 9));
    queue.add(waiter("b", 0));
    queue.add(waiter("b", 0));
    jobs.resolve("a").tag(ResourceKind.PDF, 0);

    List<String> served = serve(4);

    // b's weight (3) wins it three grants of four however high a's priorities are.
    assertThat(served.subList(0, 3)).containsOnly("b", "a");
    assertThat(served.stream().filter("b"::equals).count()).isEqualTo(2);
    assertThat(served.stream().filter("a"::equals).count()).isEqualTo(2);
  }

  @Test
  void next_jobBelowItsMin_servedFirstWhateverItsVirtualTime() {
    Job c = jobs.resolve("c");
    c.tag(ResourceKind.PDF, FairQueue.STRIDE * 100);
    queue.add(waiter("a", 0));
    queue.add(waiter("c", 0));
    queue.add(waiter("c", 0));

    List<String> served = serve(3);

    assertThat(served.get(0)).isEqualTo("c");
    // At its min it competes by virtual time again, where it is far behind.
    assertThat(served.get(1)).isEqualTo("a");
  }

  @Test
  void add_jobBackFromIdle_getsNoCreditForItsIdleTime() {
    for (int i = 0; i < 20; i++) {
      queue.add(waiter("a", 0));
    }
    serve(10); // a alone for a while: the queue's virtual time moves on
    for (int i = 0; i < 20; i++) {
      queue.add(waiter("b", 0));
    }

    List<String> served = serve(8);

    // b starts level with a, so it gets its weight's share (3 of 4), not every grant.
    assertThat(served.stream().filter("a"::equals).count()).isEqualTo(2);
  }

  @Test
  void endPass_jobPassedOverMany_keepsItsPlaceButAtMostLagBehind() {
    queue.add(waiter("a", 0));
    for (int i = 0; i < 10; i++) {
      queue.add(waiter("b", 0));
    }
    Map<String, Integer> count = new HashMap<>();
    for (long pass = 0; pass < 8; pass++) {
      count.merge(servePassingOver("a", pass), 1, Integer::sum);
    }

    assertThat(count).containsEntry("b", 8);
    // b's 8 grants moved the queue's virtual time past the lag: a saved up no more than the lag.
    assertThat(queue.virtualTime()).isGreaterThan(FairQueue.LAG);
    assertThat(jobs.resolve("a").tag(ResourceKind.PDF))
        .isEqualTo(queue.virtualTime() - FairQueue.LAG);
  }

  @Test
  void refile_jobsThatWereWaiting_keepTheirPlace_aNewcomerStartsLevel() {
    queue.add(waiter("a", 0));
    for (int i = 0; i < 10; i++) {
      queue.add(waiter("b", 0));
    }
    // a's only waiter cannot be granted for two passes: b is served, a keeps its place.
    servePassingOver("a", 0);
    servePassingOver("a", 1);
    long aTag = jobs.resolve("a").tag(ResourceKind.PDF);
    assertThat(aTag).isLessThan(queue.virtualTime());
    Waiter<Decision> newcomer = waiter("default", 0); // c would come first: it is below its min
    List<Waiter<?>> all = new ArrayList<>(queue.waiters());
    all.add(newcomer);
    jobs.resetCounts();

    queue.refile(all); // as after a reload that changed some other job

    assertThat(jobs.resolve("a").tag(ResourceKind.PDF)).isEqualTo(aTag);
    assertThat(jobs.resolve("default").tag(ResourceKind.PDF)).isEqualTo(queue.virtualTime());
    assertThat(queue.size()).isEqualTo(all.size());
    assertThat(queue.next(2).job().name()).isEqualTo("a");
  }

  @Test
  void endPass_jobPassedOverOnce_keepsItsTurnForTheNextGrant() {
    queue.add(waiter("a", 0));
    queue.add(waiter("a", 0));
    for (int i = 0; i < 10; i++) {
      queue.add(waiter("b", 0));
    }
    // Pass 0: a comes first (earlier head) but cannot be served; b gets the grant.
    FairQueue.Lane lane = queue.next(0);
    assertThat(lane.job().name()).isEqualTo("a");
    queue.cursor(lane, 0).next();
    queue.exhausted(lane, 0);
    lane = queue.next(0);
    Iterator<Waiter<?>> cursor = queue.cursor(lane, 0);
    Waiter<?> w = cursor.next();
    queue.removeCurrent(lane, cursor);
    queue.charge(w.job(), true);
    queue.endPass(0);

    // Pass 1: a can be served again and is first, its place kept (b paid for its grant).
    assertThat(queue.next(1).job().name()).isEqualTo("a");
  }

  @Test
  void chargeArrival_grantsTakenWithoutQueuing_countInTheJobsShare() {
    for (int i = 0; i < 20; i++) {
      queue.add(waiter("b", 0));
    }
    // b's waiters are held back (say, by their host) while a's acquires are granted on arrival.
    for (int i = 0; i < 6; i++) {
      queue.chargeArrival(jobs.resolve("a"), true);
    }
    for (int i = 0; i < 20; i++) {
      queue.add(waiter("a", 0));
    }

    List<String> served = serve(8);

    // a already had 6 grants of weight 1: b (weight 3) is served until it caught up.
    assertThat(served).containsOnly("b");
  }

  @Test
  void isDead_atExactlyItsDeadline_isTrue() {
    Waiter<Decision> w = waiter("a", 0);

    assertThat(w.isDead(DEADLINE - 1)).isFalse();
    assertThat(w.isDead(DEADLINE)).isTrue();
  }

  @Test
  void isDead_everyCallerGone_isTrue() {
    RecordingAcquireCallback caller = new RecordingAcquireCallback();
    AcquireSpec spec = AcquireSpec.validate("s1", ResourceKind.PDF, "", "", null, "", 0, 0);
    Waiter<Decision> w = new Waiter<>(spec, "p", jobs.resolve("a"), 0, DEADLINE, caller);

    w.detach(caller);

    assertThat(w.isDead(0)).isTrue();
  }

  @Test
  void complete_calledTwice_returnsCallersOnlyOnce() {
    Waiter<Decision> w = waiter("a", 0);
    w.attach(new RecordingAcquireCallback());

    assertThat(w.complete()).hasSize(2);
    assertThat(w.complete()).isEmpty();
    assertThat(w.isDone()).isTrue();
    assertThat(w.isDead(0)).isTrue();
  }
}
