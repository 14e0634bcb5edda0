package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.berth.server.admission.AcquireCallback;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.ratelimit.HostRule;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.RandomDistribution;
import net.jqwik.api.Tuple;

/**
 * Random command sequences against a small broker on a fake clock. After every command the lease
 * table's invariants must hold: no pool over its limit, capacity accounting equal to the live
 * leases, unique ids and fencing tokens, tokens increasing with every grant, every acquire answered
 * at most once, and no lease outliving its session.
 */
class BrokerPropertyTest {
  private static final String PRINCIPAL = "anonymous";
  private static final Duration TTL = Duration.ofMillis(1_500);
  private static final Duration SWEEP = Duration.ofMillis(50);
  private static final BrokerConfig CONFIG =
      BrokerConfig.newBuilder()
          .heartbeatInterval(Duration.ofMillis(500))
          .sessionTtl(TTL)
          .sweepInterval(SWEEP)
          .limit(ResourceKind.RENDER, 3)
          .limit(ResourceKind.PDF, 2)
          .limit(ResourceKind.WASM, 2)
          .maxHold(ResourceKind.RENDER, Duration.ofMillis(2_000))
          .maxHold(ResourceKind.PDF, Duration.ofMillis(1_000))
          .maxHold(ResourceKind.WASM, Duration.ofMillis(3_000))
          .build();

  sealed interface Cmd
      permits Open,
          Heartbeat,
          HeartbeatAll,
          Acquire,
          Release,
          Goodbye,
          Revoke,
          Cancel,
          Detach,
          Advance,
          Sweep {}

  /** Opens a new session, or resumes session {@code resume} (mod count) when it is ≥ 0. */
  record Open(int worker, int resume) implements Cmd {}

  record Heartbeat(int session) implements Cmd {}

  /** Every session the test believes live and attached heartbeats, as healthy workers do. */
  record HeartbeatAll() implements Cmd {}

  record Acquire(int session, ResourceKind kind, int waitMs, int requestId, int priority)
      implements Cmd {}

  /** Releases a known lease as its holder, or as another session when {@code asOther}. */
  record Release(int lease, boolean asOther) implements Cmd {}

  record Goodbye(int session) implements Cmd {}

  record Revoke(int lease) implements Cmd {}

  record Cancel(int call) implements Cmd {}

  record Detach(int session) implements Cmd {}

  record Advance(int millis) implements Cmd {}

  record Sweep() implements Cmd {}

  @Property(tries = 200, edgeCases = EdgeCasesMode.NONE)
  void everyCommandSequence_keepsLeaseTableInvariants(@ForAll("commands") List<Cmd> commands) {
    try (Run run = new Run()) {
      for (int worker = 0; worker < 3; worker++) {
        run.apply(new Open(worker, -1));
      }
      for (Cmd cmd : commands) {
        run.apply(cmd);
        run.checkInvariants(cmd);
      }
      run.finish();
    }
  }

