package dev.berth.server.replication;

import static dev.berth.server.lease.ResourceKind.PDF;
import static dev.berth.server.lease.ResourceKind.RENDER;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Callback;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.session.SessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * For any sequence of broker commands (opens, acquires, releases with and without 429s, goodbyes,
 * time passing past TTLs and max holds) cut into journal batches anywhere, the replica the journal
 * builds holds exactly the leader's sessions and leases (same ids, tokens, kinds, holders) — also
 * after a snapshot and load — and a broker that takes over from it holds them too.
 */
class ReplicatedFleetPropertyTest {

  /** One step: what to do and with which session or lease (an index into those live). */
  record Step(int op, int pick) {}

  @Provide
  Arbitrary<List<Step>> steps() {
    return Arbitraries.integers()
        .between(0, 7)
        .flatMap(op -> Arbitraries.integers().between(0, 50).map(pick -> new Step(op, pick)))
        .list()
        .ofMinSize(1)
        .ofMaxSize(60);
  }

  @Property(tries = 200, edgeCases = EdgeCasesMode.NONE)
  void replica_fromAnyJournalSequence_equalsTheLeadersState(@ForAll("steps") List<Step> steps)
      throws IOException {
    FakeTimeSource time = new FakeTimeSource();
    Policy policy =
        Policy.of(
                BrokerConfig.newBuilder()
                    .sessionTtl(Duration.ofSeconds(10))
                    .limit(RENDER, 6)
                    .limit(PDF, 3)
                    .maxHold(RENDER, Duration.ofSeconds(25))
                    .build())
            .withRateLimit(RateLimitConfig.defaults());
    Broker leader = new Broker(policy, time, 1, () -> 2, LeaseIds.seeded(1), HeapProbe.NONE);
    ReplicaFeed feed = new ReplicaFeed(new ReplicatedFleet(() -> 0, p -> {}));
    leader.journalTo(feed);
    List<String> sessions = new ArrayList<>();
    try {
      for (Step step : steps) {
        run(leader, time, sessions, step);
        if (step.pick() % 3 == 0) {
          feed.flush(); // batch boundaries anywhere
        }
      }
      feed.flush();

      assertSame(feed.replica.fleet(), leader.fleet());

      ByteArrayOutputStream snapshot = new ByteArrayOutputStream();
      feed.replica.writeSnapshot(snapshot);
      ReplicatedFleet loaded = new ReplicatedFleet(() -> 0, p -> {});
      loaded.loadSnapshot(new ByteArrayInputStream(snapshot.toByteArray()));
      assertSame(loaded.fleet(), leader.fleet());

      Broker next = new Broker(policy, time, 2, () -> 3, LeaseIds.seeded(2), HeapProbe.NONE);
      try {
        next.takeOver(5, loaded.fleet(), 2);
        assertThat(leases(next.fleet())).isEqualTo(leases(leader.fleet()));
      } finally {
        next.close();
      }
    } finally {
      leader.close();
    }
  }

  private static void assertSame(Fleet replica, Fleet leader) {
    assertThat(replica.sessions().stream().map(Fleet.SessionEntry::id).collect(Collectors.toSet()))
        .isEqualTo(
            leader.sessions().stream().map(Fleet.SessionEntry::id).collect(Collectors.toSet()));
    assertThat(leases(replica)).isEqualTo(leases(leader));
  }

  private static Set<String> leases(Fleet fleet) {
    return fleet.leases().stream()
        .map(l -> l.id() + "/" + l.fencingToken() + "/" + l.kind() + "/" + l.sessionId())
        .collect(Collectors.toSet());
  }

  private static void run(Broker broker, FakeTimeSource time, List<String> sessions, Step step) {
    try {
      switch (step.op()) {
        case 0, 1 ->
            sessions.add(
                broker
                    .open(HelloSpec.validate("w", Map.of(), 0, "", List.of()), "p", NO_STREAM)
                    .sessionId());
        case 2, 3 -> {
          if (!sessions.isEmpty()) {
            ResourceKind kind = step.pick() % 2 == 0 ? RENDER : PDF;
            String session = sessions.get(step.pick() % sessions.size());
            broker.acquire(
                AcquireSpec.validate(
                    session,
                    kind,
                    "https://h" + step.pick() % 4 + ".example/",
                    "",
                    Duration.ofSeconds(step.pick() % 2),
                    "",
                    0,
                    0),
                "p",
                IGNORE);
          }
        }
        case 4 -> {
          List<Lease> live = broker.leases();
          if (!live.isEmpty()) {
            Lease lease = live.get(step.pick() % live.size());
            int status = step.pick() % 2 == 0 ? 429 : 200;
            broker.release(
                lease.sessionId(),
                lease.id(),
                "p",
                new Outcome(status == 200, 0, status, 1_000_000_000L, ""));
          }
        }
        case 5 -> {
          if (!sessions.isEmpty()) {
            broker.goodbye(sessions.remove(step.pick() % sessions.size()), NO_STREAM);
          }
        }
        default -> {
          time.advance(Duration.ofSeconds(step.pick() % 12));
          broker.sweep();
        }
      }
    } catch (BrokerException refused) {
      // A session that expired or a call the broker refuses changes nothing: fine for the property.
    }
  }

  private static final Callback<Decision> IGNORE =
      new Callback<>() {
        @Override
        public void decided(Decision decision) {}

        @Override
        public void failed(BrokerException error) {}
      };

  private static final SessionChannel NO_STREAM = new RecordingSessionChannel();
}
