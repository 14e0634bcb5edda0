package dev.berth.server.admission;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.lease.ResourceKind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WaitQueueTest {
  private static final long DEADLINE = 1_000;

  private static Waiter waiter(long seq, int priority) {
    AcquireSpec spec = AcquireSpec.validate("s1", ResourceKind.PDF, "", "", null, "", priority, 0);
    return new Waiter(spec, seq, DEADLINE, new RecordingAcquireCallback());
  }

  private static List<Long> seqs(WaitQueue queue) {
    List<Long> out = new ArrayList<>();
    queue.forEach(w -> out.add(w.seq()));
    return out;
  }

  @Test
  void iterator_mixedPriorities_higherFirstThenFifo() {
    WaitQueue queue = new WaitQueue();
    queue.add(waiter(0, 1));
    queue.add(waiter(1, 3));
    queue.add(waiter(2, 1));
    queue.add(waiter(3, 9));
    queue.add(waiter(4, 3));
    queue.add(waiter(5, 0));

    assertThat(seqs(queue)).containsExactly(3L, 1L, 4L, 0L, 2L, 5L);
  }

  @Test
  void remove_middleWaiter_keepsOrderOfTheRest() {
    WaitQueue queue = new WaitQueue();
    Waiter a = waiter(0, 0);
    Waiter b = waiter(1, 0);
    Waiter c = waiter(2, 0);
    queue.add(a);
    queue.add(b);
    queue.add(c);

    assertThat(queue.remove(b)).isTrue();
    assertThat(queue.remove(b)).isFalse();
    assertThat(seqs(queue)).containsExactly(0L, 2L);
  }

  @Test
  void purgeDead_pastDeadlineOrAbandoned_removesOnlyThose() {
    WaitQueue queue = new WaitQueue();
    RecordingAcquireCallback caller = new RecordingAcquireCallback();
    AcquireSpec spec = AcquireSpec.validate("s1", ResourceKind.PDF, "", "", null, "", 0, 0);
    Waiter soon = new Waiter(spec, 0, 10, caller);
    Waiter abandoned = new Waiter(spec, 1, DEADLINE, caller);
    abandoned.detach(caller);
    Waiter live = new Waiter(spec, 2, DEADLINE, caller);
    queue.add(soon);
    queue.add(abandoned);
    queue.add(live);

    assertThat(queue.purgeDead(10)).isEqualTo(2);
    assertThat(seqs(queue)).containsExactly(2L);
  }

  @Test
  void isDead_atExactlyItsDeadline_isTrue() {
    Waiter w = waiter(0, 0);

    assertThat(w.isDead(DEADLINE - 1)).isFalse();
    assertThat(w.isDead(DEADLINE)).isTrue();
  }

  @Test
  void complete_calledTwice_returnsCallersOnlyOnce() {
    Waiter w = waiter(0, 0);
    w.attach(new RecordingAcquireCallback());

    assertThat(w.complete()).hasSize(2);
    assertThat(w.complete()).isEmpty();
    assertThat(w.isDone()).isTrue();
    assertThat(w.isDead(0)).isTrue();
  }
}