  @Provide
  Arbitrary<List<Cmd>> commands() {
    // Negative indexes pick among every session ever opened, others among live ones.
    Arbitrary<Integer> index = Arbitraries.integers().between(-6, 30);
    Arbitrary<Cmd> open =
        Combinators.combine(
                Arbitraries.integers().between(0, 2), Arbitraries.integers().between(-3, 30))
            .as((w, r) -> (Cmd) new Open(w, r));
    Arbitrary<Cmd> heartbeat = index.map(i -> (Cmd) new Heartbeat(i));
    Arbitrary<Cmd> heartbeatAll = Arbitraries.just((Cmd) new HeartbeatAll());
    Arbitrary<Cmd> acquire =
        Combinators.combine(
                index,
                Arbitraries.of(ResourceKind.class),
                Arbitraries.of(0, 0, 200, 500, 1_000, 3_000),
                Arbitraries.integers().between(-3, 3),
                Arbitraries.integers().between(0, 2))
            .as((s, k, w, r, p) -> (Cmd) new Acquire(s, k, w, r, p));
    Arbitrary<Cmd> release =
        Combinators.combine(index, Arbitraries.of(false, false, false, true))
            .as((l, other) -> (Cmd) new Release(l, other));
    Arbitrary<Cmd> goodbye = index.map(i -> (Cmd) new Goodbye(i));
    Arbitrary<Cmd> revoke = index.map(i -> (Cmd) new Revoke(i));
    Arbitrary<Cmd> cancel = index.map(i -> (Cmd) new Cancel(i));
    Arbitrary<Cmd> detach = index.map(i -> (Cmd) new Detach(i));
    Arbitrary<Integer> millis =
        Arbitraries.frequencyOf(
            List.of(
                // Whole ticks make deadlines, max holds and sweeps meet at the same instant.
                Tuple.of(10, Arbitraries.integers().between(1, 6).map(n -> n * 50)),
                Tuple.of(2, Arbitraries.integers().between(1, 300)),
                Tuple.of(2, Arbitraries.integers().between(18, 22).map(n -> n * 50)),
                Tuple.of(2, Arbitraries.integers().between(28, 32).map(n -> n * 50)),
                Tuple.of(1, Arbitraries.integers().between(40, 70).map(n -> n * 50))));
    Arbitrary<Cmd> advance = millis.map(ms -> (Cmd) new Advance(ms));
    Arbitrary<Cmd> sweep = Arbitraries.just((Cmd) new Sweep());
    return Arbitraries.frequencyOf(
            List.of(
                Tuple.of(2, open),
                Tuple.of(2, heartbeat),
                Tuple.of(5, heartbeatAll),
                Tuple.of(14, acquire),
                Tuple.of(4, release),
                Tuple.of(1, goodbye),
                Tuple.of(2, revoke),
                Tuple.of(2, cancel),
                Tuple.of(1, detach),
                Tuple.of(6, advance),
                Tuple.of(1, sweep)))
        .list()
        .ofMinSize(1)
        .ofMaxSize(120)
        .withSizeDistribution(RandomDistribution.uniform());
  }

  // ---------------------------------------------------------------- host rates

  /** Small rates and bursts on three hosts, so that any schedule runs into them. */
  private static final RateLimitConfig HOST_RATES =
      RateLimitConfig.newBuilder()
          .defaultRate(1)
          .defaultBurst(3)
          .host("a.example", 2, 2)
          .host("b.example", 5, 1)
          .build();

  private static final List<String> HOSTS = List.of("a.example", "b.example", "c.example");

  sealed interface RateCmd permits RateAcquire, RateRelease, RateAdvance {}

  record RateAcquire(int host, boolean pdf, int waitMs) implements RateCmd {}

  /** Releases a live lease reporting {@code httpStatus} (0: no outcome; 429/503 throttle). */
  record RateRelease(int lease, int httpStatus) implements RateCmd {}

  record RateAdvance(int millis) implements RateCmd {}

  /**
   * However acquires, waits, releases (429/503 included) and time interleave, a host is granted at
   * most {@code burst + rate × window} leases in any window: the token bucket's promise, kept
   * through the broker's queues and wake-ups. Small pools make pool and rate limits meet.
   */
  @Property(tries = 60, edgeCases = EdgeCasesMode.NONE)
  void anySchedule_grantsPerHostWithinBurstPlusRateTimesWindow(
      @ForAll("rateCommands") List<RateCmd> commands) {
    FakeTimeSource time = new FakeTimeSource();
    BrokerConfig config = CONFIG.toBuilder().sessionTtl(Duration.ofHours(1)).build();
    Map<String, List<Long>> grants = new HashMap<>();
    List<RecordingAcquireCallback> calls = new ArrayList<>();
    try (Broker broker =
        new Broker(
            Policy.of(config).withRateLimit(HOST_RATES),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(42),
            HeapProbe.NONE)) {
      broker.addListener(
          new BrokerListener() {
            @Override
            public void granted(Lease lease, String workerId) {
              grants
                  .computeIfAbsent(lease.host(), h -> new ArrayList<>())
                  .add(lease.grantedAtNanos());
            }
          });
      String session =
          broker
              .open(
                  HelloSpec.validate("w", Map.of(), 0, "", List.of()),
                  PRINCIPAL,
                  new RecordingSessionChannel())
              .sessionId();
      for (RateCmd cmd : commands) {
        if (cmd instanceof RateAcquire a) {
          RecordingAcquireCallback call = new RecordingAcquireCallback();
          broker.acquire(
              AcquireSpec.validate(
                  session,
                  a.pdf() ? ResourceKind.PDF : ResourceKind.RENDER,
                  "https://" + HOSTS.get(a.host()) + "/",
                  "",
                  a.waitMs() == 0 ? null : Duration.ofMillis(a.waitMs()),
                  "",
                  0,
                  0),
              PRINCIPAL,
              call);
          calls.add(call);
        } else if (cmd instanceof RateRelease r) {
          List<Lease> live = broker.leases();
          if (!live.isEmpty()) {
            Lease lease = live.get(Math.floorMod(r.lease(), live.size()));
            Outcome outcome =
                r.httpStatus() == 0
                    ? Outcome.UNKNOWN
                    : new Outcome(r.httpStatus() < 400, 0, r.httpStatus(), 500_000_000L, "");
            broker.release(session, lease.id(), PRINCIPAL, outcome);
          }
        } else if (cmd instanceof RateAdvance a) {
          time.advanceMillis(a.millis());
        }
        assertThat(broker.hostTokensQueued())
            .as("tokens queued per host after %s", cmd)
            .isEqualTo(pendingPerHost(commands, calls));
      }
      time.advance(Duration.ofSeconds(3)); // past the longest wait
      assertThat(broker.hostTokensQueued()).isEmpty();
    }
    assertThat(calls).allMatch(c -> c.answerCount() == 1, "every acquire answered once");
    grants.forEach(BrokerPropertyTest::assertWithinBucket);
  }

