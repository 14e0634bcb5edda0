package dev.berth.server;

import com.codahale.metrics.MetricRegistry;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.cluster.CommonPool;
import dev.berth.server.cluster.Peer;
import dev.berth.server.cluster.RoleListener;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigReloader;
import dev.berth.server.config.ConfigSources;
import dev.berth.server.config.DaemonSettings;
import dev.berth.server.config.Policy;
import dev.berth.server.eventlog.EventLog;
import dev.berth.server.grpc.BrokerServer;
import dev.berth.server.grpc.NettyLeakSampling;
import dev.berth.server.grpc.ServerTls;
import dev.berth.server.lease.FencingTokens;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.metrics.BrokerMetrics;
import dev.berth.server.metrics.MetricsExporter;
import dev.berth.server.replication.ClusterMember;
import dev.berth.server.replication.FleetStateFile;
import dev.berth.server.replication.ServingRole;
import dev.berth.server.security.TlsSettings;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.state.EpochStore;
import dev.berth.server.state.StateException;
import dev.berth.server.time.SystemTimeSource;
import dev.berth.server.time.TimeSource;
import dev.berth.server.tracing.Tracing;
import dev.berth.server.wasm.ModuleLoadException;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.server.wasm.WasmConfig;
import dev.berth.server.wasm.WasmModule;
import dev.berth.server.web.WebFront;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running broker process: state directory, clock, broker, metrics, tracing and listener,
 * started and stopped together, and reloaded from its configuration sources on request. {@code
 * bin/berth serve} runs one through {@link dev.berth.server.cli.Main}.
 */
