package dev.berth.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class EndedLeasesTest {

  @Test
  void add_pastCapacity_forgetsOldestFirstAndStaysBounded() {
    EndedLeases ended = new EndedLeases(5_000);

    for (int i = 0; i < 20_000; i++) {
      ended.add("lease-" + i, "s" + (i % 7), LeaseEnd.RELEASED, null, i);
      assertThat(ended.size()).isEqualTo(Math.min(i + 1, 5_000));
    }

    assertThat(ended.get("lease-14999")).isNull();
    for (int i = 15_000; i < 20_000; i++) {
      assertThat(ended.get("lease-" + i))
          .isEqualTo(new LeaseTable.Ended("s" + (i % 7), LeaseEnd.RELEASED, null, i));
    }
  }

  @Test
  void get_sameIdAskedTwice_answersTheSame() {
    EndedLeases ended = new EndedLeases(10);
    ended.add("r1", "s1", LeaseEnd.REVOKED, RevokeReason.ADMIN, 50);

    assertThat(ended.get("r1")).isEqualTo(ended.get("r1"));
    assertThat(ended.get("r1"))
        .isEqualTo(new LeaseTable.Ended("s1", LeaseEnd.REVOKED, RevokeReason.ADMIN, 50));
    assertThat(ended.get("r2")).isNull();
  }

  @Test
  void forgetBefore_cutoff_forgetsOnlyOlderEnds() {
    EndedLeases ended = new EndedLeases(10);
    ended.add("a", "s", LeaseEnd.RELEASED, null, 10);
    ended.add("b", "s", LeaseEnd.MAX_HOLD, null, 20);
    ended.add("c", "s", LeaseEnd.RELEASED, null, 30);

    ended.forgetBefore(20);

    assertThat(ended.get("a")).isNull();
    assertThat(ended.get("b")).isNotNull();
    assertThat(ended.get("c")).isNotNull();
    assertThat(ended.size()).isEqualTo(2);
    ended.forgetBefore(Long.MAX_VALUE);
    assertThat(ended.size()).isZero();
    assertThat(ended.get("c")).isNull();
  }

  @Test
  void constructor_capacityBelowOne_throws() {
    assertThatThrownBy(() -> new EndedLeases(0)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Against the map it replaced (an insertion-ordered map evicting its eldest past the capacity):
   * the same answers after random ends, repeated ids, forgetting by time, and ids whose hashes
   * collide ("Aa" and "BB" hash alike, and so does every string made of such pairs).
   */
  @Test
  void operations_randomSequence_answerAsTheInsertionOrderedMap() {
    String[] pairs = {"Aa", "BB"};
    for (int capacity : new int[] {1, 3, 64, 1_500}) {
      Random random = new Random(capacity);
      EndedLeases ended = new EndedLeases(capacity);
      LinkedHashMap<String, LeaseTable.Ended> model = new LinkedHashMap<>();
      long now = 0;
      for (int step = 0; step < 30_000; step++) {
        String id =
            random.nextBoolean()
                ? pairs[random.nextInt(2)] + pairs[random.nextInt(2)] + pairs[random.nextInt(2)]
                : "lease-" + random.nextInt(4_000);
        int op = random.nextInt(100);
        if (op < 70) {
          now += random.nextInt(3);
          LeaseEnd how = random.nextBoolean() ? LeaseEnd.RELEASED : LeaseEnd.REVOKED;
          RevokeReason reason = how == LeaseEnd.REVOKED ? RevokeReason.ADMIN : null;
          ended.add(id, "s" + step, how, reason, now);
          model.put(id, new LeaseTable.Ended("s" + step, how, reason, now));
          if (model.size() > capacity) {
            Iterator<String> eldest = model.keySet().iterator();
            eldest.next();
            eldest.remove();
          }
        } else if (op < 72) {
          long cutoff = now - random.nextInt(200);
          ended.forgetBefore(cutoff);
          Iterator<LeaseTable.Ended> it = model.values().iterator();
          while (it.hasNext() && it.next().endedAtNanos() < cutoff) {
            it.remove();
          }
        } else {
          assertThat(ended.get(id)).as("%s at step %d", id, step).isEqualTo(model.get(id));
        }
        assertThat(ended.size()).isEqualTo(model.size());
      }
      for (Map.Entry<String, LeaseTable.Ended> e : model.entrySet()) {
        assertThat(ended.get(e.getKey())).isEqualTo(e.getValue());
      }
    }
  }
}
