package dev.berth.testkit;

import dev.berth.testkit.Timeline.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Checks the safety rules of a broker cluster on the merged event logs of all its processes ({@link
 * Timeline}), whatever faults the test injected:
 *
 * <ol>
 *   <li><b>pool limits</b>: at no instant do live leases of a kind exceed its limit, counted across
 *       every node. A lease is live from its grant until its worker releases it (wherever that is
 *       logged) or it ends on the node that holds it; a lease whose node died or froze without
 *       ending it stays live until it is re-admitted elsewhere, or until one session TTL after a
 *       broker with a higher epoch started or took over (its workers' sessions have expired by
 *       then, and a new broker grants nothing new before). A new leader that loads a lease from its
 *       replica logs the re-admission at the lease's first grant time, so the lease moves to it
 *       from then on: the old node's later ends of its sessions do not free the slot, but its
 *       worker's release does, even when the release never reached the new leader's replica (the
 *       new leader then counts a slot nobody uses, which is safe);
 *   <li><b>host rates</b>: in any window of each configured length {@code w}, a host is granted at
 *       most {@code burst + rate × w} leases (re-admissions are not new requests and do not count);
 *   <li><b>fencing tokens</b> strictly increase in grant order, on each node and across nodes (by
 *       the brokers' decision times, {@code at}, read under their locks on the one monotonic clock
 *       of the machine);
 *   <li><b>no lease id is granted twice</b>, and a re-admission keeps the token of the grant and
 *       comes from a broker of a later epoch than the token's.
 * </ol>
 *
 * <p>Ends are logged by the broker's listener after its lock is released, and a takeover just after
 * the broker opened its recovery window, so each is taken to have happened {@code slack} before its
 * logged time; this is the bound of that delay, and makes the pool rule that much more lenient.
 * Grants need no slack: they carry the decision time.
 *
 * <p>Immutable and thread-safe.
 */
public final class TimelineChecker {
  private final Map<String, Integer> poolLimits;
  private final double hostRate;
  private final double hostBurst;
  private final List<Duration> windows;
  private final long ttlNanos;
  private final long slackNanos;

