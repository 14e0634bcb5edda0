package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A follower's admin lists, read from its replica: filters, order and paging as the broker's. */
class ReplicaViewsTest {
  /** The jobs in force: {@code crawl} is configured, so a session asking for it runs as it. */
  private static final JobsConfig CRAWL = JobsConfig.newBuilder().job("crawl").build();

  private final FakeTimeSource time = new FakeTimeSource();

  private Fleet fleet() {
    long now = time.wallTime().toEpochMilli();
    return new Fleet(
        List.of(
            new Fleet.SessionEntry(
                "s-b", "w-2", "p", Map.of("zone", "b"), 512, "crawl", now - 60_000),
            new Fleet.SessionEntry("s-a", "w-1", "p", Map.of(), 0, "p", now - 5_000)),
        List.of(
            lease("l-3", "s-a", ResourceKind.PDF, 30, "b.example", now - 2_000),
            lease("l-1", "s-b", ResourceKind.RENDER, 10, "a.example", now - 4_000),
            lease("l-2", "s-b", ResourceKind.RENDER, 20, "b.example", now - 3_000)),
        List.of());
  }

  private static Fleet.LeaseEntry lease(
      String id, String session, ResourceKind kind, long token, String host, long grantedAtMs) {
    return new Fleet.LeaseEntry(
        id, session, kind, token, host, "", "", 0, Fleet.Asked.NONE, grantedAtMs, 60_000);
  }

  @Test
  void sessions_inIdOrder_withTheirLeaseCounts_heartbeatUnknown_notConnected() {
    time.advance(Duration.ofHours(1));
    long nowNanos = time.nanoTime();

    List<Views.Session> all = ReplicaViews.sessions(fleet(), CRAWL, "", "", 10, time);

    assertThat(all).extracting(Views.Session::id).containsExactly("s-a", "s-b");
    Views.Session b = all.get(1);
    assertThat(b.workerId()).isEqualTo("w-2");
    assertThat(b.labels()).containsEntry("zone", "b");
    assertThat(b.leases()).isEqualTo(2);
    assertThat(b.memoryLimitMb()).isEqualTo(512);
    assertThat(b.job()).isEqualTo("crawl");
    assertThat(b.connected()).isFalse();
    assertThat(b.lastSeenNanos()).isEqualTo(Views.Session.UNKNOWN);
    assertThat(nowNanos - b.openedAtNanos()).isEqualTo(Duration.ofMinutes(1).toNanos());
  }

  @Test
  void sessions_showTheJobEachRunsAs_asTheLeaderResolvesTheJobItAskedFor() {
    // s-b asked for crawl; s-a named no job, so asked for its principal's name, p.
    List<Views.Session> configured = ReplicaViews.sessions(fleet(), CRAWL, "", "", 10, time);
    List<Views.Session> plain =
        ReplicaViews.sessions(fleet(), JobsConfig.defaults(), "", "", 10, time);

    assertThat(configured).extracting(Views.Session::job).containsExactly("default", "crawl");
    assertThat(plain).extracting(Views.Session::job).containsExactly("default", "default");
  }

  @Test
  void leases_filteredByTheJobTheirSessionRunsAs() {
    assertThat(ReplicaViews.leases(fleet(), CRAWL, "", null, "", "", "crawl", 0, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-1", "l-2");
    assertThat(ReplicaViews.leases(fleet(), CRAWL, "", null, "", "", "default", 0, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-3");
    assertThat(ReplicaViews.leases(fleet(), CRAWL, "", null, "", "", "p", 0, 10, time)).isEmpty();
  }

  @Test
  void sessions_filteredByWorker_andPagedAfterAnId() {
    assertThat(ReplicaViews.sessions(fleet(), CRAWL, "w-2", "", 10, time))
        .extracting(Views.Session::id)
        .containsExactly("s-b");
    assertThat(ReplicaViews.sessions(fleet(), CRAWL, "", "s-a", 10, time))
        .extracting(Views.Session::id)
        .containsExactly("s-b");
    assertThat(ReplicaViews.sessions(fleet(), CRAWL, "", "", 1, time))
        .extracting(Views.Session::id)
        .containsExactly("s-a");
  }

  @Test
  void leases_inTokenOrder_withTheirWorker_andTimesOnThisClock() {
    time.advance(Duration.ofHours(1));
    long nowNanos = time.nanoTime();

    List<Views.LeaseInfo> all =
        ReplicaViews.leases(fleet(), JobsConfig.defaults(), "", null, "", "", "", 0, 10, time);

    assertThat(all).extracting(i -> i.lease().id()).containsExactly("l-1", "l-2", "l-3");
    assertThat(all).extracting(Views.LeaseInfo::workerId).containsExactly("w-2", "w-2", "w-1");
    Views.LeaseInfo first = all.get(0);
    assertThat(nowNanos - first.lease().grantedAtNanos())
        .isEqualTo(Duration.ofSeconds(4).toNanos());
    assertThat(first.lease().expiresAtNanos() - first.lease().grantedAtNanos())
        .isEqualTo(Duration.ofMinutes(1).toNanos());
  }

  @Test
  void leases_filteredByKindHostSessionWorker_andPagedAfterAToken() {
    Fleet f = fleet();
    assertThat(
            ReplicaViews.leases(
                f, JobsConfig.defaults(), "", ResourceKind.PDF, "", "", "", 0, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-3");
    assertThat(
            ReplicaViews.leases(
                f, JobsConfig.defaults(), "", null, "b.example", "", "", 0, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-2", "l-3");
    assertThat(ReplicaViews.leases(f, JobsConfig.defaults(), "", null, "", "s-b", "", 0, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-1", "l-2");
    assertThat(ReplicaViews.leases(f, JobsConfig.defaults(), "w-1", null, "", "", "", 0, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-3");
    assertThat(ReplicaViews.leases(f, JobsConfig.defaults(), "", null, "", "", "", 10, 1, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-2");
  }
}
