package dev.berth.server.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.time.FakeTimeSource;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DashboardFeedTest {
  private final FakeTimeSource time = new FakeTimeSource();
  private final DashboardFeed feed = new DashboardFeed(time);

  private static Lease lease(String id) {
    return new Lease(id, ResourceKind.PDF, 7, "s1", "a.example", "", "", 64, 0, 1_000);
  }

  @Test
  void events_numberedInOrder_withTheLeasesFieldsAndTheirDetailsInWords() {
    feed.granted(lease("L1"), "w1");
    feed.ended(
        lease("L1"),
        LeaseEnd.REVOKED,
        RevokeReason.ADMIN,
        new Outcome(false, 0, 500, 0, "boom"),
        "default");
    feed.sessionEnded("s1", "w1", true);

    List<DashboardFeed.Event> events = feed.since(0);
    assertThat(events).extracting(DashboardFeed.Event::seq).containsExactly(1L, 2L, 3L);
    assertThat(events)
        .extracting(DashboardFeed.Event::type)
        .containsExactly("granted", "revoked", "session_expired");
    assertThat(events.get(0).kind()).isEqualTo("pdf");
    assertThat(events.get(0).detail()).isEmpty();
    assertThat(events.get(1).detail()).isEqualTo("revoked (admin): boom");
    assertThat(events.get(2).kind()).isEmpty();
    assertThat(feed.since(2)).hasSize(1);
  }

  @Test
  void readmittedLease_itsOwnType_notAGrant() {
    feed.readmitted(lease("L1"), "w1", "default");

    assertThat(feed.since(0)).extracting(DashboardFeed.Event::type).containsExactly("readmitted");
  }

  @Test
  void refusal_detailWrittenWhenRead_notWhenTold() {
    AtomicInteger written = new AtomicInteger();
    Decision.Refused refusal =
        Decision.Refused.deferred(
            RefusalReason.RATE_LIMITED,
            1_000,
            () -> {
              written.incrementAndGet();
              return "host a.example: no token for 2 s";
            },
            "rate_limit.default_rate");
    AcquireSpec spec =
        new AcquireSpec(
            "s1", ResourceKind.RENDER, "https://a.example/", "a.example", "", 0, "", 0, 0);

    feed.refused(spec, refusal, "default");

    assertThat(written).hasValue(0);
    assertThat(feed.since(0).get(0).detail())
        .isEqualTo("rate_limited render a.example: host a.example: no token for 2 s");
    assertThat(written).hasValue(1);
  }
}