  /** The acquires not answered yet, by host: each waits for one token of its host. */
  private static Map<String, Integer> pendingPerHost(
      List<RateCmd> commands, List<RecordingAcquireCallback> calls) {
    Map<String, Integer> pending = new TreeMap<>();
    int call = 0;
    for (RateCmd cmd : commands) {
      if (cmd instanceof RateAcquire a) {
        if (call >= calls.size()) {
          break;
        }
        if (calls.get(call++).answerCount() == 0) {
          pending.merge(HOSTS.get(a.host()), 1, Integer::sum);
        }
      }
    }
    return pending;
  }

  private static void assertWithinBucket(String host, List<Long> grantTimes) {
    HostRule rule = HOST_RATES.ruleFor(host);
    List<Long> times = grantTimes.stream().sorted().toList();
    for (int i = 0; i < times.size(); i++) {
      for (int j = i; j < times.size(); j++) {
        double window = (times.get(j) - times.get(i)) / 1e9;
        assertThat((double) (j - i + 1))
            .as("%s: grants in a window of %ss", host, window)
            .isLessThanOrEqualTo(rule.burst() + rule.rate() * window + 1e-6);
      }
    }
  }

  @Provide
  Arbitrary<List<RateCmd>> rateCommands() {
    Arbitrary<RateCmd> acquire =
        Combinators.combine(
                Arbitraries.integers().between(0, HOSTS.size() - 1),
                Arbitraries.of(false, false, false, true),
                Arbitraries.of(0, 0, 100, 400, 2_000))
            .as((h, pdf, w) -> (RateCmd) new RateAcquire(h, pdf, w));
    Arbitrary<RateCmd> release =
        Combinators.combine(
                Arbitraries.integers().between(0, 10), Arbitraries.of(0, 0, 200, 200, 429, 503))
            .as((l, status) -> (RateCmd) new RateRelease(l, status));
    Arbitrary<RateCmd> advance =
        Arbitraries.integers().between(1, 400).map(ms -> (RateCmd) new RateAdvance(ms));
    return Arbitraries.frequencyOf(
            List.of(Tuple.of(8, acquire), Tuple.of(4, release), Tuple.of(4, advance)))
        .list()
        .ofMinSize(1)
        .ofMaxSize(80);
  }

  /** What the test knows of one session. */
  private static final class SessionModel {
    final String id;
    final String workerId;
    RecordingSessionChannel channel;
    boolean attached = true;
    boolean saidGoodbye;
    long lastSeenNanos;
    long seq = -1;

    SessionModel(String id, String workerId, RecordingSessionChannel channel, long now) {
      this.id = id;
      this.workerId = workerId;
      this.channel = channel;
      this.lastSeenNanos = now;
    }
  }

  /** One acquire call; records its answers into the run's shared log, in order. */
  private static final class Call implements AcquireCallback {
    final Run run;
    final String sessionId;
    final ResourceKind kind;

