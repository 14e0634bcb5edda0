package dev.berth.bench.suite;

import dev.berth.bench.suite.GoalResult.Target;
import dev.berth.common.CommandLines;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine;

/**
 * {@code bin/bench}: the benchmark suite (docs/benchmarks.md). Each goal runs its baseline and
 * Berth in interleaved rounds against servers in their own processes and prints the ratio of the
 * two with PASS or MISS; a miss is a result, not an error (exit 0). Exit 2 for a bad option, 1 when
 * the suite itself fails. See docs/benchmarks.md.
 */
public final class Suite {
  /**
   * JVM options of every bench server JVM (Berth and the bare baseline alike), then those in {@code
   * BERTH_BENCH_SERVER_OPTS} (e.g. {@code -XX:StartFlightRecording=filename=/tmp/s.jfr}).
   */
  static final List<String> SERVER_JVM = serverJvm(System.getenv("BERTH_BENCH_SERVER_OPTS"));

  /** The bench server JVM's options followed by {@code extra} (split on white space). */
  public static List<String> serverJvm(String extra) {
    List<String> jvm = new ArrayList<>(List.of("-Xms256m", "-Xmx1g", "-XX:+UseG1GC"));
    if (extra != null && !extra.isBlank()) {
      jvm.addAll(List.of(extra.trim().split("\\s+")));
    }
    return List.copyOf(jvm);
  }

  /** A warm-up's step once {@code --warmup} is over and the JIT has not settled. */
  private static final Duration WARM_STEP = Duration.ofSeconds(5);

