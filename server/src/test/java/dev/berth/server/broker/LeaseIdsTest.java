package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LeaseIdsTest {
  @Test
  void secure_fourThreads_distinct32HexDigitIds() throws InterruptedException {
    LeaseIds ids = LeaseIds.secure();
    Set<String> seen = java.util.Collections.synchronizedSet(new HashSet<>());
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread thread =
          new Thread(
              () -> {
                for (int i = 0; i < 1000; i++) {
                  seen.add(ids.next());
                }
              });
      threads.add(thread);
      thread.start();
    }
    for (Thread thread : threads) {
      thread.join();
    }
    assertThat(seen).hasSize(4000).allMatch(id -> id.matches("[0-9a-f]{32}"));
  }

  @Test
  void secure_idsOverSeveralKeystreamChunks_bitsBalanced() {
    LeaseIds ids = LeaseIds.secure();
    long ones = 0;
    int count = 2000; // about eight chunks of the keystream
    for (int i = 0; i < count; i++) {
      String id = ids.next();
      ones +=
          Long.bitCount(Long.parseUnsignedLong(id.substring(0, 16), 16))
              + Long.bitCount(Long.parseUnsignedLong(id.substring(16), 16));
    }
    // 256,000 bits: a fair source lands within 4,000 (16 standard deviations) of half.
    assertThat(ones).isBetween(128L * count / 2 - 4000, 128L * count / 2 + 4000);
  }

  @Test
  void secure_twoSources_differentIds() {
    assertThat(LeaseIds.secure().next()).isNotEqualTo(LeaseIds.secure().next());
  }

  @Test
  void seeded_sameSeed_sameIds() {
    LeaseIds a = LeaseIds.seeded(7);
    LeaseIds b = LeaseIds.seeded(7);
    assertThat(List.of(a.next(), a.next())).isEqualTo(List.of(b.next(), b.next()));
  }
}