    /** When it was made, and its wait; null for a request id, whose waiter may be another's. */
    final long madeAtNanos;

    final Duration ownWait;
    final List<Object> answers = new ArrayList<>(1);
    Broker.PendingAcquire pending;
    boolean cancelled;

    Call(Run run, String sessionId, ResourceKind kind, long madeAtNanos, Duration ownWait) {
      this.run = run;
      this.sessionId = sessionId;
      this.kind = kind;
      this.madeAtNanos = madeAtNanos;
      this.ownWait = ownWait;
    }

    @Override
    public void decided(Decision decision) {
      answers.add(decision);
      run.log.add(new Answer(this, decision));
    }

    @Override
    public void failed(BrokerException error) {
      answers.add(error);
      run.log.add(new Answer(this, error));
    }
  }

  private record Answer(Call call, Object answer) {}

  private static final class Run implements AutoCloseable {
    final FakeTimeSource time = new FakeTimeSource();
    final Broker broker =
        new Broker(
            BrokerHarness.withoutHostLimits(CONFIG),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(42),
            HeapProbe.NONE);
    final List<SessionModel> sessions = new ArrayList<>();
    final List<Lease> knownLeases = new ArrayList<>();
    final Map<String, Long> tokenOf = new HashMap<>();
    final List<Call> calls = new ArrayList<>();
    final List<Answer> log = new ArrayList<>();
    final List<Lease> grantedByListener = new ArrayList<>();
    final Set<String> endedByListener = new HashSet<>();
    final Map<String, Integer> leaseEnds = new HashMap<>();
    int logChecked;
    int listenerChecked;
    long maxToken;

    Run() {
      broker.addListener(
          new BrokerListener() {
            @Override
            public void granted(Lease lease, String workerId) {
              grantedByListener.add(lease);
            }

            @Override
            public void ended(
                Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome) {
              leaseEnds.merge(lease.id(), 1, Integer::sum);
            }

            @Override
            public void sessionEnded(String sessionId, String workerId, boolean expired) {
              endedByListener.add(sessionId);
            }
          });
    }

    long now() {
      return time.nanoTime();
    }

    boolean alive(SessionModel s) {
      return !s.saidGoodbye && now() - s.lastSeenNanos < TTL.toNanos();
    }

    /** Past this point the periodic sweep must have ended the session. */
    boolean surelyEnded(SessionModel s) {
      return s.saidGoodbye || now() - s.lastSeenNanos >= TTL.toNanos() + SWEEP.toNanos();
    }

    SessionModel session(int index) {
      List<SessionModel> from = sessions;
      if (index >= 0) {
        List<SessionModel> live = sessions.stream().filter(this::alive).toList();
        from = live.isEmpty() ? sessions : live;
      }
      return from.isEmpty() ? null : from.get(Math.floorMod(index, from.size()));
    }

    boolean isLive(String leaseId) {
      return broker.leases().stream().anyMatch(l -> l.id().equals(leaseId));
    }

    void apply(Cmd cmd) {
      if (cmd instanceof Open o) {
        open(o);
      } else if (cmd instanceof Heartbeat hb) {
        heartbeat(hb);
      } else if (cmd instanceof HeartbeatAll) {
        for (SessionModel s : List.copyOf(sessions)) {
          if (alive(s) && s.attached) {
            heartbeat(s);
          }
        }
      } else if (cmd instanceof Acquire a) {
        acquire(a);
      } else if (cmd instanceof Release r) {
        release(r);
      } else if (cmd instanceof Goodbye g) {
        goodbye(g);
      } else if (cmd instanceof Revoke r) {
        revoke(r);
      } else if (cmd instanceof Cancel c) {
        if (!calls.isEmpty()) {
          Call call = calls.get(Math.floorMod(c.call(), calls.size()));
          call.cancelled = true;
          call.pending.cancel();
        }
      } else if (cmd instanceof Detach d) {
        SessionModel s = session(d.session());
        if (s != null) {
          broker.detach(s.id, s.channel);
          s.attached = false;
        }
      } else if (cmd instanceof Advance a) {
        time.advanceMillis(a.millis());
      } else if (cmd instanceof Sweep) {
        broker.sweep();
      } else {
        throw new AssertionError("unknown command " + cmd);
      }
    }

