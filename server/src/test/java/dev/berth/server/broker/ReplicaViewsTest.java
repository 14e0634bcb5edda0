package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A follower's admin lists and status, read from its replica: filters, order and paging as the
 * broker's, and each lease counted for the job its session runs as.
 */
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
    assertThat(
            ReplicaViews.leases(
                fleet(), CRAWL, "", null, "", "", "crawl", LeaseCursor.START, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-1", "l-2");
    assertThat(
            ReplicaViews.leases(
                fleet(), CRAWL, "", null, "", "", "default", LeaseCursor.START, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-3");
    assertThat(
            ReplicaViews.leases(fleet(), CRAWL, "", null, "", "", "p", LeaseCursor.START, 10, time))
        .isEmpty();
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
        ReplicaViews.leases(
            fleet(), JobsConfig.defaults(), "", null, "", "", "", LeaseCursor.START, 10, time);

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
                f,
                JobsConfig.defaults(),
                "",
                ResourceKind.PDF,
                "",
                "",
                "",
                LeaseCursor.START,
                10,
                time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-3");
    assertThat(
            ReplicaViews.leases(
                f,
                JobsConfig.defaults(),
                "",
                null,
                "b.example",
                "",
                "",
                LeaseCursor.START,
                10,
                time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-2", "l-3");
    assertThat(
            ReplicaViews.leases(
                f, JobsConfig.defaults(), "", null, "", "s-b", "", LeaseCursor.START, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-1", "l-2");
    assertThat(
            ReplicaViews.leases(
                f, JobsConfig.defaults(), "w-1", null, "", "", "", LeaseCursor.START, 10, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-3");
    assertThat(
            ReplicaViews.leases(
                f, JobsConfig.defaults(), "", null, "", "", "", new LeaseCursor(10, null), 1, time))
        .extracting(i -> i.lease().id())
        .containsExactly("l-2");
  }

  /**
   * A follower's own broker status, as it would be if it had stale figures of its own: {@code
   * default} and {@code crawl} (weight 3, RENDER min 2 scaled to 1 now, max 5) with waits,
   * refusals, a fair share and grants that the replica must not pass on as the leader's.
   */
  private static Views.Status own() {
    List<Views.Pool> pools =
        Stream.of(ResourceKind.values()).map(k -> new Views.Pool(k, 8, 8, 0, 4, "")).toList();
    return new Views.Status(
        7,
        0,
        0,
        pools,
        0,
        0,
        false,
        new BrokerCounters.Snapshot(0, Map.of()),
        new Views.Pressure(PressureLevel.NONE, 0, 0, ""),
        0,
        List.of(),
        List.of(
            new Views.Job(
                "default",
                1,
                9,
                9,
                List.of(
                    new Views.JobKind(ResourceKind.RENDER, 0, 9, 0, 0, 0, 0, 0.5, 9),
                    new Views.JobKind(ResourceKind.PDF, 0, 9, 0, 0, 0, 0, 0.5, 9))),
            new Views.Job(
                "crawl",
                3,
                9,
                9,
                List.of(
                    new Views.JobKind(ResourceKind.RENDER, 0, 9, 2, 1, 5, 0, 0.5, 9),
                    new Views.JobKind(ResourceKind.PDF, 0, 9, 0, 0, 0, 0, 0.5, 9)))));
  }

  @Test
  void status_eachJobHoldsTheLeasesOfTheSessionsRunningAsIt_theLeadersFiguresUnset() {
    Fleet f = fleet();
    // s-a (runs as default) also holds a RENDER lease: RENDER has 3 in use, 2 of them crawl's.
    Fleet fleet =
        new Fleet(
            f.sessions(),
            Stream.concat(
                    f.leases().stream(),
                    Stream.of(lease("l-4", "s-a", ResourceKind.RENDER, 40, "c.example", 0)))
                .toList(),
            List.of());

    Views.Status status = ReplicaViews.status(fleet, CRAWL, own());

    assertThat(status.jobs()).extracting(Views.Job::name).containsExactly("default", "crawl");
    assertThat(status.jobs())
        .allSatisfy(
            j -> {
              assertThat(j.waiting()).as("waits are the leader's").isZero();
              assertThat(j.refusals()).as("refusals are the leader's").isZero();
            });
    Views.Job crawl = status.jobs().get(1);
    assertThat(crawl.weight()).isEqualTo(3);
    // The min that applies now is the leader's: it reads as the configured 2, not this node's 1.
    assertThat(crawl.kinds())
        .containsExactly(
            new Views.JobKind(ResourceKind.RENDER, 2, 0, 2, 2, 5, 2.0 / 3, 0, 0),
            new Views.JobKind(ResourceKind.PDF, 0, 0, 0, 0, 0, 0, 0, 0));
    assertThat(status.jobs().get(0).kinds())
        .containsExactly(
            new Views.JobKind(ResourceKind.RENDER, 1, 0, 0, 0, 0, 1.0 / 3, 0, 0),
            new Views.JobKind(ResourceKind.PDF, 1, 0, 0, 0, 0, 1, 0, 0));
    assertThat(status.pools()).extracting(Views.Pool::inUse).containsExactly(3, 1, 0);
  }
}