  private TimelineChecker(Builder b) {
    this.poolLimits = Map.copyOf(b.poolLimits);
    this.hostRate = b.hostRate;
    this.hostBurst = b.hostBurst;
    this.windows = List.copyOf(b.windows);
    this.ttlNanos = b.ttl.toNanos();
    this.slackNanos = b.slack.toNanos();
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** The checker's settings; they must match the daemons'. */
  public static final class Builder {
    private final Map<String, Integer> poolLimits = new HashMap<>();
    private double hostRate = Double.NaN;
    private double hostBurst;
    private final List<Duration> windows = new ArrayList<>(List.of(Duration.ofSeconds(1)));
    private Duration ttl = Duration.ofSeconds(30);
    private Duration slack = Duration.ofMillis(250);

    private Builder() {}

    /** The limit of a kind, as logged ({@code RENDER}, {@code PDF}, ...). */
    public Builder poolLimit(String kind, int limit) {
      poolLimits.put(kind, limit);
      return this;
    }

    /** Every host's rate (per second) and burst; without it hosts are not checked. */
    public Builder hostRate(double rate, int burst) {
      this.hostRate = rate;
      this.hostBurst = burst;
      return this;
    }

    /** The window lengths checked for host rates; default 1 s. */
    public Builder windows(Duration... values) {
      windows.clear();
      windows.addAll(List.of(values));
      return this;
    }

    /** The daemons' {@code session.ttl}. */
    public Builder sessionTtl(Duration value) {
      this.ttl = Objects.requireNonNull(value);
      return this;
    }

    /** The bound of the listener's delay after a decision; default 250 ms. */
    public Builder slack(Duration value) {
      this.slack = Objects.requireNonNull(value);
      return this;
    }

    public TimelineChecker build() {
      return new TimelineChecker(this);
    }
  }

  /** Every rule broken, one line each; empty when the timeline is safe. */
  public List<String> violations(Timeline timeline) {
    List<String> out = new ArrayList<>();
    checkIds(timeline, out);
    checkTokens(timeline, out);
    checkPools(timeline, out);
    checkHosts(timeline, out);
    return out;
  }

  /**
   * Throws an {@link AssertionError} listing the violations and a summary of the timeline, or
   * returns the summary (grants, re-admissions, ends) when the timeline is safe.
   */
  public String check(Timeline timeline) {
    String summary =
        String.format(
            "%d grants, %d re-admissions, %d ends, %d lead/start events, %d unreadable lines",
            timeline.count("grant"),
            timeline.count("readmit"),
            timeline.count("end"),
            timeline.count("lead") + timeline.count("start"),
            timeline.skipped());
    List<String> violations = violations(timeline);
    if (!violations.isEmpty()) {
      throw new AssertionError(
          "timeline broke "
              + violations.size()
              + " rule(s) ("
              + summary
              + "):\n  "
              + String.join("\n  ", violations.subList(0, Math.min(50, violations.size()))));
    }
    return summary;
  }

  private static boolean isGrant(Event e) {
    return e.ev().equals("grant");
  }

  private static long epochOf(long token) {
    return token >>> 40;
  }

  /** Rule 4: no id granted twice; a re-admission keeps the token and comes from a later epoch. */
  private static void checkIds(Timeline timeline, List<String> out) {
    Map<String, Event> granted = new HashMap<>();
    for (Event e : timeline.events()) {
      if (isGrant(e)) {
        Event earlier = granted.putIfAbsent(e.field("lease"), e);
        if (earlier != null) {
          out.add("lease granted twice: " + earlier.line() + " | " + e.line());
        }
      } else if (e.ev().equals("readmit")) {
        long token = e.longField("token");
        Event grant = granted.get(e.field("lease"));
        if (grant != null && grant.longField("token") != token) {
          out.add("re-admitted with another token: " + grant.line() + " | " + e.line());
        }
        if (epochOf(token) >= e.longField("epoch")) {
          out.add("re-admitted by a broker of no later epoch than its token: " + e.line());
        }
      }
    }
  }

  /** Rule 3: tokens strictly increase in the order of the decisions, per node and overall. */
  private static void checkTokens(Timeline timeline, List<String> out) {
    List<Event> grants = new ArrayList<>();
    for (Event e : timeline.events()) {
      if (isGrant(e)) {
        grants.add(e);
      }
    }
    grants.sort(
        Comparator.comparingLong(Event::when)
            .thenComparing(e -> e.longField("token"), Long::compareUnsigned));
    Event highest = null;
    for (Event g : grants) {
      if (highest != null
          && Long.compareUnsigned(g.longField("token"), highest.longField("token")) <= 0) {
        out.add("token not above an earlier grant's: " + highest.line() + " then " + g.line());
      }
      if (highest == null
          || Long.compareUnsigned(g.longField("token"), highest.longField("token")) > 0) {
        highest = g;
      }
    }
  }

  /** The end of a lease its worker let go of: wherever it is logged, the slot is free. */
  private static final String RELEASED = "RELEASED";

  private record Holder(String node, long epoch, String kind) {}

  private record Step(long when, int order, Event event, long expireBelow) {}

  /** Rule 1: live leases of a kind never exceed its limit. */
  private void checkPools(Timeline timeline, List<String> out) {
    Map<String, Long> grantedAt = new HashMap<>();
    Map<String, List<Event>> history = new HashMap<>();
    for (Event e : timeline.events()) {
      if (isGrant(e)) {
        grantedAt.putIfAbsent(e.field("lease"), e.when());
      }
      if (isGrant(e) || e.ev().equals("readmit") || e.ev().equals("end")) {
        history.computeIfAbsent(e.field("lease"), l -> new ArrayList<>()).add(e);
      }
    }
    List<Step> steps = new ArrayList<>();
    for (Event e : timeline.events()) {
      switch (e.ev()) {
        case "grant" -> steps.add(new Step(e.when(), 1, e, 0));
        // A lease a new leader loads from its replica is logged at its first grant's time, as
        // the replica has it (to the millisecond, through the wall clock), so it may come out a
        // little ahead of that grant: it never takes effect before it.
        case "readmit" ->
            steps.add(
                new Step(
                    Math.max(e.when(), grantedAt.getOrDefault(e.field("lease"), Long.MIN_VALUE)),
                    2,
                    e,
                    0));
        case "end" -> {
          // never before the lease's own grant, which the slack could otherwise move it ahead of
          long from = grantedAt.getOrDefault(e.field("lease"), Long.MIN_VALUE);
          long when = e.t() - slackNanos;
          steps.add(when > from ? new Step(when, 0, e, 0) : new Step(from, 3, e, 0));
        }
        // The broker's recovery window runs from its takeover, which it logs a little later.
        case "start", "lead" ->
            steps.add(new Step(e.t() - slackNanos + ttlNanos, 0, e, e.longField("epoch")));
        default -> {
          // sessions and test events change no pool
        }
      }
    }
    // Ends and expiries before grants at the same instant, then re-admissions, then the ends the
    // slack moved back onto their lease's grant.
    steps.sort(Comparator.comparingLong(Step::when).thenComparingInt(Step::order));
    Map<String, Holder> live = new HashMap<>();
    Map<String, Integer> inUse = new HashMap<>();
    Set<String> reported = new HashSet<>();
    for (Step s : steps) {
      Event e = s.event();
      switch (e.ev()) {
        case "grant", "readmit" -> {
          Holder before = live.remove(e.field("lease"));
          if (before != null) {
            inUse.merge(before.kind(), -1, Integer::sum);
          }
          String kind = e.field("kind");
          live.put(e.field("lease"), new Holder(e.node(), e.longField("epoch"), kind));
          int n = inUse.merge(kind, 1, Integer::sum);
          Integer limit = poolLimits.get(kind);
          if (limit != null && n > limit && reported.add(kind + "@" + e.node() + "@" + n)) {
            out.add(
                "pool "
                    + kind
                    + " holds "
                    + n
                    + " > limit "
                    + limit
                    + " after "
                    + e.line()
                    + "; live: "
                    + describe(live, kind)
                    + histories(live, kind, history));
          }
        }
        case "end" -> {
          Holder h = live.get(e.field("lease"));
          if (h != null && (h.node().equals(e.node()) || RELEASED.equals(e.field("how")))) {
            live.remove(e.field("lease"));
            inUse.merge(h.kind(), -1, Integer::sum);
          }
        }
        default -> {
          // a broker of a higher epoch started or led one TTL ago: older leases not re-admitted
          // by now belong to sessions that have expired
          live.entrySet()
              .removeIf(
                  l -> {
                    if (l.getValue().epoch() < s.expireBelow()) {
                      inUse.merge(l.getValue().kind(), -1, Integer::sum);
                      return true;
                    }
                    return false;
                  });
        }
      }
    }
  }

  /** The grants from {@code lo} to {@code hi}: node, ms after the first, and each one's fields. */
  private static String window(List<Event> grants, int lo, int hi) {
    StringBuilder s = new StringBuilder();
    long first = grants.get(lo).when();
    for (int i = lo; i <= hi; i++) {
      Event e = grants.get(i);
      s.append(
          String.format("%n    %s +%.3f ms %s", e.node(), (e.when() - first) / 1e6, e.fields()));
    }
    return s.toString();
  }

  /**
   * Each live lease of {@code kind}, with every line logged about it on any node (its grant,
   * re-admissions and ends), so that a violation found in CI can be read from its message alone.
   */
  private static String histories(
      Map<String, Holder> live, String kind, Map<String, List<Event>> history) {
    StringBuilder s = new StringBuilder();
    live.forEach(
        (lease, h) -> {
          if (h.kind().equals(kind)) {
            s.append("\n    lease ").append(lease).append(" (").append(h.node()).append("):");
            for (Event e : history.getOrDefault(lease, List.of())) {
              s.append("\n      ").append(e.line());
            }
          }
        });
    return s.toString();
  }

  private static String describe(Map<String, Holder> live, String kind) {
    Map<String, Integer> perNode = new LinkedHashMap<>();
    live.values().stream()
        .filter(h -> h.kind().equals(kind))
        .forEach(h -> perNode.merge(h.node() + "/epoch " + h.epoch(), 1, Integer::sum));
    return perNode.toString();
  }

  /** Rule 2: per host, grants in any window of length w are at most burst + rate × w. */
  private void checkHosts(Timeline timeline, List<String> out) {
    if (Double.isNaN(hostRate)) {
      return;
    }
    Map<String, List<Event>> byHost = new HashMap<>();
    for (Event e : timeline.events()) {
      if (isGrant(e) && !e.field("host").equals("-")) {
        byHost.computeIfAbsent(e.field("host"), h -> new ArrayList<>()).add(e);
      }
    }
    for (Map.Entry<String, List<Event>> h : byHost.entrySet()) {
      List<Event> grants = h.getValue();
      grants.sort(java.util.Comparator.comparingLong(Event::when));
      List<Long> times = grants.stream().map(Event::when).toList();
      for (Duration w : windows) {
        long wn = w.toNanos();
        double allowed = hostBurst + hostRate * w.toNanos() / 1e9;
        int lo = 0;
        for (int i = 0; i < times.size(); i++) {
          while (times.get(i) - times.get(lo) > wn) {
            lo++;
          }
          int n = i - lo + 1;
          if (n > allowed + 1e-9) {
            out.add(
                String.format(
                    "host %s granted %d times within %d ms > burst + rate x window = %.1f: %s",
                    h.getKey(), n, w.toMillis(), allowed, window(grants, lo, i)));
            break;
          }
        }
      }
    }
  }
}
