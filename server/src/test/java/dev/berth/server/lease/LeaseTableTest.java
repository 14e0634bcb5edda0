package dev.berth.server.lease;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static dev.berth.server.lease.ResourceKind.WASM;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LeaseTableTest {
  private long token;

  private Lease lease(String id, ResourceKind kind, String session, long expiresAt) {
    return new Lease(id, kind, ++token, session, "", "", "", 10, 0, expiresAt);
  }

  @Test
  void add_leasesOfSeveralKinds_countsEachKindAndSession() {
    LeaseTable table = new LeaseTable(10);
    table.add(lease("r1", RENDER, "s1", 100));
    table.add(lease("r2", RENDER, "s2", 100));
    table.add(lease("p1", PDF, "s1", 100));

    assertThat(table.inUse(RENDER)).isEqualTo(2);
    assertThat(table.inUse(PDF)).isEqualTo(1);
    assertThat(table.inUse(WASM)).isZero();
    assertThat(table.size()).isEqualTo(3);
    assertThat(table.idsOf("s1")).containsExactly("r1", "p1");
    assertThat(table.countOf("s1", RENDER)).isEqualTo(1);
    assertThat(table.firstOf("s1", PDF).id()).isEqualTo("p1");
    assertThat(table.firstOf("s2", PDF)).isNull();
    assertThat(table.all()).hasSize(3);
  }

  @Test
  void idsOf_sessionGoesFromOneLeaseToThreeAndBack_oldestFirstThroughout() {
    LeaseTable table = new LeaseTable(10);
    table.add(lease("a", RENDER, "s1", 100));
    assertThat(table.idsOf("s1")).containsExactly("a");
    table.add(lease("b", PDF, "s1", 100));
    table.add(lease("c", RENDER, "s1", 100));
    assertThat(table.idsOf("s1")).containsExactly("a", "b", "c");
    assertThat(table.countOf("s1", RENDER)).isEqualTo(2);

    table.end("a", LeaseEnd.RELEASED, null, 1);
    assertThat(table.idsOf("s1")).containsExactly("b", "c");
    assertThat(table.firstOf("s1", RENDER).id()).isEqualTo("c");
    table.end("c", LeaseEnd.RELEASED, null, 2);
    table.end("b", LeaseEnd.RELEASED, null, 3);
    assertThat(table.idsOf("s1")).isEmpty();
    assertThat(table.countOf("s1", PDF)).isZero();

    table.add(lease("d", WASM, "s1", 100));
    assertThat(table.idsOf("s1")).containsExactly("d");
    assertThat(table.firstOf("s1", WASM).id()).isEqualTo("d");
    table.end("d", LeaseEnd.RELEASED, null, 4);
    assertThat(table.idsOf("s1")).isEmpty();
    assertThat(table.firstOf("s1", WASM)).isNull();
  }

  @Test
  void add_duplicateId_throws() {
    LeaseTable table = new LeaseTable(10);
    table.add(lease("x", RENDER, "s1", 100));

    assertThatThrownBy(() -> table.add(lease("x", PDF, "s1", 100)))
        .isInstanceOf(IllegalStateException.class);
    assertThat(table.inUse(PDF)).isZero();
  }

  @Test
  void end_liveLease_leavesEveryIndexAndIsRemembered() {
    LeaseTable table = new LeaseTable(10);
    Lease l = lease("r1", RENDER, "s1", 100);
    table.add(l);

    assertThat(table.end("r1", LeaseEnd.REVOKED, RevokeReason.ADMIN, 50)).isEqualTo(l);

    assertThat(table.get("r1")).isNull();
    assertThat(table.inUse(RENDER)).isZero();
    assertThat(table.idsOf("s1")).isEmpty();
    assertThat(table.expiredAt(1_000)).isEmpty();
    assertThat(table.ended("r1"))
        .isEqualTo(new LeaseTable.Ended("s1", LeaseEnd.REVOKED, RevokeReason.ADMIN, 50));
  }

  @Test
  void end_twice_secondChangesNothing() {
    LeaseTable table = new LeaseTable(10);
    table.add(lease("r1", RENDER, "s1", 100));
    table.end("r1", LeaseEnd.RELEASED, null, 50);

    assertThat(table.end("r1", LeaseEnd.MAX_HOLD, RevokeReason.MAX_HOLD, 60)).isNull();

    assertThat(table.ended("r1").end()).isEqualTo(LeaseEnd.RELEASED);
    assertThat(table.inUse(RENDER)).isZero();
  }

  @Test
  void expiredAt_mixedExpiries_returnsOnlyDueLiveLeases() {
    LeaseTable table = new LeaseTable(10);
    table.add(lease("a", RENDER, "s1", 100));
    table.add(lease("b", RENDER, "s1", 200));
    table.add(lease("c", PDF, "s1", 150));
    table.end("c", LeaseEnd.RELEASED, null, 10);

    assertThat(table.expiredAt(99)).isEmpty();
    assertThat(table.expiredAt(150)).extracting(Lease::id).containsExactly("a");
    assertThat(table.expiredAt(1_000)).extracting(Lease::id).containsExactly("b");
  }

  @Test
  void end_manyLeases_keepsExpiryIndexConsistent() {
    LeaseTable table = new LeaseTable(10_000);
    for (int i = 0; i < 500; i++) {
      table.add(lease("l" + i, PDF, "s" + (i % 7), 1_000 + i));
    }
    for (int i = 0; i < 500; i += 2) {
      table.end("l" + i, LeaseEnd.RELEASED, null, 5);
    }

    assertThat(table.inUse(PDF)).isEqualTo(250);
    assertThat(table.expiredAt(10_000))
        .hasSize(250)
        .allMatch(l -> Integer.parseInt(l.id().substring(1)) % 2 == 1);
    assertThat(table.size()).isEqualTo(250);
  }

  @Test
  void end_pastEndedCapacity_forgetsOldestEnded() {
    LeaseTable table = new LeaseTable(2);
    for (String id : new String[] {"a", "b", "c"}) {
      table.add(lease(id, RENDER, "s1", 100));
      table.end(id, LeaseEnd.RELEASED, null, 1);
    }

    assertThat(table.ended("a")).isNull();
    assertThat(table.ended("b")).isNotNull();
    assertThat(table.ended("c")).isNotNull();
  }

  @Test
  void forgetEndedBefore_cutoff_forgetsOnlyOlderEnds() {
    LeaseTable table = new LeaseTable(10);
    table.add(lease("a", RENDER, "s1", 100));
    table.add(lease("b", RENDER, "s1", 100));
    table.end("a", LeaseEnd.RELEASED, null, 10);
    table.end("b", LeaseEnd.RELEASED, null, 20);

    table.forgetEndedBefore(20);

    assertThat(table.ended("a")).isNull();
    assertThat(table.ended("b")).isNotNull();
  }
}
