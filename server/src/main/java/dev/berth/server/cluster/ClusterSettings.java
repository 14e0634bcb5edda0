package dev.berth.server.cluster;

import dev.berth.server.settings.Addresses;
import dev.berth.server.settings.Checks;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * How this node takes part in a replicated cluster: the cluster's id, which member it is, every
 * member's addresses, and the timing and bounds the Raft layer runs with. Immutable; {@link
 * #newBuilder()}'s {@code build()} fails fast with a {@link ConfigException} naming the key and the
 * rule, so a bad setting never reaches Raft.
 *
 * <p>The timing rules tie together: a leader grants only while a majority acknowledged one of its
 * messages within {@link #leaderLease()}, which lies between the heartbeat period (half the minimum
 * election timeout, so the lease renews before it lapses) and the minimum election timeout (so no
 * successor is elected while it is still valid); and the session TTL must leave room for a failover
 * ({@link #failoverBound()}) twice over.
 *
 * @param id the cluster's name; it also names the Raft group, so nodes of another cluster are
 *     refused
 * @param self the id of this node among {@code peers}
 * @param peers every member, by id, in the order given
 * @param electionTimeoutMin a follower that hears no leader for a random time between the two
 *     election timeouts starts an election
 * @param electionTimeoutMax see {@code electionTimeoutMin}
 * @param leaderLease how long one majority acknowledgement lets a leader grant
 * @param maxUncommittedGrants K's floor: grants per pool a leader may have made whose journal entry
 *     is not yet committed, for every pool ({@link #maxUncommittedGrantsFor(int)} gives a pool's K)
 * @param uncommittedLimitDivisor a pool's K is at least its limit divided by this; 0: every pool's
 *     K is {@code maxUncommittedGrants}
 * @param flushInterval how long the journal collects records before it sends them when no batch is
 *     in flight (with one in flight, its commit sends them)
 * @param batchRecords the journal sends at once when this many records wait
 * @param requestTimeout one attempt of an append: the leader's own append fails when it is not
 *     committed within {@code requestTimeout × appendAttempts}
 * @param appendAttempts see {@code requestTimeout}
 * @param snapshotEvery log entries between automatic snapshots
 * @param maxRecordBytes the largest log entry (a handoff of the whole state is the largest)
 * @param pauseFatalAfter a JVM pause this long makes Raft close the node, which is fatal
 * @param directMemoryBytes the cap on the direct memory Raft's network layer may take
 */
public record ClusterSettings(
    String id,
    String self,
    Map<String, Peer> peers,
    Duration electionTimeoutMin,
    Duration electionTimeoutMax,
    Duration leaderLease,
    int maxUncommittedGrants,
    int uncommittedLimitDivisor,
    Duration flushInterval,
    int batchRecords,
    Duration requestTimeout,
    int appendAttempts,
    long snapshotEvery,
    int maxRecordBytes,
    Duration pauseFatalAfter,
    long directMemoryBytes) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final int MAX_MEMBERS = 9;

  /**
   * The names of the cluster's configuration keys, written once: the daemon's configuration defines
   * the keys with them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String ID = "cluster.id";
    public static final String SELF = "cluster.self";
    public static final String PEERS = "cluster.peers";
    public static final String ELECTION_TIMEOUT_MIN = "cluster.election_timeout_min";
    public static final String ELECTION_TIMEOUT_MAX = "cluster.election_timeout_max";
    public static final String LEADER_LEASE = "cluster.leader_lease";
    public static final String MAX_UNCOMMITTED_GRANTS = "cluster.journal.max_uncommitted_grants";
    public static final String UNCOMMITTED_LIMIT_DIVISOR =
        "cluster.journal.uncommitted_limit_divisor";
    public static final String FLUSH_INTERVAL = "cluster.journal.flush_interval";
    public static final String BATCH_RECORDS = "cluster.journal.batch_records";
    public static final String REQUEST_TIMEOUT = "cluster.raft.request_timeout";
    public static final String APPEND_ATTEMPTS = "cluster.raft.append_attempts";
    public static final String SNAPSHOT_EVERY = "cluster.raft.snapshot_every";
    public static final String MAX_RECORD_SIZE = "cluster.raft.max_record_size";
    public static final String PAUSE_FATAL_AFTER = "cluster.raft.pause_fatal_after";
    public static final String DIRECT_MEMORY = "cluster.raft.direct_memory";

    private Keys() {}
  }

  /** The settings a cluster runs with unless configured otherwise (see {@link Builder}). */
  public static final class Defaults {
    // Ratis notices a silent leader between one and two of these after its last message, and
    // heartbeats every half minimum; the lease leaves 160ms above a heartbeat for round trips.
    public static final Duration ELECTION_TIMEOUT_MIN = Duration.ofMillis(800);
    public static final Duration ELECTION_TIMEOUT_MAX = Duration.ofMillis(1600);
    public static final Duration LEADER_LEASE = Duration.ofMillis(560);
    public static final int MAX_UNCOMMITTED_GRANTS = 4;
    public static final int UNCOMMITTED_LIMIT_DIVISOR = 16;
    public static final Duration FLUSH_INTERVAL = Duration.ofMillis(10);
    public static final int BATCH_RECORDS = 256;
    public static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(3);
    public static final int APPEND_ATTEMPTS = 3;
    public static final long SNAPSHOT_EVERY = 10_000;
    public static final long MAX_RECORD_BYTES = 4 << 20;
    public static final Duration PAUSE_FATAL_AFTER = Duration.ofSeconds(60);
    public static final long DIRECT_MEMORY_BYTES = 64L << 20;

    private Defaults() {}
  }

  public ClusterSettings {
    peers = Collections.unmodifiableMap(new LinkedHashMap<>(peers));
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /**
   * K of a pool whose limit is {@code poolLimit}: the most grants of it a leader may have made
   * whose journal entry is not committed, and so the slots a new leader holds back after a crash.
   * It is {@code max(maxUncommittedGrants, poolLimit / uncommittedLimitDivisor)}: a small pool
   * keeps the fixed K, a large one a fixed share of its limit.
   */
  public int maxUncommittedGrantsFor(int poolLimit) {
    return uncommittedLimitDivisor == 0
        ? maxUncommittedGrants
        : Math.max(maxUncommittedGrants, Math.max(0, poolLimit) / uncommittedLimitDivisor);
  }

  /** This node's own entry in {@link #peers()}. */
  public Peer selfPeer() {
    return peers.get(self);
  }

  /**
   * Why {@code listen}, where this member's API listener binds, may not be where the other members
   * send its workers ({@code cluster.peers.<self>.api}, which their {@code NOT_LEADER} hints name
   * once it leads); empty when the ports agree. Only ports are compared: a listener on {@code
   * 0.0.0.0}, or on one of the host's several addresses, is usual, and a port forward in between is
   * possible, which is why a difference is a warning and not a refusal.
   */
  public Optional<String> listenMismatch(InetSocketAddress listen) {
    Peer mine = selfPeer();
    if (mine.api().getPort() == listen.getPort()) {
      return Optional.empty();
    }
    return Optional.of(
        "this member listens on port "
            + listen.getPort()
            + " (listen "
            + Addresses.format(listen)
            + "), but cluster.peers."
            + self
            + ".api is "
            + mine.apiAddress()
            + ": the other members send workers there when this member leads. Make them agree,"
            + " unless a port forward leads from one to the other");
  }

  /** How many members make a majority. */
  public int majority() {
    return peers.size() / 2 + 1;
  }

  /**
   * How long a newly elected leader waits before its first grant, unless its predecessor handed
   * off: the leader lease plus a tenth for clocks that run at slightly different rates, so any
   * lease its predecessor may still hold has run out (see docs/cluster.md).
   */
  public Duration newLeaderWait() {
    return leaderLease.plus(leaderLease.dividedBy(10));
  }

  /**
   * The longest a crash of the leader should leave the cluster without one ready to grant: the
   * maximum election timeout (the time followers take to notice) plus {@link #newLeaderWait()}.
   */
  public Duration failoverBound() {
    return electionTimeoutMax.plus(newLeaderWait());
  }

  /**
   * Collects the settings; {@link #build()} validates them. Defaults: election timeouts
   * 800ms–1600ms, leader lease 560ms, K = 4, flush every 10ms or at 256 records, 3s per append
   * attempt and 3 attempts, a snapshot every 10,000 entries, entries up to 4 MiB, a 60s pause is
   * fatal, 64 MiB of direct memory, and a session TTL of 10s to check against.
   */
  public static final class Builder {
    private String id;
    private String self;
    private final List<Peer> peers = new ArrayList<>();
    private Duration electionTimeoutMin = Defaults.ELECTION_TIMEOUT_MIN;
    private Duration electionTimeoutMax = Defaults.ELECTION_TIMEOUT_MAX;
    private Duration leaderLease = Defaults.LEADER_LEASE;
    private int maxUncommittedGrants = Defaults.MAX_UNCOMMITTED_GRANTS;
    private int uncommittedLimitDivisor = Defaults.UNCOMMITTED_LIMIT_DIVISOR;
    private Duration flushInterval = Defaults.FLUSH_INTERVAL;
    private int batchRecords = Defaults.BATCH_RECORDS;
    private Duration requestTimeout = Defaults.REQUEST_TIMEOUT;
    private int appendAttempts = Defaults.APPEND_ATTEMPTS;
    private long snapshotEvery = Defaults.SNAPSHOT_EVERY;
    private long maxRecordBytes = Defaults.MAX_RECORD_BYTES;
    private Duration pauseFatalAfter = Defaults.PAUSE_FATAL_AFTER;
    private long directMemoryBytes = Defaults.DIRECT_MEMORY_BYTES;
    private Duration sessionTtl = Duration.ofSeconds(10);

    private Builder() {}

    public Builder id(String id) {
      this.id = id;
      return this;
    }

    public Builder self(String self) {
      this.self = self;
      return this;
    }

    /**
     * Adds a member from its configured addresses.
     *
     * @throws ConfigException naming {@code cluster.peers.<id>.raft} or {@code .api} when an
     *     address is not {@code HOST:PORT}
     */
    public Builder peer(String id, String raft, String api) {
      String key = Keys.PEERS + "." + id;
      return peer(
          new Peer(id, Addresses.parse(key + ".raft", raft), Addresses.parse(key + ".api", api)));
    }

    public Builder peer(Peer peer) {
      peers.add(peer);
      return this;
    }

    public Builder electionTimeout(Duration min, Duration max) {
      this.electionTimeoutMin = min;
      this.electionTimeoutMax = max;
      return this;
    }

    public Builder leaderLease(Duration leaderLease) {
      this.leaderLease = leaderLease;
      return this;
    }

    public Builder maxUncommittedGrants(int k) {
      this.maxUncommittedGrants = k;
      return this;
    }

    public Builder uncommittedLimitDivisor(int divisor) {
      this.uncommittedLimitDivisor = divisor;
      return this;
    }

    public Builder flushInterval(Duration flushInterval) {
      this.flushInterval = flushInterval;
      return this;
    }

    public Builder batchRecords(int batchRecords) {
      this.batchRecords = batchRecords;
      return this;
    }

    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = requestTimeout;
      return this;
    }

    public Builder appendAttempts(int appendAttempts) {
      this.appendAttempts = appendAttempts;
      return this;
    }

    public Builder snapshotEvery(long entries) {
      this.snapshotEvery = entries;
      return this;
    }

    public Builder maxRecordBytes(long bytes) {
      this.maxRecordBytes = bytes;
      return this;
    }

    public Builder pauseFatalAfter(Duration pause) {
      this.pauseFatalAfter = pause;
      return this;
    }

    public Builder directMemoryBytes(long bytes) {
      this.directMemoryBytes = bytes;
      return this;
    }

    /** The broker's {@code session.ttl}, checked against the failover timing; not kept. */
    public Builder sessionTtl(Duration sessionTtl) {
      this.sessionTtl = sessionTtl;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws ConfigException naming the first key that breaks its rule
     */
    public ClusterSettings build() {
      if (id == null || !NAME.matcher(id).matches()) {
        throw new ConfigException(
            Keys.ID, "must be 1-64 letters, digits, '.', '_' or '-', got " + quoted(id));
      }
      Map<String, Peer> byId = members();
      if (self == null || self.isEmpty()) {
        throw new ConfigException(Keys.SELF, "must name this node, one of " + byId.keySet());
      }
      if (!byId.containsKey(self)) {
        throw new ConfigException(
            Keys.SELF, "names no member of cluster.peers " + byId.keySet() + ", got " + self);
      }
      checkTiming();
      Checks.range(Keys.MAX_UNCOMMITTED_GRANTS, maxUncommittedGrants, 1, 1000);
      // 1 would hold back a whole pool after a crash: the recovery window replication removes.
      if (uncommittedLimitDivisor != 0
          && (uncommittedLimitDivisor < 2 || uncommittedLimitDivisor > 1_000_000)) {
        throw new ConfigException(
            Keys.UNCOMMITTED_LIMIT_DIVISOR,
            "must be 0 (every pool's K is "
                + Keys.MAX_UNCOMMITTED_GRANTS
                + ") or 2..1000000, got "
                + uncommittedLimitDivisor);
      }
      Checks.positive(Keys.FLUSH_INTERVAL, flushInterval);
      if (flushInterval.compareTo(Duration.ofSeconds(1)) > 0) {
        throw new ConfigException(
            Keys.FLUSH_INTERVAL,
            "must be at most 1s (journal entries wait this long before replication), got "
                + Durations.format(flushInterval));
      }
      Checks.range(Keys.BATCH_RECORDS, batchRecords, 1, 65_536);
      Checks.positive(Keys.REQUEST_TIMEOUT, requestTimeout);
      Checks.range(Keys.APPEND_ATTEMPTS, appendAttempts, 1, 10);
      Checks.range(Keys.SNAPSHOT_EVERY, snapshotEvery, 100, 100_000_000);
      Checks.range(Keys.MAX_RECORD_SIZE, maxRecordBytes, 64L << 10, 64L << 20);
      Checks.range(Keys.DIRECT_MEMORY, directMemoryBytes, 16L << 20, 16L << 30);
      return new ClusterSettings(
          id,
          self,
          byId,
          electionTimeoutMin,
          electionTimeoutMax,
          leaderLease,
          maxUncommittedGrants,
          uncommittedLimitDivisor,
          flushInterval,
          batchRecords,
          requestTimeout,
          appendAttempts,
          snapshotEvery,
          (int) maxRecordBytes,
          pauseFatalAfter,
          directMemoryBytes);
    }

    private Map<String, Peer> members() {
      Map<String, Peer> byId = new LinkedHashMap<>();
      Map<String, String> owners = new HashMap<>();
      for (Peer p : peers) {
        String key = Keys.PEERS + "." + p.id();
        if (!NAME.matcher(p.id()).matches()) {
          throw new ConfigException(
              Keys.PEERS,
              "member ids must be 1-64 letters, digits, '.', '_' or '-', got " + quoted(p.id()));
        }
        if (byId.putIfAbsent(p.id(), p) != null) {
          throw new ConfigException(Keys.PEERS, "member id " + p.id() + " appears twice");
        }
        claim(owners, key + ".raft", p.raft(), p.id() + "'s raft address");
        claim(owners, key + ".api", p.api(), p.id() + "'s api address");
      }
      int n = byId.size();
      if (n < 3) {
        throw new ConfigException(
            Keys.PEERS,
            "must name at least 3 members (got "
                + n
                + "): a cluster of one or two survives no failure; leave cluster unset to run"
                + " a single broker");
      }
      if (n % 2 == 0) {
        throw new ConfigException(
            Keys.PEERS,
            "must name an odd number of members (got "
                + n
                + "): "
                + n
                + " members survive no more failures than "
                + (n - 1));
      }
      if (n > MAX_MEMBERS) {
        throw new ConfigException(
            Keys.PEERS, "must name at most " + MAX_MEMBERS + " members, got " + n);
      }
      return byId;
    }

    /** Every address belongs to one member and one role, and names a fixed port. */
    private static void claim(
        Map<String, String> owners, String key, InetSocketAddress address, String role) {
      if (address.getPort() == 0) {
        throw new ConfigException(
            key, "must name a fixed port (the other members must find it), got port 0");
      }
      String normal = address.getHostString().toLowerCase(Locale.ROOT) + ":" + address.getPort();
      String previous = owners.putIfAbsent(normal, role);
      if (previous != null) {
        throw new ConfigException(
            key, Addresses.format(address) + " is already " + previous + "; each must differ");
      }
    }

    private void checkTiming() {
      Checks.positive(Keys.ELECTION_TIMEOUT_MIN, electionTimeoutMin);
      Checks.positive(Keys.ELECTION_TIMEOUT_MAX, electionTimeoutMax);
      if (electionTimeoutMin.compareTo(Duration.ofMillis(50)) < 0) {
        throw new ConfigException(
            Keys.ELECTION_TIMEOUT_MIN,
            "must be at least 50ms, got " + Durations.format(electionTimeoutMin));
      }
      above(
          Keys.ELECTION_TIMEOUT_MAX,
          electionTimeoutMax,
          Keys.ELECTION_TIMEOUT_MIN,
          electionTimeoutMin);
      Checks.positive(Keys.LEADER_LEASE, leaderLease);
      Duration heartbeat = electionTimeoutMin.dividedBy(2);
      if (leaderLease.compareTo(heartbeat) <= 0 || leaderLease.compareTo(electionTimeoutMin) >= 0) {
        throw new ConfigException(
            Keys.LEADER_LEASE,
            "must lie between the heartbeat period ("
                + Durations.format(heartbeat)
                + ", half of cluster.election_timeout_min) and cluster.election_timeout_min ("
                + Durations.format(electionTimeoutMin)
                + "), got "
                + Durations.format(leaderLease));
      }
      Checks.positive(Keys.PAUSE_FATAL_AFTER, pauseFatalAfter);
      above(Keys.PAUSE_FATAL_AFTER, pauseFatalAfter, Keys.ELECTION_TIMEOUT_MAX, electionTimeoutMax);
      Checks.positive("session.ttl", sessionTtl);
      Duration failover = electionTimeoutMax.plus(leaderLease.plus(leaderLease.dividedBy(10)));
      if (sessionTtl.compareTo(failover.multipliedBy(2)) < 0) {
        throw new ConfigException(
            "session.ttl",
            "must be at least twice the failover time of the cluster ("
                + Durations.format(failover)
                + " = cluster.election_timeout_max + cluster.leader_lease + 10%), so workers"
                + " find the next leader before their leases run out; got "
                + Durations.format(sessionTtl));
      }
    }

    private static void above(String key, Duration value, String lowerKey, Duration lower) {
      if (value.compareTo(lower) <= 0) {
        throw new ConfigException(
            key,
            "must be above "
                + lowerKey
                + " ("
                + Durations.format(lower)
                + "), got "
                + Durations.format(value));
      }
    }

    private static String quoted(String s) {
      return s == null ? "nothing" : "'" + s + "'";
    }
  }
}