  private final SuiteOptions o;
  private final ScheduledExecutorService beats =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "bench-heartbeats");
            t.setDaemon(true);
            return t;
          });

  Suite(SuiteOptions o) {
    this.o = o;
  }

  public static void main(String[] args) {
    CommandLine line = CommandLines.configure(SuiteOptions.commandLine(), System.out, System.err);
    SuiteOptions options;
    try {
      line.parseArgs(args);
      options = SuiteOptions.from(line);
    } catch (CommandLine.ParameterException e) {
      CommandLines.usageError(e, line.getErr());
      System.exit(CommandLines.USAGE);
      return;
    }
    if (options.help) {
      line.usage(line.getOut());
      System.exit(0);
    }
    try {
      String machine = Machine.describe();
      System.out.println(machine);
      List<GoalResult> results = new Suite(options).run();
      String after = "load average after: " + Machine.loadAverage();
      System.out.println();
      System.out.print(Report.text(results));
      System.out.println(after);
      if (options.markdown != null) {
        Files.writeString(
            options.markdown,
            "```\n" + machine + "\n" + after + "\n```\n\n" + Report.markdown(results));
      }
      System.exit(0);
    } catch (Exception | AssertionError e) {
      System.err.println("bench: the suite failed: " + e);
      e.printStackTrace();
      System.exit(1);
    }
  }

  List<GoalResult> run() throws Exception {
    List<GoalResult> results = new ArrayList<>();
    try {
      boolean needsBerth =
          o.only.contains("G1")
              || o.only.contains("G2")
              || o.only.contains("G3")
              || o.only.contains("G4")
              || o.only.contains("G6")
              || o.only.contains("G7")
              || o.only.contains("C1");
      try (ServerProcess berth =
          needsBerth ? ServerProcess.java("berth", SERVER_JVM, loneServerArgs()) : null) {
        if (o.only.contains("G1")) {
          results.addAll(g1(berth));
        }
        if (o.only.contains("G2")) {
          results.addAll(g2(berth));
        }
        if (o.only.contains("G3") || o.only.contains("G4")) {
          results.addAll(vsEtcd(berth));
        }
        if (o.only.contains("G6")) {
          results.addAll(g6Rpc(berth));
        }
        if (o.only.contains("G7")) {
          results.addAll(g7(berth));
        }
        if (o.only.contains("C1") || o.only.contains("C2") || o.only.contains("C3")) {
          results.addAll(cluster(berth));
        }
      }
      if (o.only.contains("G5")) {
        results.addAll(new HeapPerSession(o.sessions, Math.min(o.rounds, 3)).measure());
      }
      if (o.only.contains("G8")) {
        results.addAll(Admission.jmh(o.smoke));
      }
      if (o.only.contains("G9")) {
        results.addAll(new Flood(o, beats).measure());
      }
    } finally {
      beats.shutdownNow();
    }
    // Goal order, whatever order the servers were needed in.
    results.sort(java.util.Comparator.comparing(GoalResult::goal));
    return results;
  }

  /**
   * The daemon's flags for the bench: no metrics endpoint, no caps, no rate limit but on {@link
   * Ops#REFUSED_HOST}, RENDER slots for every slot, no memory charged per lease. {@code idle} (G5)
   * heartbeats every 10 s instead of 2 s.
   */
  static List<String> berthArgs(boolean idle) {
    List<String> a = berthServer();
    a.addAll(
        List.of(
            "--pools.render.limit",
            "1000000",
            "--pools.render.memory_estimate_mb",
            "0",
            "--rate_limit.default_rate",
            "1000000000",
            "--rate_limit.default_burst",
            "1000000",
            "--rate_limit.hosts",
            "{" + Ops.REFUSED_HOST + ": {rate: 0.001, burst: 1}}",
            "--caps.sessions_per_principal",
            "0",
            "--caps.leases_per_principal",
            "0",
            "--caps.queued_per_principal",
            "0"));
    if (idle) {
      a.addAll(List.of("--session.heartbeat_interval", "10s", "--session.ttl", "60s"));
    }
    return a;
  }

  /**
   * The lone server's flags: {@link #berthArgs}, its event loops ({@link #eventLoopArgs}), then the
   * {@code --server-flag}s (later wins).
   */
  private List<String> loneServerArgs() {
    List<String> a = berthArgs(false);
    a.addAll(eventLoopArgs());
    a.addAll(o.serverFlags);
    return a;
  }

  /**
   * {@code --transport.event_loops} at {@link #serverEventLoops}, for the lone and cluster daemons.
   */
  private static List<String> eventLoopArgs() {
    return List.of("--transport.event_loops", Integer.toString(serverEventLoops()));
  }

  /**
   * One event loop per core the load generator leaves the server: the two split the machine's
   * cores, half each (1 of 2). A daemon that has its host to itself gets the transport's default
   * instead (two per core); on cores shared with a busy generator, loops beyond the server's share
   * only contend for the broker's lock (docs/benchmarks.md, "Event loops").
   */
  static int serverEventLoops() {
    return Math.max(1, Runtime.getRuntime().availableProcessors() / 2);
  }

  /**
   * The start of every bench daemon's command line: {@link BenchServerMain}'s {@code berth}, a free
   * loopback port, the state in the server's directory, no metrics endpoint.
   */
  public static List<String> berthServer() {
    return new ArrayList<>(
        List.of(
            "berth", "--listen", "127.0.0.1:0", "--state-dir", "state", "--metrics.listen", "off"));
  }

  // --- G1, G2: the lease cycle against two pings on the same server and channel ---------------

  private List<GoalResult> g1(ServerProcess berth) throws Exception {
    try (Clients c = new Clients(berth.port(), 1, true, beats)) {
      LoadGen.Op pings = Ops.pingPair(c.channel(0));
      LoadGen.Op cycle = Ops.berthCycle(c.channel(0), c.session(0));
      Map<String, Variant> v = new LinkedHashMap<>();
      v.put("2 pings", new Variant(List.of(pings), berth::cpuMicros));
      v.put("cycle", new Variant(List.of(cycle), berth::cpuMicros));
      // The cycle's messages answered without a broker: how much of the gap is the messages.
      v.put(
          "shaped",
          new Variant(List.of(Ops.shapedPair(c.channel(0), c.session(0))), berth::cpuMicros));
      if (o.spin > 0) {
        // The same two operations with no idle CPU, in the same rounds: what wake-ups cost.
        v.put("2 pings busy", new Variant(List.of(pings), berth::cpuMicros, o.spin));
        v.put("cycle busy", new Variant(List.of(cycle), berth::cpuMicros, o.spin));
      }
      Map<String, List<LoadGen.Result>> r = interleaveVariants(v);
      List<LoadGen.Result> ping = r.get("2 pings");
      List<LoadGen.Result> cycles = r.get("cycle");
      List<LoadGen.Result> shaped = r.get("shaped");
      String detail =
          String.format(
              Locale.ROOT,
              "1 in flight; cycle p50 %s us p99 %s us; 2 pings p50 %s us p99 %s us; the cycle's"
                  + " messages answered without a broker (ShapedPing, %s) p50 %s us p99 %s us,"
                  + " %s and %s of 2 pings",
              med(cycles, x -> x.micros(50)),
              med(cycles, x -> x.micros(99)),
              med(ping, x -> x.micros(50)),
              med(ping, x -> x.micros(99)),
              answerSizes(c),
              med(shaped, x -> x.micros(50)),
              med(shaped, x -> x.micros(99)),
              Report.number(ratio(shaped, ping, x -> x.micros(50)).median()),
              Report.number(ratio(shaped, ping, x -> x.micros(99)).median()));
      List<GoalResult> out = new ArrayList<>();
      out.add(
          GoalResult.measured(
              "G1",
              "p50 latency, Acquire+Release / 2 pings",
              ratio(cycles, ping, x -> x.micros(50)),
              Target.atMost(1.05),
              detail));
      out.add(
          GoalResult.measured(
              "G1",
              "p99 latency, Acquire+Release / 2 pings",
              ratio(cycles, ping, x -> x.micros(99)),
              Target.atMost(1.15),
              ""));
      if (o.spin > 0) {
        List<LoadGen.Result> pingBusy = r.get("2 pings busy");
        List<LoadGen.Result> cycleBusy = r.get("cycle busy");
        out.add(
            GoalResult.measured(
                "G1",
                "p50 latency, Acquire+Release / 2 pings, no idle CPU",
                ratio(cycleBusy, pingBusy, x -> x.micros(50)),
                Target.atMost(1.05),
                String.format(
                    Locale.ROOT,
                    "%d spinners at SCHED_IDLE, in the same rounds as the rows above: cycle p50"
                        + " %s us p99 %s us; 2 pings p50 %s us p99 %s us; p50 busy / idle CPUs:"
                        + " cycle %s, 2 pings %s",
                    o.spin,
                    med(cycleBusy, x -> x.micros(50)),
                    med(cycleBusy, x -> x.micros(99)),
                    med(pingBusy, x -> x.micros(50)),
                    med(pingBusy, x -> x.micros(99)),
                    Report.number(ratio(cycleBusy, cycles, x -> x.micros(50)).median()),
                    Report.number(ratio(pingBusy, ping, x -> x.micros(50)).median()))));
        out.add(
            GoalResult.measured(
                "G1",
                "p99 latency, Acquire+Release / 2 pings, no idle CPU",
                ratio(cycleBusy, pingBusy, x -> x.micros(99)),
                Target.atMost(1.15),
                ""));
      }
      return out;
    }
  }

  private List<GoalResult> g2(ServerProcess berth) throws Exception {
    try (Clients c = new Clients(berth.port(), channelsFor(o.concurrency), true, beats)) {
      return vsPingPairs(
          "G2",
          "",
          "cycle",
          c.slots(o.concurrency, Ops::berthCycle),
          new Shaped(c.slots(o.concurrency, Ops::shapedPair), answerSizes(c)),
          c,
          berth,
          0.90,
          1.10);
    }
  }

  /**
   * G2's third variant: the cycle's messages without a broker, and their sizes against real ones.
   */
  private record Shaped(List<LoadGen.Op> ops, String sizes) {}

  /** {@code answers of 128 + 4 bytes, the broker's 126 + 4}: ShapedPing's and one real cycle's. */
  private static String answerSizes(Clients c) {
    dev.berth.proto.v1.LeaseBrokerGrpc.LeaseBrokerBlockingStub stub =
        dev.berth.proto.v1.LeaseBrokerGrpc.newBlockingStub(c.channel(0))
            .withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS);
    dev.berth.proto.v1.AcquireResponse granted =
        stub.acquire(Ops.render(c.session(0), Ops.CYCLE_URL));
    dev.berth.proto.v1.ReleaseResponse released =
        stub.release(
            dev.berth.proto.v1.ReleaseRequest.newBuilder()
                .setSessionId(c.session(0))
                .setLeaseId(granted.getGranted().getLeaseId())
                .build());
    return String.format(
        Locale.ROOT,
        "answers of %d + %d bytes, the broker's %d + %d",
        ShapedPing.GRANTED.getSerializedSize(),
        ShapedPing.RELEASED.getSerializedSize(),
        granted.getSerializedSize(),
        released.getSerializedSize());
  }

  /**
   * Lease cycles of one kind against ping pairs on the same server and connections, {@code
   * --concurrency} in flight: the throughput ratio (at least {@code minThroughput}) and the server
   * CPU per operation (at most {@code maxCpu}).
   *
   * @param how what the detail says of the connections, after their number
   * @param name the cycle variant's name
   * @param shaped the cycle's messages answered without a broker ({@link ShapedPing}), a third
   *     variant in the same rounds whose figures the detail reports; null: none
   */
  private List<GoalResult> vsPingPairs(
      String goal,
      String how,
      String name,
      List<LoadGen.Op> cycles,
      Shaped shaped,
      Clients c,
      ServerProcess berth,
      double minThroughput,
      double maxCpu)
      throws InterruptedException, java.io.IOException {
    Map<String, List<LoadGen.Op>> v =
        variants("2 pings", c.slots(o.concurrency, (ch, s) -> Ops.pingPair(ch)), name, cycles);
    if (shaped != null) {
      v.put("shaped", shaped.ops());
    }
    Map<String, List<LoadGen.Result>> r = interleave(v, berth::cpuMicros);
    List<LoadGen.Result> ping = r.get("2 pings");
    List<LoadGen.Result> cycle = r.get(name);
    String detail =
        String.format(
            Locale.ROOT,
            "%d in flight on %d connections%s; %ss %s; ping pairs %s",
            o.concurrency,
            c.size(),
            how,
            name,
            rate(cycle),
            rate(ping));
    if (shaped != null) {
      List<LoadGen.Result> s = r.get("shaped");
      detail +=
          String.format(
              Locale.ROOT,
              "; the cycle's messages answered without a broker (ShapedPing, %s) %s, against"
                  + " ping pairs %s",
              shaped.sizes(),
              rate(s),
              againstBaseline(s, ping));
    }
    return List.of(
        GoalResult.measured(
            goal,
            "throughput, " + name + "s / ping pairs",
            ratio(cycle, ping, LoadGen.Result::opsPerSecond),
            Target.atLeast(minThroughput),
            detail),
        GoalResult.measured(
            goal,
            "server CPU per op, " + name + " / ping pair",
            ratio(cycle, ping, LoadGen.Result::cpuMicrosPerOp),
            Target.atMost(maxCpu),
            ""));
  }

  // --- G3, G4: against etcd ---------------------------------------------------------------------

  private List<GoalResult> vsEtcd(ServerProcess berth) throws Exception {
    List<GoalResult> out = new ArrayList<>();
    String missing = etcdMissing();
    if (missing != null) {
      if (o.only.contains("G3")) {
        out.add(
            GoalResult.skipped(
                "G3", "ops/s, Berth stream cycle / etcd", Target.atLeast(10), missing));
        out.add(
            GoalResult.skipped(
                "G3", "p50, Berth stream cycle / etcd", Target.atMost(0.2), missing));
      }
      if (o.only.contains("G4")) {
        out.add(
            GoalResult.skipped("G4", "heartbeats/s, Berth / etcd", Target.atLeast(1.5), missing));
      }
      return out;
    }
    try (ServerProcess etcd = ServerProcess.etcd(o.etcd)) {
      if (o.only.contains("G3")) {
        out.addAll(g3(berth, etcd));
      }
      if (o.only.contains("G4")) {
        out.addAll(g4(berth, etcd));
      }
    }
    return out;
  }

  private String etcdMissing() {
    if (o.etcd == null || !Files.isExecutable(o.etcd)) {
      return "etcd not found"
          + (o.etcd == null ? " on PATH" : " at " + o.etcd)
          + " (Debian: apt-get install etcd-server)";
    }
    return null;
  }

  private List<GoalResult> g3(ServerProcess berth, ServerProcess etcd) throws Exception {
    int k = channelsFor(o.concurrency);
    try (Clients b = new Clients(berth.port(), k, true, beats);
        Clients e = new Clients(etcd.port(), k, false, beats)) {
      Map<String, Variant> v = new LinkedHashMap<>();
      v.put(
          "etcd sat",
          new Variant(e.slots(o.concurrency, (ch, s) -> Ops.etcdCycle(ch)), etcd::cpuMicros));
      v.put("berth sat", new Variant(b.streamCycles(o.concurrency), berth::cpuMicros));
      v.put("etcd 1", new Variant(List.of(Ops.etcdCycle(e.channel(0))), etcd::cpuMicros));
      v.put("berth 1", new Variant(List.of(Ops.streamCycle(b.stream(0))), berth::cpuMicros));
      Map<String, List<LoadGen.Result>> r = interleaveVariants(v);
      String detail =
          String.format(
              Locale.ROOT,
              "%d in flight: Berth %s, etcd %s; 1 in flight p50:"
                  + " Berth %s us, etcd %s us. Berth's cycles are acquire and release on the"
                  + " session stream; etcd's leases are durable (raft log fsync'd to disk),"
                  + " Berth's live in memory",
              o.concurrency,
              rate(r.get("berth sat")),
              rate(r.get("etcd sat")),
              med(r.get("berth 1"), x -> x.micros(50)),
              med(r.get("etcd 1"), x -> x.micros(50)));
      return List.of(
          GoalResult.measured(
              "G3",
              "ops/s, Berth stream cycle / etcd grant+revoke",
              ratio(r.get("berth sat"), r.get("etcd sat"), LoadGen.Result::opsPerSecond),
              Target.atLeast(10),
              detail),
          GoalResult.measured(
              "G3",
              "p50, Berth stream cycle / etcd grant+revoke",
              ratio(r.get("berth 1"), r.get("etcd 1"), x -> x.micros(50)),
              Target.atMost(0.2),
              ""));
    }
  }

  private List<GoalResult> g4(ServerProcess berth, ServerProcess etcd) throws Exception {
    int k = channelsFor(o.streams);
    try (Clients b = new Clients(berth.port(), k, false, beats);
        Clients e = new Clients(etcd.port(), k, false, beats)) {
      List<Streams.Beating> berthStreams = new ArrayList<>();
      List<Streams.Beating> etcdStreams = new ArrayList<>();
      try {
        for (int i = 0; i < o.streams; i++) {
          berthStreams.add(Streams.openBerth(b.channel(i % k), "hb-" + i, true));
          etcdStreams.add(Streams.openEtcd(e.channel(i % k)));
        }
        Map<String, Variant> v = new LinkedHashMap<>();
        v.put("etcd", new Variant(ops(etcdStreams), etcd::cpuMicros));
        v.put("berth", new Variant(ops(berthStreams), berth::cpuMicros));
        Map<String, List<LoadGen.Result>> r = interleaveVariants(v);
        String detail =
            String.format(
                Locale.ROOT,
                "%d streams on %d connections, each heartbeating closed-loop: Berth %s"
                    + ", etcd %s; every Berth heartbeat reports new usage, so"
                    + " none is answered from the throttle",
                o.streams,
                k,
                rate(r.get("berth")),
                rate(r.get("etcd")));
        return List.of(
            GoalResult.measured(
                "G4",
                "heartbeats/s, Berth sessions / etcd keep-alive",
                ratio(r.get("berth"), r.get("etcd"), LoadGen.Result::opsPerSecond),
                Target.atLeast(1.5),
                detail));
      } finally {
        berthStreams.forEach(Streams.Beating::close);
        etcdStreams.forEach(Streams.Beating::close);
      }
    }
  }

  private static List<LoadGen.Op> ops(List<Streams.Beating> streams) {
    return streams.stream().map(Streams.Beating::op).toList();
  }

  // --- G6 over RPC: a refused acquire against a ping -------------------------------------------

  private List<GoalResult> g6Rpc(ServerProcess berth) throws Exception {
    try (Clients c = new Clients(berth.port(), channelsFor(o.concurrency), true, beats)) {
      Map<String, List<LoadGen.Op>> v =
          variants(
              "ping", c.slots(o.concurrency, (ch, s) -> Ops.ping(ch)),
              "refused", c.slots(o.concurrency, Ops::berthRefused));
      v.put("shaped", c.slots(o.concurrency, Ops::shapedRefused));
      Map<String, List<LoadGen.Result>> r = interleave(v, berth::cpuMicros);
      List<LoadGen.Result> ping = r.get("ping");
      List<LoadGen.Result> shaped = r.get("shaped");
      String detail =
          String.format(
              Locale.ROOT,
              "%d in flight: refused Acquire %s; ping %s; the refusal's messages answered without"
                  + " a broker (ShapedPing, %s) %s, against pings %s",
              o.concurrency,
              rate(r.get("refused")),
              rate(ping),
              refusalSizes(c),
              rate(shaped),
              againstBaseline(shaped, ping));
      return List.of(
          GoalResult.measured(
              "G6",
              "throughput, refused Acquire / ping",
              ratio(r.get("refused"), ping, LoadGen.Result::opsPerSecond),
              Target.atLeast(0.95),
              detail));
    }
  }

  /**
   * {@code 0.920 throughput and 1.07 CPU per op}: a ShapedPing variant's medians against the
   * baseline it is read with, as G2's and G6's details print them.
   */
  private static String againstBaseline(List<LoadGen.Result> shaped, List<LoadGen.Result> base) {
    return Report.number(ratio(shaped, base, LoadGen.Result::opsPerSecond).median())
        + " throughput and "
        + Report.number(ratio(shaped, base, LoadGen.Result::cpuMicrosPerOp).median())
        + " CPU per op";
  }

  /** {@code an answer of 122 bytes, the broker's 122}: ShapedPing's refusal and a real one's. */
  private static String refusalSizes(Clients c) {
    // Measured after the rounds, which took the host's one token: this acquire is refused.
    dev.berth.proto.v1.AcquireResponse refused =
        dev.berth.proto.v1.LeaseBrokerGrpc.newBlockingStub(c.channel(0))
            .withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
            .acquire(Ops.render(c.session(0), "https://" + Ops.REFUSED_HOST + "/page"));
    if (!refused.hasRefused()) {
      throw new IllegalStateException("G6's acquire was granted after its rounds: " + refused);
    }
    return String.format(
        Locale.ROOT,
        "an answer of %d bytes, the broker's %d",
        ShapedPing.REFUSED.getSerializedSize(),
        refused.getSerializedSize());
  }

  // --- G7: the lease cycle on the session stream against two pings ----------------------------

  /**
   * Stream lease cycles (acquire and release as calls on each connection's session stream, {@code
   * --concurrency} in flight shared by the streams) against ping pairs on the same server and
   * connections: the stream path must beat what any design of two unary calls can reach.
   */
  private List<GoalResult> g7(ServerProcess berth) throws Exception {
    try (Clients c = new Clients(berth.port(), channelsFor(o.concurrency), true, beats)) {
      return vsPingPairs(
          "G7",
          ", one session stream each",
          "stream cycle",
          c.streamCycles(o.concurrency),
          null,
          c,
          berth,
          1.3,
          0.75);
    }
  }

  // --- C1-C3: three brokers in a Raft cluster -------------------------------------------------

  /**
   * C1: lease cycles on the leader of a three-broker cluster against the lone broker {@code single}
   * (same flags, same run), saturated and one in flight; C2: the cluster's cycles against etcd's
   * lease grant+revoke on a three-member etcd cluster; C3: the CPU an idle follower uses.
   */
  private List<GoalResult> cluster(ServerProcess single) throws Exception {
    List<GoalResult> out = new ArrayList<>();
    List<String> flags = berthArgs(false);
    flags.addAll(eventLoopArgs());
    flags.addAll(o.clusterFlags);
    try (BenchCluster cluster = BenchCluster.start(SERVER_JVM, flags)) {
      ServerProcess leader = cluster.awaitLeaderGranting();
      if (o.only.contains("C1")) {
        out.addAll(c1(single, cluster, leader));
      }
      if (o.only.contains("C2")) {
        out.addAll(c2(cluster, leader));
      }
      if (o.only.contains("C3")) {
        out.add(c3(cluster.followers(leader)));
      }
    }
    return out;
  }

  private List<GoalResult> c1(ServerProcess single, BenchCluster cluster, ServerProcess leader)
      throws Exception {
    int k = channelsFor(o.concurrency);
    try (Clients s = new Clients(single.port(), k, true, beats);
        Clients l = new Clients(leader.port(), k, true, beats)) {
      Ops.Retries sat = new Ops.Retries();
      Ops.Retries one = new Ops.Retries();
      Map<String, Variant> v = new LinkedHashMap<>();
      v.put("single sat", new Variant(s.slots(o.concurrency, Ops::berthCycle), single::cpuMicros));
      v.put(
          "cluster sat",
          new Variant(
              l.slots(o.concurrency, (ch, sid) -> Ops.berthCycle(ch, sid, sat)),
              leader::cpuMicros));
      v.put(
          "single 1",
          new Variant(List.of(Ops.berthCycle(s.channel(0), s.session(0))), single::cpuMicros));
      v.put(
          "cluster 1",
          new Variant(List.of(Ops.berthCycle(l.channel(0), l.session(0), one)), leader::cpuMicros));
      BenchCluster.JournalCount before = cluster.journal(leader);
      Map<String, List<LoadGen.Result>> r = interleaveVariants(v);
      BenchCluster.JournalCount journal = cluster.journal(leader).minus(before);
      String detail =
          String.format(
              Locale.ROOT,
              "%d in flight: cluster leader %s, lone broker %s; 1 in flight p50: cluster %s us,"
                  + " lone %s us; acquires held back for replication (rule %s) and retried,"
                  + " warm-up included: %d in flight %s, 1 in flight %s; journal (both loads,"
                  + " warm-ups included): %s",
              o.concurrency,
              rate(r.get("cluster sat")),
              rate(r.get("single sat")),
              med(r.get("cluster 1"), x -> x.micros(50)),
              med(r.get("single 1"), x -> x.micros(50)),
              Ops.REPLICATION_RULE,
              o.concurrency,
              sat,
              one,
              journal);
      return List.of(
          GoalResult.measured(
              "C1",
              "throughput, 3-broker cluster / lone broker",
              ratio(r.get("cluster sat"), r.get("single sat"), LoadGen.Result::opsPerSecond),
              Target.atLeast(0.8),
              detail),
          GoalResult.measured(
              "C1",
              "p50, 3-broker cluster / lone broker",
              ratio(r.get("cluster 1"), r.get("single 1"), x -> x.micros(50)),
              Target.atMost(1.2),
              ""));
    }
  }

  private List<GoalResult> c2(BenchCluster cluster, ServerProcess leader) throws Exception {
    String missing = etcdMissing();
    if (missing != null) {
      return List.of(
          GoalResult.skipped(
              "C2", "ops/s, 3-broker cluster / 3-member etcd", Target.atLeast(5), missing));
    }
    List<ServerProcess> etcd = ServerProcess.etcdCluster(o.etcd, 3);
    try {
      int k = channelsFor(o.concurrency);
      try (Clients l = new Clients(leader.port(), k, true, beats);
          Clients e = new Clients(etcd.get(0).port(), k, false, beats)) {
        LongSupplier etcdCpu = () -> etcd.stream().mapToLong(ServerProcess::cpuMicros).sum();
        Ops.Retries retries = new Ops.Retries();
        Map<String, Variant> v = new LinkedHashMap<>();
        v.put(
            "cluster sat",
            new Variant(
                l.slots(o.concurrency, (ch, sid) -> Ops.berthCycle(ch, sid, retries)),
                leader::cpuMicros));
        v.put(
            "etcd3 sat",
            new Variant(e.slots(o.concurrency, (ch, sid) -> Ops.etcdCycle(ch)), etcdCpu));
        BenchCluster.JournalCount before = cluster.journal(leader);
        Map<String, List<LoadGen.Result>> r = interleaveVariants(v);
        BenchCluster.JournalCount journal = cluster.journal(leader).minus(before);
        return List.of(
            GoalResult.measured(
                "C2",
                "ops/s, 3-broker cluster / 3-member etcd grant+revoke",
                ratio(r.get("cluster sat"), r.get("etcd3 sat"), LoadGen.Result::opsPerSecond),
                Target.atLeast(5),
                String.format(
                    Locale.ROOT,
                    "%d in flight: Berth cluster leader %s, etcd (3 members, CPU of all three)"
                        + " %s; Berth acquires held back for replication and retried: %s;"
                        + " journal (warm-up included): %s",
                    o.concurrency,
                    rate(r.get("cluster sat")),
                    rate(r.get("etcd3 sat")),
                    retries,
                    journal)));
      }
    } finally {
      etcd.forEach(ServerProcess::close);
    }
  }

  /**
   * The busiest follower's CPU in % of one core, over {@code --idle-windows} (4; smoke 1)
   * consecutive windows of {@code --idle} (10 s; smoke 2 s) after the load of earlier goals has
   * stopped. The verdict is the last window's: an idle follower's steady state. The earlier windows
   * are listed in the detail, since they still carry the tail of the load (the JIT compiling what
   * the load ran, the collector, a snapshot), which a single window right after the load mixes in.
   */
  private GoalResult c3(List<ServerProcess> followers) throws InterruptedException {
    Thread.sleep(1_000); // the load of earlier goals has stopped
    List<String> windows = new ArrayList<>();
    List<String> last = new ArrayList<>();
    double worst = 0;
    for (int w = 0; w < o.idleWindows; w++) {
      long[] before = followers.stream().mapToLong(ServerProcess::cpuMicros).toArray();
      long start = System.nanoTime();
      Thread.sleep(o.idle.toMillis());
      double wallMicros = (System.nanoTime() - start) / 1e3;
      worst = 0;
      last.clear();
      for (int i = 0; i < followers.size(); i++) {
        double pct = 100.0 * (followers.get(i).cpuMicros() - before[i]) / wallMicros;
        last.add(String.format(Locale.ROOT, "%.2f %%", pct));
        worst = Math.max(worst, pct);
      }
      windows.add(String.format(Locale.ROOT, "%.2f %%", worst));
    }
    return GoalResult.measured(
        "C3",
        "idle follower CPU, % of one core",
        Spread.of(new double[] {worst}),
        Target.atMost(2),
        String.format(
            Locale.ROOT,
            "busiest follower in each %d s window after the load: %s (the last is the verdict);"
                + " followers in the last: %s (ticks of 10 ms)",
            o.idle.toSeconds(),
            windows,
            last));
  }

  // --- running variants in interleaved rounds ---------------------------------------------------

  /**
   * Operations to run in a window, the CPU clock of the process they load, and how many {@link
   * IdleSpinners} keep the CPUs busy meanwhile (0: none).
   */
  record Variant(List<LoadGen.Op> slots, LongSupplier cpu, int spin) {
    Variant(List<LoadGen.Op> slots, LongSupplier cpu) {
      this(slots, cpu, 0);
    }
  }

  private static Map<String, List<LoadGen.Op>> variants(
      String a, List<LoadGen.Op> aSlots, String b, List<LoadGen.Op> bSlots) {
    Map<String, List<LoadGen.Op>> m = new LinkedHashMap<>();
    m.put(a, aSlots);
    m.put(b, bSlots);
    return m;
  }

  private Map<String, List<LoadGen.Result>> interleave(
      Map<String, List<LoadGen.Op>> variants, LongSupplier cpu)
      throws InterruptedException, java.io.IOException {
    Map<String, Variant> v = new LinkedHashMap<>();
    variants.forEach((name, slots) -> v.put(name, new Variant(slots, cpu)));
    return interleaveVariants(v);
  }

  private Map<String, List<LoadGen.Result>> interleaveVariants(Map<String, Variant> variants)
      throws InterruptedException, java.io.IOException {
    Map<String, List<LoadGen.Result>> out = new LinkedHashMap<>();
    for (Schedule.Step step : Schedule.interleaved(List.copyOf(variants.keySet()), o.rounds)) {
      Variant v = variants.get(step.variant());
      IdleSpinners spinning = new IdleSpinners(v.spin());
      LoadGen.Result r;
      try {
        r = step.warmUp() ? warmUp(step.variant(), v) : LoadGen.run(v.slots(), o.round, v.cpu());
      } finally {
        spinning.close();
      }
      if (!step.warmUp()) {
        out.computeIfAbsent(step.variant(), k -> new ArrayList<>()).add(r);
      }
    }
    return out;
  }

  /**
   * Runs {@code v}'s load for {@code --warmup}, then on in steps of {@link #WARM_STEP} while the
   * servers' JIT compilers used more than {@code --jit-settled} % of a core in the last step, up to
   * {@code --warmup-max} in all; says on stderr how long it took. A server still compiling what the
   * load runs spends much of its CPU on that, which the rounds would count as the operations' cost
   * (and a cluster, three JVMs with Ratis's code too, compiles for about three times as long as a
   * lone broker).
   */
  private LoadGen.Result warmUp(String name, Variant v) throws InterruptedException {
    JitCpu jit = new JitCpu();
    jit.sinceLastMicros();
    long start = System.nanoTime();
    LoadGen.Result r = LoadGen.run(v.slots(), o.warmup, v.cpu());
    double jitPct = jitPercent(jit, start);
    while (jitPct > o.jitSettled
        && Duration.ofNanos(System.nanoTime() - start).plus(WARM_STEP).compareTo(o.warmupMax)
            <= 0) {
      long step = System.nanoTime();
      r = LoadGen.run(v.slots(), WARM_STEP, v.cpu());
      jitPct = jitPercent(jit, step);
    }
    System.err.printf(
        Locale.ROOT,
        "  warm-up of '%s': %d s; the JIT compilers used %.1f %% of a core in its last step%s%n",
        name,
        Duration.ofNanos(System.nanoTime() - start).toSeconds(),
        jitPct,
        // A run whose maximum is its fixed warm-up (--smoke) never waits for the JIT: no remark.
        jitPct > o.jitSettled && o.warmupMax.compareTo(o.warmup) > 0
            ? " (still above --jit-settled at --warmup-max)"
            : "");
    return r;
  }

  /** The compilers' CPU since {@code sinceNanos} (the last look), in % of one core. */
  private static double jitPercent(JitCpu jit, long sinceNanos) {
    double wallMicros = (System.nanoTime() - sinceNanos) / 1e3;
    return 100.0 * jit.sinceLastMicros() / wallMicros;
  }

  private static Spread ratio(
      List<LoadGen.Result> measured,
      List<LoadGen.Result> baseline,
      ToDoubleFunction<LoadGen.Result> f) {
    return Spread.ratios(values(measured, f), values(baseline, f));
  }

  /** {@code 1234/s at 56 us CPU}: median throughput and server CPU per operation. */
  private static String rate(List<LoadGen.Result> results) {
    return med(results, LoadGen.Result::opsPerSecond)
        + "/s at "
        + med(results, LoadGen.Result::cpuMicrosPerOp)
        + " us CPU";
  }

  private static String med(List<LoadGen.Result> results, ToDoubleFunction<LoadGen.Result> f) {
    return Report.number(Spread.of(values(results, f)).median());
  }

  private static double[] values(List<LoadGen.Result> results, ToDoubleFunction<LoadGen.Result> f) {
    return results.stream().mapToDouble(f).toArray();
  }

  private static int channelsFor(int inFlight) {
    return Math.min(4, inFlight);
  }
}
