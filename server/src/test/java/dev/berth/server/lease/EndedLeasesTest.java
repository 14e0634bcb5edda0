package dev.berth.server.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.HashMap;
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

  /** Forgotten ends let their strings go with their chunk: memory stays bounded by the capacity. */
  @Test
  void add_pastCapacity_forgottenEndsLetTheirStringsGoChunkByChunk() {
    EndedLeases ended = new EndedLeases(20_000); // chunks of 8,192 ends

    for (int i = 0; i < 100_000; i++) {
      ended.add("lease-" + i, "s" + i, LeaseEnd.RELEASED, null, i);
      if (i % 997 == 0 || i % 8_192 == 0 || i % 8_192 == 8_191) {
        // Two strings per remembered end, plus those of the forgotten part of the oldest chunk.
        assertThat(ended.heldStrings()).isBetween(2 * ended.size(), 2 * (ended.size() + 8_191));
      }
    }
    ended.forgetBefore(Long.MAX_VALUE);

    assertThat(ended.size()).isZero();
    assertThat(ended.heldStrings()).isLessThan(2 * 8_192);
  }

  /** Above 16 chunks' worth the chunks grow: many ends, each chunk reused twice over. */
  @Test
  void add_largeCapacity_remembersExactlyTheLastCapacityEnds() {
    int capacity = 200_000;
    EndedLeases ended = new EndedLeases(capacity);

    for (int i = 0; i < 3 * capacity; i++) {
      ended.add(ownForm(i), "s", LeaseEnd.RELEASED, null, i);
    }

    assertThat(ended.size()).isEqualTo(capacity);
    assertThat(ended.get(ownForm(2 * capacity - 1))).isNull();
    for (int i = 2 * capacity; i < 3 * capacity; i += 997) {
      assertThat(ended.get(ownForm(i)).endedAtNanos()).isEqualTo(i);
    }
    assertThat(ended.get(ownForm(3 * capacity - 1)).endedAtNanos()).isEqualTo(3 * capacity - 1);
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
    assertThat(ended.size()).isEqualTo(32 * 16); // the all-zero id took 32 places
  }

  /**
   * Ids with the same hash ("Aa" and "BB" share {@code String.hashCode}) land on the same index
   * entry with the same tag: only their slots' columns tell them apart.
   */
  @Test
  void get_idsWithTheSameHash_keepEachItsOwn() {
    EndedLeases ended = new EndedLeases(10);
    assertThat("Aa".hashCode()).isEqualTo("BB".hashCode());
    ended.add("Aa", "s1", LeaseEnd.RELEASED, null, 1);
    ended.add("BB", "s2", LeaseEnd.REVOKED, RevokeReason.ADMIN, 2);
    ended.add("Aa", "s1", LeaseEnd.MAX_HOLD, null, 3);

    assertThat(ended.get("Aa")).isEqualTo(new LeaseTable.Ended("s1", LeaseEnd.MAX_HOLD, null, 3));
    assertThat(ended.get("BB"))
        .isEqualTo(new LeaseTable.Ended("s2", LeaseEnd.REVOKED, RevokeReason.ADMIN, 2));
    assertThat(ended.get("C#")).isNull(); // the same hash again, never added
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
   * Against a queue of the ends, the oldest leaving past the capacity, in which the newest end of
   * an id answers: the same answers after random ends, repeated ids (within a chunk and across
   * chunks), forgetting by time, chunks reused, ids whose hashes collide ("Aa" and "BB" hash alike,
   * and so does every string made of such pairs), ids in the broker's form (kept as bits) and the
   * same digits in upper case (kept as strings).
   */
  @Test
  void operations_randomSequence_answerAsAQueueOfEnds() {
    String[] pairs = {"Aa", "BB"};
    for (int capacity : new int[] {1, 2, 3, 5, 64, 1_500, 9_000}) {
      Random random = new Random(capacity);
      EndedLeases ended = new EndedLeases(capacity);
      Ends model = new Ends();
      long now = 0;
      for (int step = 0; step < 60_000; step++) {
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
          model.add(id, new LeaseTable.Ended("s" + step, how, reason, now));
          if (model.queue.size() > capacity) {
            model.removeOldest();
          }
        } else if (op < 72) {
          long cutoff = now - random.nextInt(200);
          ended.forgetBefore(cutoff);
          while (!model.queue.isEmpty()
              && model.queue.peekFirst().getValue().endedAtNanos() < cutoff) {
            model.removeOldest();
          }
        } else {
          assertThat(ended.get(id)).as("%s at step %d", id, step).isEqualTo(model.newest.get(id));
        }
        assertThat(ended.size()).isEqualTo(model.queue.size());
      }
      for (Map.Entry<String, LeaseTable.Ended> e : model.queue) {
        assertThat(ended.get(e.getKey())).isEqualTo(model.newest.get(e.getKey()));
      }
    }
  }

  /** The model: the ends in order, and each id's newest. */
  private static final class Ends {
    final ArrayDeque<Map.Entry<String, LeaseTable.Ended>> queue = new ArrayDeque<>();
    final Map<String, LeaseTable.Ended> newest = new HashMap<>();

    void add(String id, LeaseTable.Ended end) {
      queue.addLast(Map.entry(id, end));
      newest.put(id, end);
    }

    /** The oldest end goes; it was its id's newest only if the id has no later end. */
    @SuppressWarnings("ReferenceEquality")
    void removeOldest() {
      Map.Entry<String, LeaseTable.Ended> oldest = queue.removeFirst();
      if (newest.get(oldest.getKey()) == oldest.getValue()) {
        newest.remove(oldest.getKey());
      }
    }
  }
}
