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
 * @param maxUncommittedGrants K: grants per pool a leader may have made whose journal entry is not
 *     yet committed; a new leader holds back exactly this many per pool
 * @param flushInterval how long the journal collects records before it sends them
 * @param batchRecords the journal sends at once when this many records wait
 * @param requestTimeout one attempt of an append; a failed attempt is retried up to {@code
 *     appendAttempts} times in all, then the append fails
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

  public ClusterSettings {
    peers = Collections.unmodifiableMap(new LinkedHashMap<>(peers));
  }

  public static Builder newBuilder() {
    return new Builder();
  }

  /** This node's own entry in {@link #peers()}. */
  public Peer selfPeer() {
    return peers.get(self);
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
   * 800ms–1600ms, leader lease 560ms, K = 4, flush every 2ms or at 256 records, 3s per append
   * attempt and 3 attempts, a snapshot every 10,000 entries, entries up to 4 MiB, a 60s pause is
   * fatal, 64 MiB of direct memory, and a session TTL of 10s to check against.
   */
  public static final class Builder {
    private String id;
    private String self;
    private final List<Peer> peers = new ArrayList<>();
    // Ratis notices a silent leader between one and two of these after its last message, and
    // heartbeats every half minimum; the lease leaves 160ms above a heartbeat for round trips.
    private Duration electionTimeoutMin = Duration.ofMillis(800);
    private Duration electionTimeoutMax = Duration.ofMillis(1600);
    private Duration leaderLease = Duration.ofMillis(560);
    private int maxUncommittedGrants = 4;
    private Duration flushInterval = Duration.ofMillis(2);
    private int batchRecords = 256;
    private Duration requestTimeout = Duration.ofSeconds(3);
    private int appendAttempts = 3;
    private long snapshotEvery = 10_000;
    private int maxRecordBytes = 4 << 20;
    private Duration pauseFatalAfter = Duration.ofSeconds(60);
    private long directMemoryBytes = 64L << 20;
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
      String key = "cluster.peers." + id;
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

    public Builder maxRecordBytes(int bytes) {
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
            "cluster.id", "must be 1-64 letters, digits, '.', '_' or '-', got " + quoted(id));
      }
      Map<String, Peer> byId = members();
      if (self == null || self.isEmpty()) {
        throw new ConfigException("cluster.self", "must name this node, one of " + byId.keySet());
      }
      if (!byId.containsKey(self)) {
        throw new ConfigException(
            "cluster.self", "names no member of cluster.peers " + byId.keySet() + ", got " + self);
      }
      checkTiming();
      Checks.range("cluster.journal.max_uncommitted_grants", maxUncommittedGrants, 1, 1000);
      Checks.positive("cluster.journal.flush_interval", flushInterval);
      if (flushInterval.compareTo(Duration.ofSeconds(1)) > 0) {
        throw new ConfigException(
            "cluster.journal.flush_interval",
            "must be at most 1s (journal entries wait this long before replication), got "
                + Durations.format(flushInterval));
      }
      Checks.range("cluster.journal.batch_records", batchRecords, 1, 65_536);
      Checks.positive("cluster.raft.request_timeout", requestTimeout);
      Checks.range("cluster.raft.append_attempts", appendAttempts, 1, 10);
      Checks.range("cluster.raft.snapshot_every", snapshotEvery, 100, 100_000_000);
      Checks.range("cluster.raft.max_record_size", maxRecordBytes, 64 << 10, 64 << 20);
      Checks.range("cluster.raft.direct_memory", directMemoryBytes, 16L << 20, 16L << 30);
      return new ClusterSettings(
          id,
          self,
          byId,
          electionTimeoutMin,
          electionTimeoutMax,
          leaderLease,
          maxUncommittedGrants,
          flushInterval,
          batchRecords,
          requestTimeout,
          appendAttempts,
          snapshotEvery,
          maxRecordBytes,
          pauseFatalAfter,
          directMemoryBytes);
    }

    private Map<String, Peer> members() {
      Map<String, Peer> byId = new LinkedHashMap<>();
      Map<String, String> owners = new HashMap<>();
      for (Peer p : peers) {
        String key = "cluster.peers." + p.id();
        if (!NAME.matcher(p.id()).matches()) {
          throw new ConfigException(
              "cluster.peers",
              "member ids must be 1-64 letters, digits, '.', '_' or '-', got " + quoted(p.id()));
        }
        if (byId.putIfAbsent(p.id(), p) != null) {
          throw new ConfigException("cluster.peers", "member id " + p.id() + " appears twice");
        }
        claim(owners, key + ".raft", p.raft(), p.id() + "'s raft address");
        claim(owners, key + ".api", p.api(), p.id() + "'s api address");
      }
      int n = byId.size();
      if (n < 3) {
        throw new ConfigException(
            "cluster.peers",
            "must name at least 3 members (got "
                + n
                + "): a cluster of one or two survives no failure; leave cluster unset to run"
                + " a single broker");
      }
      if (n % 2 == 0) {
        throw new ConfigException(
            "cluster.peers",
            "must name an odd number of members (got "
                + n
                + "): "
                + n
                + " members survive no more failures than "
                + (n - 1));
      }
      if (n > MAX_MEMBERS) {
        throw new ConfigException(
            "cluster.peers", "must name at most " + MAX_MEMBERS + " members, got " + n);
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
      Checks.positive("cluster.election_timeout_min", electionTimeoutMin);
      Checks.positive("cluster.election_timeout_max", electionTimeoutMax);
      if (electionTimeoutMin.compareTo(Duration.ofMillis(50)) < 0) {
        throw new ConfigException(
            "cluster.election_timeout_min",
            "must be at least 50ms, got " + Durations.format(electionTimeoutMin));
      }
      above(
          "cluster.election_timeout_max",
          electionTimeoutMax,
          "cluster.election_timeout_min",
          electionTimeoutMin);
      Checks.positive("cluster.leader_lease", leaderLease);
      Duration heartbeat = electionTimeoutMin.dividedBy(2);
      if (leaderLease.compareTo(heartbeat) <= 0 || leaderLease.compareTo(electionTimeoutMin) >= 0) {
        throw new ConfigException(
            "cluster.leader_lease",
            "must lie between the heartbeat period ("
                + Durations.format(heartbeat)
                + ", half of cluster.election_timeout_min) and cluster.election_timeout_min ("
                + Durations.format(electionTimeoutMin)
                + "), got "
                + Durations.format(leaderLease));
      }
      Checks.positive("cluster.raft.pause_fatal_after", pauseFatalAfter);
      above(
          "cluster.raft.pause_fatal_after",
          pauseFatalAfter,
          "cluster.election_timeout_max",
          electionTimeoutMax);
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