    private void open(Open o) {
      SessionModel target =
          o.resume() >= 0 && !sessions.isEmpty()
              ? sessions.get(Math.floorMod(o.resume(), sessions.size()))
              : null;
      RecordingSessionChannel channel = new RecordingSessionChannel();
      if (target == null) {
        String worker = "w" + o.worker();
        Broker.Opened opened =
            broker.open(HelloSpec.validate(worker, Map.of(), 0, "", List.of()), PRINCIPAL, channel);
        assertThat(opened.resumed()).isFalse();
        sessions.add(new SessionModel(opened.sessionId(), worker, channel, now()));
        return;
      }
      List<HelloSpec.HeldLease> held = new ArrayList<>();
      for (Lease lease : broker.leases()) {
        if (lease.sessionId().equals(target.id)) {
          held.add(new HelloSpec.HeldLease(lease.id(), lease.fencingToken()));
        }
      }
      boolean expectResumed = alive(target);
      Broker.Opened opened =
          broker.open(
              HelloSpec.validate(target.workerId, Map.of(), 0, target.id, held),
              PRINCIPAL,
              channel);
      assertThat(opened.resumed()).as("resumed").isEqualTo(expectResumed);
      if (expectResumed) {
        assertThat(opened.sessionId()).isEqualTo(target.id);
        assertThat(opened.lostLeases()).isEmpty();
        target.channel = channel;
        target.attached = true;
        target.lastSeenNanos = now();
        target.seq = -1;
      } else {
        assertThat(opened.sessionId()).isNotEqualTo(target.id);
        assertThat(opened.lostLeases())
            .containsExactlyInAnyOrderElementsOf(
                held.stream().map(HelloSpec.HeldLease::leaseId).toList());
        sessions.add(new SessionModel(opened.sessionId(), target.workerId, channel, now()));
      }
    }

    private void heartbeat(Heartbeat hb) {
      SessionModel s = session(hb.session());
      if (s != null) {
        heartbeat(s);
      }
    }

    private void heartbeat(SessionModel s) {
      long seq = s.seq + 1;
      BrokerException.Code expected = expectedStreamFailure(s);
      try {
        broker.heartbeat(s.id, s.channel, seq, 0, 0);
        assertThat(expected).as("heartbeat failure").isNull();
        s.seq = seq;
        s.lastSeenNanos = now();
      } catch (BrokerException e) {
        assertThat(e.code()).as("heartbeat failure: " + e.getMessage()).isEqualTo(expected);
      }
    }

    private void goodbye(Goodbye g) {
      SessionModel s = session(g.session());
      if (s == null) {
        return;
      }
      BrokerException.Code expected = expectedStreamFailure(s);
      try {
        broker.goodbye(s.id, s.channel);
        assertThat(expected).as("goodbye failure").isNull();
        s.saidGoodbye = true;
      } catch (BrokerException e) {
        assertThat(e.code()).as("goodbye failure: " + e.getMessage()).isEqualTo(expected);
      }
    }

    /** What a call over the session's stream must fail with, or null when it must succeed. */
    private BrokerException.Code expectedStreamFailure(SessionModel s) {
      if (!alive(s)) {
        return BrokerException.Code.NOT_FOUND;
      }
      return s.attached ? null : BrokerException.Code.FAILED_PRECONDITION;
    }

    private void acquire(Acquire a) {
      SessionModel s = session(a.session());
      if (s == null) {
        return;
      }
      String url = a.kind() == ResourceKind.RENDER ? "https://example.com/" + a.requestId() : "";
      AcquireSpec spec =
          AcquireSpec.validate(
              s.id,
              a.kind(),
              url,
              "",
              a.waitMs() == 0 ? null : Duration.ofMillis(a.waitMs()),
              a.requestId() < 0 ? "" : "req-" + a.requestId(),
              a.priority(),
              0);
      Call call =
          new Call(
              this,
              s.id,
              a.kind(),
              now(),
              spec.requestId().isEmpty() ? Duration.ofNanos(spec.waitNanos()) : null);
      boolean alive = alive(s);
      try {
        call.pending = broker.acquire(spec, PRINCIPAL, call);
        assertThat(alive).as("acquire on an ended session succeeded").isTrue();
        calls.add(call);
      } catch (BrokerException e) {
        if (alive) {
          assertThat(e.code())
              .as(e.getMessage())
              .isEqualTo(BrokerException.Code.FAILED_PRECONDITION);
          assertThat(spec.requestId()).isNotEmpty();
        } else {
          assertThat(e.code()).as(e.getMessage()).isEqualTo(BrokerException.Code.NOT_FOUND);
        }
        assertThat(call.answers).isEmpty();
      }
    }

