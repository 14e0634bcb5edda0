package dev.berth.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Locale;
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
  void get_idInTheBrokersForm_findsOnlyThoseVeryDigits() {
    EndedLeases ended = new EndedLeases(10);
    String id = "0123456789abcdef" + "fedcba9876543210";
    ended.add(id, "s1", LeaseEnd.SESSION_EXPIRED, null, 7);

    assertThat(EndedLeases.isOwnForm(id)).isTrue();
    assertThat(ended.get(new String(id.toCharArray())))
        .isEqualTo(new LeaseTable.Ended("s1", LeaseEnd.SESSION_EXPIRED, null, 7));
    assertThat(ended.get(id.toUpperCase(Locale.ROOT))).isNull();
    assertThat(ended.get(id.substring(1) + "0")).isNull();
    assertThat(ended.get("1" + id.substring(1))).isNull();
    assertThat(ended.get(id.substring(0, 31) + "1")).isNull();
  }

  /** Every hex digit at every position, the rest zeros: 512 ids whose bits must all differ. */
  @Test
  void get_idsInTheBrokersFormOneDigitApart_keepEachItsOwn() {
    EndedLeases ended = new EndedLeases(1_000);
    String digits = "0123456789abcdef";
    for (int at = 0; at < 32; at++) {
      for (int d = 0; d < 16; d++) {
        ended.add(oneDigit(at, digits.charAt(d)), "s", LeaseEnd.RELEASED, null, at * 16L + d);
      }
    }
    for (int at = 0; at < 32; at++) {
      for (int d = 0; d < 16; d++) {
        // A zero digit anywhere is the all-zero id, which the last add (at 31) took over.
        long expected = d == 0 ? 31 * 16L : at * 16L + d;
        assertThat(ended.get(oneDigit(at, digits.charAt(d))).endedAtNanos())
            .as("digit %s at %d", digits.charAt(d), at)
            .isEqualTo(expected);
      }
    }
    assertThat(ended.size()).isEqualTo(32 * 15 + 1);
  }

  private static String oneDigit(int at, char digit) {
    char[] id = "0".repeat(32).toCharArray();
    id[at] = digit;
    return new String(id);
  }

  @Test
  void isOwnForm_onlyThirtyTwoLowerCaseHexDigits() {
    assertThat(EndedLeases.isOwnForm("0".repeat(32))).isTrue();
    assertThat(EndedLeases.isOwnForm("f".repeat(32))).isTrue();
    assertThat(EndedLeases.isOwnForm("0".repeat(31))).isFalse();
    assertThat(EndedLeases.isOwnForm("0".repeat(33))).isFalse();
    assertThat(EndedLeases.isOwnForm("0".repeat(31) + "g")).isFalse();
    assertThat(EndedLeases.isOwnForm("0".repeat(31) + "A")).isFalse();
    assertThat(EndedLeases.isOwnForm("0".repeat(31) + "/")).isFalse();
    assertThat(EndedLeases.isOwnForm("0".repeat(31) + ":")).isFalse();
    assertThat(EndedLeases.isOwnForm("0".repeat(31) + "`")).isFalse();
  }

  /** {@code n} as 32 lower-case hex digits, spread over both halves. */
  private static String ownForm(int n) {
    return String.format(Locale.ROOT, "%016x%016x", n * 0x9E3779B97F4A7C15L, (long) n);
  }

  @Test
  void constructor_capacityBelowOne_throws() {
    assertThatThrownBy(() -> new EndedLeases(0)).isInstanceOf(IllegalArgumentException.class);
  }

  /**
   * Against the map it replaced (an insertion-ordered map evicting its eldest past the capacity):
   * the same answers after random ends, repeated ids, forgetting by time, ids whose hashes collide
   * ("Aa" and "BB" hash alike, and so does every string made of such pairs), ids in the broker's
   * form (kept as bits) and the same digits in upper case (kept as strings).
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
            switch (random.nextInt(4)) {
              case 0 ->
                  pairs[random.nextInt(2)] + pairs[random.nextInt(2)] + pairs[random.nextInt(2)];
              case 1 -> "lease-" + random.nextInt(4_000);
              case 2 -> ownForm(random.nextInt(4_000));
              default -> ownForm(random.nextInt(4_000)).toUpperCase(Locale.ROOT);
            };
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