public final class Daemon implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Daemon.class);

  /** The exit status after the cluster node stopped by itself (EX_SOFTWARE). */
  public static final int FATAL_EXIT = 70;

  private final EpochStore epochs;
  private final Path stateDir;
  private final Optional<ClusterMember> member;
  private final Optional<EventLog> events;
  private final SystemTimeSource time;
  private final Broker broker;
  private final BrokerServer server;
  private final BrokerMetrics metrics;
  private final MetricsExporter exporter;
  private final Optional<WebFront> web;
  private final ConfigReloader reloader;
  private final ScheduledExecutorService tlsRefresh;
  private final ServerTls tls;
  private final Tracing tracing;
  private volatile Duration shutdownGrace;

  /** The WASM settings in force; a reload re-reads their files. */
  private volatile WasmConfig wasm;

  /** The bearer tokens in force; changed only by reloads, which are serialised. */
  private List<TokenRegistry.Entry> tokens;

  private Daemon(
      EpochStore epochs,
      Optional<ClusterMember> member,
      Optional<EventLog> events,
      SystemTimeSource time,
      Broker broker,
      BrokerServer server,
      BrokerMetrics metrics,
      MetricsExporter exporter,
      Optional<WebFront> web,
      ScheduledExecutorService tlsRefresh,
      ServerTls tls,
      Tracing tracing,
      BerthConfig config,
      ConfigSources sources,
      Consumer<DaemonSettings> onReload) {
    this.epochs = epochs;
    this.stateDir = config.daemon().stateDir();
    this.member = member;
    this.events = events;
    this.time = time;
    this.broker = broker;
    this.server = server;
    this.metrics = metrics;
    this.exporter = exporter;
    this.web = web;
    this.tlsRefresh = tlsRefresh;
    this.tls = tls;
    this.tracing = tracing;
    this.shutdownGrace = config.daemon().shutdownGrace();
    this.tokens = config.daemon().tokens();
    this.wasm = config.daemon().wasm();
    this.reloader =
        new ConfigReloader(
            sources,
            config,
            new ConfigReloader.Target() {
              @Override
              public Policy policy() {
                return broker.policy();
              }

              @Override
              public <T> T exclusive(java.util.function.Supplier<T> body) {
                return broker.changingPolicy(body);
              }

              @Override
              public void changed(String detail) {
                broker.limitsUpdated(detail);
              }

              @Override
              public void apply(Policy policy, DaemonSettings daemon) {
                broker.updatePolicy(policy);
                shutdownGrace = daemon.shutdownGrace();
                applyTokens(daemon);
                wasm = daemon.wasm();
                onReload.accept(daemon);
              }
            });
  }

  /**
   * Opens the state directory, advances the epoch durably, starts the metrics endpoint and starts
   * listening.
   *
   * @param config the loaded configuration
   * @param sources where it was loaded from, read again by {@link #reload()}
   * @param onReload told the daemon settings a reload put in force (e.g. to change the log level)
   * @throws ModuleLoadException naming the WASM module file at fault; the modules ({@code
   *     wasm.modules}) are loaded and checked before the epoch moves
   * @throws StateException when the state directory cannot be used
   * @throws java.io.UncheckedIOException when a listen address cannot be bound
   */
  public static Daemon start(
      BerthConfig config, ConfigSources sources, Consumer<DaemonSettings> onReload) {
    return start(config, sources, onReload, UnaryOperator.identity());
  }

  /**
   * As {@link #start(BerthConfig, ConfigSources, Consumer)}, with the listener's options changed by
   * {@code serverOptions} (the benchmark suite adds its no-op ping baseline service).
   */
  public static Daemon start(
      BerthConfig config,
      ConfigSources sources,
      Consumer<DaemonSettings> onReload,
      UnaryOperator<BrokerServer.Options> serverOptions) {
    NettyLeakSampling.configure(); // before the first buffer
    boolean pooled = CommonPool.configure(); // before Ratis's first async stage
    DaemonSettings settings = config.daemon();
    if (!pooled && !settings.cluster().isEmpty()) {
      log.warn(
          "CompletableFuture's async stages without an executor get a thread each in this JVM"
              + " (common pool parallelism 1): Ratis then starts a thread per appended batch;"
              + " start it with -D{}=2",
          CommonPool.PARALLELISM);
    }
    ModuleRegistry modules = ModuleRegistry.load(settings.wasm()); // before the epoch moves
    for (WasmModule module : modules.modules()) {
      log.info("serving WASM module {}", module);
    }
    EpochStore epochs = EpochStore.open(settings.stateDir());
    if (epochs.current() >= FencingTokens.MAX_EPOCH) {
      // Checked before the epoch moves: the file is left as it was (and cannot overflow).
      epochs.close();
      throw new StateException(
          "epochs exhausted: "
              + settings.stateDir().resolve(EpochStore.EPOCH_FILE)
              + " holds "
              + epochs.current()
              + ", and fencing tokens carry epochs up to "
              + FencingTokens.MAX_EPOCH);
    }
    try {
      // Before the epoch moves, so that the operator's fix is to raise the file, nothing more.
      FleetStateFile.checkEpoch(settings.stateDir(), epochs.current());
    } catch (StateException e) {
      epochs.close();
      throw e;
    }
    long epoch = epochs.advance();
    SystemTimeSource time = new SystemTimeSource();
    Broker broker =
        new Broker(
            config.policy(),
            time,
            epoch,
            epochs::advance,
            LeaseIds.secure(),
            HeapProbe.jvm(),
            modules);
    boolean resumed =
        settings.cluster().isEmpty() && resumeFleetState(settings.stateDir(), epoch, broker);
    MetricRegistry registry = new MetricRegistry();
    BrokerMetrics metrics =
        new BrokerMetrics(registry, broker::status, time, settings.metricsHostSeries());
    broker.addListener(metrics);
    Optional<EventLog> events = Optional.empty();
    MetricsExporter exporter = null;
    Optional<ClusterMember> member = Optional.empty();
    Optional<WebFront> web = Optional.empty();
    ScheduledExecutorService tlsRefresh = null;
    ServerTls tls = null;
    Tracing tracing = Tracing.OFF;
    BrokerServer server;
    try {
      tracing = Tracing.start(settings.tracing(), time, Versions.current());
      BrokerServer.Options options =
          BrokerServer.Options.DEFAULT
              .withTimings(metrics)
              .withTokens(TokenRegistry.of(settings.tokens()))
              .withMaxConnectionAge(settings.maxConnectionAge())
              .withEventLoops(settings.eventLoops())
              .withDrops(metrics)
              .withTracing(tracing);
      if (settings.eventsLog()) {
        EventLog e =
            EventLog.open(
                settings.eventsLogFile().orElseThrow(),
                settings.cluster().map(c -> c.self()).orElse("single"),
                epoch);
        events = Optional.of(e);
        broker.addListener(e);
        metrics.eventLog(e::dropped);
      }
      if (settings.cluster().isPresent()) {
        ClusterMember m = joinCluster(settings, epochs, epoch, broker, time, events);
        member = Optional.of(m);
        options = options.withRole(m);
        Runnable leaderChanged =
            metrics.cluster(() -> m.cluster().map(c -> c.term()).orElse(0L), m::serving);
        metrics.replication(m.replicationMetrics());
        m.observeJournalBatches(metrics.journalBatchSizes());
        AtomicReference<String> leader = new AtomicReference<>(m.leaderId());
        m.onChange(
            () -> {
              if (!m.leaderId().equals(leader.getAndSet(m.leaderId()))) {
                leaderChanged.run();
              }
            });
      }
      if (settings.tls().isPresent()) {
        tlsRefresh = tlsRefreshThread();
        tls = loadTls(settings.tls().get(), tlsRefresh);
        options = options.withTls(tls);
      }
      exporter = MetricsExporter.start(registry, metrics, settings.metricsJmx());
      web =
          WebFront.start(
              settings,
              broker,
              time,
              exporter,
              metrics,
              tls == null ? Optional.empty() : Optional.of(tls.https()),
              member.<ServingRole>map(m -> m).orElse(ServingRole.STANDALONE));
      InetSocketAddress listen = resolved(settings.listen());
      server = BrokerServer.netty(broker, time, listen, serverOptions.apply(options)).start();
    } catch (RuntimeException e) {
      if (resumed) {
        // The previous run's state was taken from its file; a start that failed (a TLS file, an
        // address in use) gives it back, so the next start still resumes it.
        writeFleetState(settings.stateDir(), broker, time);
      }
      member.ifPresent(ClusterMember::close);
      events.ifPresent(EventLog::close);
      web.ifPresent(WebFront::close);
      if (exporter != null) {
        exporter.close();
      }
      if (tls != null) {
        tls.close();
      }
      if (tlsRefresh != null) {
        tlsRefresh.shutdownNow();
      }
      tracing.close();
      broker.shutdown();
      time.close();
      epochs.close();
      throw e;
    }
    log.info(
        "berth {} listening on {}:{} ({}, {}; epoch {}, state {}, config {})",
        Versions.current(),
        settings.listen().getHostString(),
        server.port(),
        settings.tls().isEmpty()
            ? "plaintext"
            : settings.tls().get().requireClientCert() ? "mTLS" : "TLS",
        // Names only: tokens and their hashes are never logged.
        settings.tokens().isEmpty()
            ? "no authentication"
            : settings.tokens().size() + " bearer tokens",
        epoch,
        settings.stateDir().toAbsolutePath(),
        config.file() == null ? "defaults, env and flags" : config.file());
    if (web.isPresent()) {
      String base =
          (settings.tls().isEmpty() ? "http" : "https")
              + "://"
              + settings.metricsListen().get().getHostString()
              + ":"
              + web.get().port();
      log.info(
          "metrics at {}/metrics{}",
          base,
          web.get().dashboard() ? ", dashboard at " + base + "/" : "");
    }
    return new Daemon(
        epochs,
        member,
        events,
        time,
        broker,
        server,
        metrics,
        exporter,
        web,
        tlsRefresh,
        tls,
        tracing,
        config,
        sources,
        onReload);
  }

  /**
   * Starts this daemon's Raft node. The broker journals to it, takes over from the node's replica
   * with the cluster's epoch when the node becomes the ready leader (the epoch is also made durable
   * locally, so a later start issues tokens above it) and drops its sessions when it stops leading
   * (see {@link ClusterMember}); a node Raft stopped by itself ends the process, so that its
   * supervisor restarts it.
   */
  private static ClusterMember joinCluster(
      DaemonSettings settings,
      EpochStore epochs,
      long epoch,
      Broker broker,
      SystemTimeSource time,
      Optional<EventLog> events) {
    settings
        .cluster()
        .orElseThrow()
        .listenMismatch(settings.listen())
        .ifPresent(problem -> log.warn("cluster: {}", problem));
    return ClusterMember.start(
        settings.cluster().orElseThrow(),
        settings.stateDir(),
        epoch,
        broker,
        new RoleListener() {
          @Override
          public void leaderReady(long term, long clusterEpoch) {
            epochs.raiseTo(clusterEpoch);
            events.ifPresent(e -> e.leading(clusterEpoch));
          }

          @Override
          public void following(Optional<Peer> leader) {
            events.ifPresent(EventLog::following);
          }

          @Override
          public void fatal(String reason, Throwable cause) {
            events.ifPresent(EventLog::following);
          }
        },
        time,
        reason -> {
          log.error(
              "FATAL: the cluster node stopped; exiting with status {}: {}", FATAL_EXIT, reason);
          Thread exit = new Thread(() -> System.exit(FATAL_EXIT), "berth-fatal-exit");
          exit.start();
        });
  }

  /**
   * A lone broker takes the state its previous run wrote on a graceful stop ({@link
   * FleetStateFile}): the same sessions (a fresh TTL to resume them) and leases, and no recovery
   * window. Without one (a first start, a crash) the restart recovery window applies.
   */
  /** Loads the previous run's state when it left one; returns whether it did. */
  private static boolean resumeFleetState(Path stateDir, long epoch, Broker broker) {
    Optional<Fleet> taken = FleetStateFile.take(stateDir, epoch - 1);
    taken.ifPresent(
        fleet -> {
          int skipped = broker.load(fleet);
          log.info(
              "resumed the previous run's state from {}: {} sessions, {} leases{}; workers"
                  + " resume their sessions within one session TTL, new grants start now",
              stateDir.resolve(FleetStateFile.NAME),
              fleet.sessions().size(),
              fleet.leases().size(),
              skipped > 0 ? " (" + skipped + " entries skipped)" : "");
        });
    return taken.isPresent();
  }

  /** A lone broker's graceful stop: its state for the next start ({@link FleetStateFile}). */
  private void writeFleetState() {
    writeFleetState(stateDir, broker, time);
  }

  private static void writeFleetState(Path stateDir, Broker broker, TimeSource time) {
    if (broker.recovering()) {
      // Loading a state file ends the recovery window; this one would leave out the leases that
      // workers have not re-declared yet, and the next start would grant their slots again.
      log.warn(
          "not writing {}: the recovery window after the last crash is still open, so workers may"
              + " hold leases this broker does not know of; the next start recovers as after a"
              + " crash",
          stateDir.resolve(FleetStateFile.NAME));
      return;
    }
    try {
      Fleet fleet = broker.fleet();
      FleetStateFile.write(stateDir, broker.epoch(), fleet, time.wallTime().toEpochMilli());
      log.info(
          "wrote {} sessions and {} leases to {} for the next start",
          fleet.sessions().size(),
          fleet.leases().size(),
          stateDir.resolve(FleetStateFile.NAME));
    } catch (IOException | RuntimeException e) {
      log.warn(
          "cannot write {}: {}; the next start recovers as after a crash",
          stateDir.resolve(FleetStateFile.NAME),
          e.toString());
    }
  }

  /**
   * Puts the reloaded tokens in force for calls that start from now on, when they changed. They
   * were validated when the configuration was built, so this cannot fail half-way.
   */
  private void applyTokens(DaemonSettings next) {
    if (next.tokens().equals(tokens)) {
      return;
    }
    TokenRegistry registry = TokenRegistry.of(next.tokens());
    server.replaceTokens(registry);
    web.ifPresent(w -> w.replaceTokens(registry));
    tokens = next.tokens();
    BrokerServer.warnIfOpen(resolved(next.listen()), registry);
  }

  /**
   * Loads what a start of {@code config} reads from files besides the configuration itself — the
   * WASM modules and the TLS certificate, key and CA — and lets it go again, changing nothing (no
   * state directory, epoch or listener is touched): what {@code berth serve --check-config} runs,
   * so that a configuration can be checked before a restart.
   *
   * @return one line per thing loaded, for the operator
   * @throws ModuleLoadException when a module does not load
   * @throws ConfigException when the TLS material does not load
   */
  public static List<String> check(BerthConfig config) {
    DaemonSettings settings = config.daemon();
    List<String> loaded = new ArrayList<>();
    ModuleRegistry modules = ModuleRegistry.load(settings.wasm());
    if (modules.isEmpty()) {
      loaded.add("WASM modules: none configured");
    }
    for (WasmModule module : modules.modules()) {
      loaded.add("WASM module " + module);
    }
    if (settings.tls().isEmpty()) {
      loaded.add("TLS: off (plaintext)");
    } else {
      ScheduledExecutorService scheduler = tlsRefreshThread();
      try {
        ServerTls tls = loadTls(settings.tls().get(), scheduler);
        tls.close();
        loaded.add(
            "TLS: "
                + settings.tls().get().certChain()
                + (settings.tls().get().requireClientCert() ? " (mTLS)" : ""));
      } finally {
        scheduler.shutdownNow();
      }
    }
    loaded.add(
        "auth: "
            + (settings.tokens().isEmpty()
                ? "off (no auth.tokens)"
                : settings.tokens().size() + " bearer token(s)"));
    return loaded;
  }

  private static ServerTls loadTls(TlsSettings settings, ScheduledExecutorService scheduler) {
    try {
      return ServerTls.load(settings, scheduler);
    } catch (IOException | GeneralSecurityException e) {
      throw new ConfigException(
          "tls.cert",
          "cannot load " + settings.certChain() + " / " + settings.privateKey() + ": " + e);
    }
  }

  private static ScheduledExecutorService tlsRefreshThread() {
    return Executors.newSingleThreadScheduledExecutor(
        r -> {
          Thread t = new Thread(r, "berth-tls-refresh");
          t.setDaemon(true);
          return t;
        });
  }

  private static InetSocketAddress resolved(InetSocketAddress address) {
    return address.isUnresolved()
        ? new InetSocketAddress(address.getHostString(), address.getPort())
        : address;
  }

  public int port() {
    return server.port();
  }

  /** The port of the metrics and dashboard listener, or -1 when it is off. */
  public int metricsPort() {
    return web.map(WebFront::port).orElse(-1);
  }

  public Broker broker() {
    return broker;
  }

  /** This daemon's place in its cluster; empty for a lone broker. */
  public Optional<ClusterMember> cluster() {
    return member;
  }

  /**
   * Reads the configuration sources again and applies what changed, then re-reads the WASM modules
   * in force from their files; what SIGHUP runs. A bad configuration is refused with one log line
   * and changes nothing, the modules included (they are not re-read); a module that no longer loads
   * leaves the last good set served (see {@link ModuleRegistry#reload}).
   */
  public synchronized ConfigReloader.Result reload() {
    ConfigReloader.Result result = reloader.reload();
    metrics.reloaded(result.applied());
    WasmConfig now = wasm;
    ModuleRegistry modules = broker.modules();
    boolean wasmInUse =
        !now.modules().isEmpty()
            || !modules.isEmpty()
            || !now.idleTimeout().equals(modules.idleTimeout());
    if (result.applied() && wasmInUse) {
      modules.reload(now); // the same files too: a rebuilt module is served from now on
    }
    return result;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Stops in bounded time; see {@link BrokerServer#shutdown}. */
  @Override
  public void close() {
    // A leader hands its state to a successor, which serves at once; then this member leaves the
    // cluster: callers are sent away NOT_LEADER, to the leader, while this one closes its listener.
    member.ifPresent(m -> m.handOffForShutdown(m.settings().electionTimeoutMax().multipliedBy(4)));
    member.ifPresent(ClusterMember::close);
    log.info("shutting down: NOT_SERVING, closing session streams");
    server.shutdown(shutdownGrace);
    if (member.isEmpty()) {
      writeFleetState();
    }
    web.ifPresent(WebFront::close);
    exporter.close();
    if (tls != null) {
      tls.close();
      tlsRefresh.shutdownNow();
    }
    tracing.close(); // after the listener: the spans of the last calls are sent too
    events.ifPresent(EventLog::close); // after the listener: the last ends are written too
    time.close();
    epochs.close();
    log.info("stopped");
  }
}