    private void release(Release r) {
      if (knownLeases.isEmpty()) {
        return;
      }
      Lease lease = knownLeases.get(Math.floorMod(r.lease(), knownLeases.size()));
      boolean wasLive = isLive(lease.id());
      if (r.asOther()) {
        String other =
            sessions.stream()
                .map(s -> s.id)
                .filter(id -> !id.equals(lease.sessionId()))
                .findFirst()
                .orElse(null);
        if (other != null) {
          try {
            broker.release(other, lease.id(), PRINCIPAL, Outcome.UNKNOWN);
            fail("release by another session succeeded");
          } catch (BrokerException e) {
            assertThat(e.code()).isEqualTo(BrokerException.Code.PERMISSION_DENIED);
          }
          assertThat(isLive(lease.id())).isEqualTo(wasLive);
          return;
        }
      }
      // A holder past its TTL that no sweep has ended yet is expired by the release itself,
      // which then reports how the lease ended: with the session, not released.
      boolean holderOverdue =
          sessions.stream().anyMatch(s -> s.id.equals(lease.sessionId()) && !alive(s));
      Broker.EndResult result =
          broker.release(lease.sessionId(), lease.id(), PRINCIPAL, Outcome.UNKNOWN);
      assertThat(result.changed()).as("release changed").isEqualTo(wasLive && !holderOverdue);
      if (wasLive) {
        assertThat(result.end())
            .isEqualTo(holderOverdue ? LeaseEnd.SESSION_EXPIRED : LeaseEnd.RELEASED);
      }
      assertThat(isLive(lease.id())).isFalse();
    }

    private void revoke(Revoke r) {
      if (knownLeases.isEmpty()) {
        return;
      }
      Lease lease = knownLeases.get(Math.floorMod(r.lease(), knownLeases.size()));
      boolean wasLive = isLive(lease.id());
      Broker.EndResult result = broker.revoke(lease.id(), RevokeReason.ADMIN, null);
      assertThat(result.changed()).as("revoke changed").isEqualTo(wasLive);
      if (wasLive) {
        assertThat(result.end()).isEqualTo(LeaseEnd.REVOKED);
      }
      assertThat(isLive(lease.id())).isFalse();
    }

    void checkInvariants(Cmd after) {
      String step = "after " + after;
      List<Lease> live = broker.leases();
      // Between its TTL and the next sweep a session is overdue: the queue passes over its
      // waiters (the sweep fails them), so they may wait while the pool has room.
      boolean someoneOverdue =
          sessions.stream().anyMatch(s -> !s.saidGoodbye && !alive(s) && !surelyEnded(s));
      for (ResourceKind kind : ResourceKind.values()) {
        long count = live.stream().filter(l -> l.kind() == kind).count();
        assertThat(broker.inUse(kind)).as(step + ": inUse(" + kind + ")").isEqualTo((int) count);
        assertThat(count)
            .as(step + ": " + kind + " over its limit")
            .isLessThanOrEqualTo(CONFIG.limit(kind));
        // Work-conserving: nobody waits while the pool has room (no per-session limits here).
        if (broker.queued(kind) > 0 && !someoneOverdue) {
          assertThat(count)
              .as(step + ": " + kind + " has room but acquires wait")
              .isEqualTo(CONFIG.limit(kind));
        }
      }
      assertThat(live.stream().map(Lease::id).distinct().count())
          .as(step + ": duplicate lease ids")
          .isEqualTo(live.size());
      assertThat(live.stream().map(Lease::fencingToken).distinct().count())
          .as(step + ": duplicate fencing tokens")
          .isEqualTo(live.size());

      // Grants, in the order they were made, carry ever larger tokens.
      for (; listenerChecked < grantedByListener.size(); listenerChecked++) {
        Lease lease = grantedByListener.get(listenerChecked);
        assertThat(lease.fencingToken()).as(step + ": token order").isGreaterThan(maxToken);
        maxToken = lease.fencingToken();
      }
      // Answers name either a new grant, or (idempotent repeat, WASM instance) an earlier one.
      for (; logChecked < log.size(); logChecked++) {
        Answer answer = log.get(logChecked);
        assertThat(answer.call().answers).as(step + ": answers to one acquire").hasSize(1);
        if (answer.answer() instanceof Decision.Granted granted) {
          Lease lease = granted.lease();
          assertThat(lease.sessionId()).isEqualTo(answer.call().sessionId);
          assertThat(lease.kind()).isEqualTo(answer.call().kind);
          Long known = tokenOf.putIfAbsent(lease.id(), lease.fencingToken());
          if (known == null) {
            knownLeases.add(lease);
            assertThat(grantedByListener).as(step + ": grant not reported").contains(lease);
            Call call = answer.call();
            if (call.ownWait != null) {
              // A waiter is dead from its deadline on and must never be granted.
              long deadline = call.madeAtNanos + call.ownWait.toNanos();
              assertThat(lease.grantedAtNanos())
                  .as(step + ": granted at or after its deadline")
                  .isLessThan(Math.max(deadline, call.madeAtNanos + 1));
            }
          } else {
            assertThat(lease.fencingToken()).isEqualTo(known);
          }
        } else if (answer.answer() instanceof BrokerException e) {
          assertThat(e.code())
              .as(step + ": " + e.getMessage())
              .isEqualTo(BrokerException.Code.NOT_FOUND);
        }
      }
      for (Call call : calls) {
        assertThat(call.answers.size())
            .as(step + ": answers to one acquire")
            .isLessThanOrEqualTo(1);
      }
      assertThat(leaseEnds.values()).as(step + ": a lease ended twice").allMatch(n -> n == 1);
      for (Lease lease : live) {
        assertThat(leaseEnds)
            .as(step + ": a live lease reported ended")
            .doesNotContainKey(lease.id());
      }
      assertThat(broker.counters().grants()).isEqualTo(grantedByListener.size());

      // No lease outlives its session.
      Set<String> ended = new HashSet<>(endedByListener);
      int surelyAlive = 0;
      int possiblyAlive = 0;
      for (SessionModel s : sessions) {
        if (surelyEnded(s)) {
          ended.add(s.id);
        } else {
          possiblyAlive++;
        }
        if (alive(s)) {
          surelyAlive++;
          assertThat(endedByListener)
              .as(step + ": live session reported ended")
              .doesNotContain(s.id);
        }
      }
      for (Lease lease : live) {
        assertThat(ended)
            .as(step + ": lease " + lease.id() + " of an ended session")
            .doesNotContain(lease.sessionId());
      }
      for (Call call : calls) {
        if (ended.contains(call.sessionId) && !call.cancelled) {
          assertThat(call.answers).as(step + ": acquire of an ended session unanswered").hasSize(1);
        }
      }
      assertThat(broker.sessionCount())
          .as(step + ": sessions")
          .isBetween(surelyAlive, possiblyAlive);
      Map<String, Long> wasmPerSession = new HashMap<>();
      for (Lease lease : live) {
        if (lease.kind() == ResourceKind.WASM) {
          wasmPerSession.merge(lease.sessionId(), 1L, Long::sum);
        }
      }
      assertThat(wasmPerSession.values()).as(step + ": WASM per session").allMatch(n -> n == 1);
    }

    /** Once every wait and TTL has run out, every caller still listening has had its answer. */
    void finish() {
      time.advance(Duration.ofSeconds(10));
      checkInvariants(new Advance(10_000));
      for (Call call : calls) {
        if (!call.cancelled) {
          assertThat(call.answers).as("answers to an acquire nobody cancelled").hasSize(1);
        }
      }
      assertThat(broker.sessionCount()).isZero();
      assertThat(broker.leases()).isEmpty();
      assertThat(leaseEnds.keySet()).as("every lease ended").isEqualTo(tokenOf.keySet());
      for (ResourceKind kind : ResourceKind.values()) {
        assertThat(broker.queued(kind)).isZero();
      }
    }

    @Override
    public void close() {
      broker.close();
    }
  }
}
