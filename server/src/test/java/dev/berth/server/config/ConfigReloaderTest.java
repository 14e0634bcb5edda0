package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.admission.RefusalReason;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.ratelimit.HostRule;
import dev.berth.server.security.Identity;
import dev.berth.server.security.Role;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** Reloads against a real broker on a fake clock: what SIGHUP does, without the signal. */
class ConfigReloaderTest {
  private static final String PRINCIPAL = "anonymous";
  private static final String URL = "https://example.com/page";

  @TempDir Path dir;

  private final FakeTimeSource time = new FakeTimeSource();
  private final Map<String, String> env = new HashMap<>();
  private final List<DaemonSettings> applied = new ArrayList<>();

  /** What the broker's listeners were told an operator changed, as watchers see it. */
  private final List<String> limitsUpdated = new java.util.concurrent.CopyOnWriteArrayList<>();

  private volatile Runnable onPolicyRead = () -> {};
  private Path file;
  private Broker broker;
  private ConfigReloader reloader;

  private void start(String yaml, Flag... flags) throws IOException {
    file = dir.resolve("berth.yaml");
    Files.writeString(file, yaml);
    ConfigSources sources = ConfigSources.of(file, () -> env, List.of(flags));
    BerthConfig config = sources.load();
    broker = new Broker(config.policy(), time, 1, () -> 2, LeaseIds.seeded(7), HeapProbe.NONE);
    broker.addListener(
        new dev.berth.server.broker.BrokerListener() {
          @Override
          public void limitsUpdated(String detail) {
            limitsUpdated.add(detail);
          }
        });
    reloader =
        new ConfigReloader(
            sources,
            config,
            new ConfigReloader.Target() {
              @Override
              public Policy policy() {
                onPolicyRead.run();
                return broker.policy();
              }

              @Override
              public <T> T exclusive(java.util.function.Supplier<T> body) {
                return broker.changingPolicy(body);
              }

              @Override
              public void apply(Policy policy, DaemonSettings daemon) {
                broker.updatePolicy(policy);
                applied.add(daemon);
              }

              @Override
              public void changed(String detail) {
                broker.limitsUpdated(detail); // as the daemon does
              }
            });
  }

  private void rewrite(String yaml) throws IOException {
    Files.writeString(file, yaml);
  }

  @AfterEach
  void stop() {
    if (broker != null) {
      broker.close();
    }
  }

  private String open(String worker) {
    return broker
        .open(
            HelloSpec.validate(worker, Map.of(), 0, "", List.of()),
            PRINCIPAL,
            new RecordingSessionChannel())
        .sessionId();
  }

  private RecordingAcquireCallback acquire(String sessionId, ResourceKind kind) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    String url = kind == ResourceKind.RENDER ? URL : "";
    broker.acquire(
        AcquireSpec.validate(sessionId, kind, url, "", null, "", 0, 0), PRINCIPAL, callback);
    return callback;
  }

  @Test
  void reload_newLimitsAndHostRates_applyWhileLeaseStaysHeld() throws IOException {
    start("pools:\n  render:\n    limit: 2\n");
    String session = open("w1");
    Lease held = acquire(session, ResourceKind.RENDER).granted();
    Policy before = broker.policy();

    rewrite(
        """
        pools:
          render:
            limit: 5
        rate_limit:
          hosts:
            "*.example.com": {rate: 7, burst: 9}
        """);
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isTrue();
    assertThat(result.error()).isEmpty();
    assertThat(result.changed())
        .contains("pools.render.limit 2 -> 5")
        .anyMatch(c -> c.startsWith("rate_limit.hosts {} -> "));
    assertThat(broker.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(5);
    assertThat(broker.policy().rateLimit().ruleFor("example.com"))
        .isEqualTo(new HostRule("*.example.com", 7, 9));
    // The lease is untouched: still live, still counted once, and releasable as usual.
    assertThat(broker.leases()).extracting(Lease::id).containsExactly(held.id());
    assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
    assertThat(broker.status().pools().get(0).inUse()).isEqualTo(1);
    assertThat(broker.sessionCount()).isEqualTo(1);
    // Parts the reload did not change keep their running objects (no statistics reset).
    assertThat(broker.policy().memory()).isSameAs(before.memory());
    assertThat(broker.policy().performance()).isSameAs(before.performance());

    Broker.EndResult released = broker.release(session, held.id(), PRINCIPAL, Outcome.UNKNOWN);
    assertThat(released.changed()).isTrue();
    assertThat(released.end()).isEqualTo(LeaseEnd.RELEASED);
    assertThat(broker.inUse(ResourceKind.RENDER)).isZero();
  }

  /**
   * An UpdateLimits made while a reload has read the running policy waits for the reload and then
   * applies on top of it: neither loses the other's change.
   */
  @Test
  void reload_andALiveChangeAtOnce_neitherIsLost() throws Exception {
    start("pools:\n  render:\n    limit: 2\n");
    rewrite("pools:\n  pdf:\n    limit: 7\n");
    java.util.concurrent.CountDownLatch read = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    onPolicyRead =
        () -> {
          read.countDown();
          try {
            go.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        };
    Thread reload = new Thread(reloader::reload, "reload");
    reload.start();
    read.await();
    onPolicyRead = () -> {};
    Thread update =
        new Thread(
            () ->
                broker.changePolicy(
                    p ->
                        p.withBroker(
                            p.broker().toBuilder().limit(ResourceKind.RENDER, 16).build())),
            "update-limits");
    update.start();
    // The live change either waits for the reload (parked) or, without the exclusion, is done.
    while (update.getState() != Thread.State.WAITING
        && update.getState() != Thread.State.TERMINATED) {
      Thread.onSpinWait();
    }
    go.countDown();
    reload.join();
    update.join();

    assertThat(broker.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(16);
    assertThat(broker.policy().broker().limit(ResourceKind.PDF)).isEqualTo(7);
  }

  @Test
  void reload_limitBelowUse_keepsLeasesAndStopsNewGrants() throws IOException {
    start("pools:\n  pdf:\n    limit: 3\n");
    String session = open("w1");
    Lease a = acquire(session, ResourceKind.PDF).granted();
    Lease b = acquire(session, ResourceKind.PDF).granted();

    rewrite("pools:\n  pdf:\n    limit: 1\n");
    assertThat(reloader.reload().applied()).isTrue();

    assertThat(broker.leases()).extracting(Lease::id).containsExactlyInAnyOrder(a.id(), b.id());
    assertThat(broker.inUse(ResourceKind.PDF)).isEqualTo(2);
    assertThat(acquire(session, ResourceKind.PDF).refused().reason())
        .isEqualTo(RefusalReason.EXHAUSTED);
    broker.release(session, a.id(), PRINCIPAL, Outcome.UNKNOWN);
    assertThat(acquire(session, ResourceKind.PDF).refused().reason())
        .as("one still held, the limit is one")
        .isEqualTo(RefusalReason.EXHAUSTED);
  }

  @Test
  void reload_invalidValue_isRefusedAndTheOldPolicyStays() throws IOException {
    start("pools:\n  render:\n    limit: 2\n");
    String session = open("w1");
    Lease held = acquire(session, ResourceKind.RENDER).granted();
    Policy before = broker.policy();

    rewrite("pools:\n  render:\n    limit: 3\nsession:\n  ttl: 1s\n");
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isFalse();
    assertThat(result.error())
        .startsWith("session.ttl: must be at least twice session.heartbeat_interval")
        .endsWith("(from file " + file + ")");
    assertThat(broker.policy()).isSameAs(before);
    assertThat(broker.leases()).extracting(Lease::id).containsExactly(held.id());
    assertThat(applied).isEmpty();
  }

  @Test
  void reload_brokenYamlOrUnknownKey_isRefused() throws IOException {
    start("pools:\n  render:\n    limit: 2\n");
    Policy before = broker.policy();

    rewrite("pools:\n  render:\n  limit: [\n");
    assertThat(reloader.reload().error()).startsWith("config: " + file);
    rewrite("pools:\n  render:\n    limitt: 4\n");
    assertThat(reloader.reload().error()).contains("did you mean pools.render.limit?");

    assertThat(broker.policy()).isSameAs(before);
  }

  @Test
  void reload_afterARefusal_appliesTheNextGoodFile() throws IOException {
    start("pools:\n  render:\n    limit: 2\n");
    rewrite("pools:\n  render:\n    limit: -1\n");
    assertThat(reloader.reload().applied()).isFalse();

    rewrite("pools:\n  render:\n    limit: 4\n");
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isTrue();
    assertThat(result.changed()).containsExactly("pools.render.limit 2 -> 4");
  }

  @Test
  void reload_restartOnlyKeys_areReportedAndKept() throws IOException {
    start("listen: 127.0.0.1:7433\nsession:\n  sweep_interval: 250ms\n");

    rewrite(
        """
        listen: 0.0.0.0:7433
        session:
          sweep_interval: 1s
        metrics:
          listen: off
        log:
          level: DEBUG
        pools:
          wasm:
            limit: 3
        """);
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isTrue();
    assertThat(result.needsRestart())
        .containsExactlyInAnyOrder("listen", "session.sweep_interval", "metrics.listen");
    assertThat(result.changed())
        .containsExactlyInAnyOrder("log.level INFO -> DEBUG", "pools.wasm.limit 64 -> 3");
    assertThat(broker.policy().broker().sweepInterval()).isEqualTo(Duration.ofMillis(250));
    DaemonSettings daemon = applied.get(0);
    assertThat(daemon.listen().getHostString()).isEqualTo("127.0.0.1");
    assertThat(daemon.metricsListen()).isPresent();
    assertThat(daemon.logLevel()).isEqualTo("DEBUG");
  }

  /** A file put back to the value in force changes nothing and needs no restart. */
  @Test
  void reload_restartOnlyKeyPutBackToItsRunningValue_needsNoRestart() throws IOException {
    start("session:\n  sweep_interval: 250ms\n");
    rewrite("session:\n  sweep_interval: 1s\n");
    assertThat(reloader.reload().needsRestart()).containsExactly("session.sweep_interval");

    rewrite("session:\n  sweep_interval: 250ms\n");
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isTrue();
    assertThat(result.needsRestart()).isEmpty();
    assertThat(result.changed()).isEmpty();
    assertThat(broker.policy().broker().sweepInterval()).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void reload_flagsStillWinOverTheFile() throws IOException {
    start("pools:\n  render:\n    limit: 2\n", new Flag("--render-limit", "3"));
    assertThat(broker.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(3);

    rewrite("pools:\n  render:\n    limit: 9\n  pdf:\n    limit: 4\n");
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.changed()).containsExactly("pools.pdf.limit 2 -> 4");
    assertThat(broker.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(3);
  }

  @Test
  void reload_keepsLimitsSetByUpdateLimitsThatTheFileDidNotChange() throws IOException {
    start("pools:\n  render:\n    limit: 2\n");
    broker.updatePolicy(
        broker
            .policy()
            .withBroker(broker.policy().broker().toBuilder().limit(ResourceKind.PDF, 7).build()));

    rewrite("pools:\n  render:\n    limit: 4\n");
    reloader.reload();

    assertThat(broker.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(4);
    assertThat(broker.policy().broker().limit(ResourceKind.PDF)).isEqualTo(7);
  }

  @Test
  void reload_unchangedFile_changesNothing() throws IOException {
    start("pools:\n  render:\n    limit: 2\n");
    Policy before = broker.policy();

    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isTrue();
    assertThat(result.changed()).isEmpty();
    assertThat(broker.policy().broker()).isSameAs(before.broker());
    assertThat(broker.policy().rateLimit()).isSameAs(before.rateLimit());
    assertThat(broker.policy().performance()).isSameAs(before.performance());
  }

  private static String tokenEntry(String principal, String token, String roles) {
    return "    "
        + principal
        + ": {sha256: "
        + TokenRegistry.hash(token)
        + ", roles: "
        + roles
        + "}\n";
  }

  /**
   * A reload that changes limits is announced as an UpdateLimits is (berth watch's limits_updated,
   * the dashboard's feed); one that changes nothing, or tokens only, is not.
   */
  @Test
  void reload_changedLimits_announcedToWatchers_tokensAndNoChangeNot() throws IOException {
    start(
        "pools:\n  render:\n    limit: 2\n"
            + "auth:\n  tokens:\n"
            + tokenEntry("a", "t-a", "[admin]"));

    rewrite(
        "pools:\n  render:\n    limit: 4\n"
            + "auth:\n  tokens:\n"
            + tokenEntry("a", "t-a2", "[admin]"));
    reloader.reload();
    reloader.reload(); // nothing changed since
    rewrite(
        "pools:\n  render:\n    limit: 4\n"
            + "auth:\n  tokens:\n"
            + tokenEntry("a", "t-a3", "[admin]"));
    reloader.reload(); // a token only

    assertThat(limitsUpdated).containsExactly("config reload: pools.render.limit 2 -> 4");
  }

  @Test
  void reload_tokensChanged_appliedLiveNamingPrincipalsNeverHashes() throws IOException {
    start(
        "auth:\n  tokens:\n"
            + tokenEntry("a", "token-a", "[worker]")
            + tokenEntry("b", "token-b", "[worker]")
            + tokenEntry("c", "token-c", "[admin]"));

    rewrite(
        "auth:\n  tokens:\n"
            + tokenEntry("a", "token-a2", "[worker]")
            + tokenEntry("c", "token-c", "[worker, admin]")
            + tokenEntry("d", "token-d", "[worker]"));
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isTrue();
    assertThat(result.needsRestart()).isEmpty();
    assertThat(result.changed())
        .containsExactly(
            "auth.tokens added [d], removed [b], new hash [a], new roles [c [worker, admin]]"
                + " (3 tokens)");
    assertThat(String.join(" ", result.changed()))
        .doesNotContain(TokenRegistry.hash("token-a"))
        .doesNotContain(TokenRegistry.hash("token-a2"));
    TokenRegistry running = TokenRegistry.of(applied.get(0).tokens());
    assertThat(running.verify("token-a")).as("rotated away").isEmpty();
    assertThat(running.verify("token-b")).as("removed").isEmpty();
    assertThat(running.verify("token-a2")).map(Identity::principal).contains("a");
    assertThat(running.verify("token-d")).map(Identity::principal).contains("d");
    assertThat(running.verify("token-c").orElseThrow().roles())
        .containsExactlyInAnyOrder(Role.WORKER, Role.ADMIN);
  }

  @Test
  void reload_fileWithNoKeys_refusedKeepingTokensJobsAndHostRates() throws IOException {
    start(
        "auth:\n  tokens:\n"
            + tokenEntry("ops", "token-ops", "[admin, worker]")
            + """
            jobs:
              urgent: {weight: 4}
            rate_limit:
              hosts:
                "*.example.com": {rate: 7, burst: 9}
            """);
    Policy before = broker.policy();

    for (String yaml : List.of("", "# emptied by hand\n\n", "~\n")) {
      rewrite(yaml);
      ConfigReloader.Result result = reloader.reload();

      assertThat(result.applied()).as("%s", yaml).isFalse();
      assertThat(result.error())
          .isEqualTo(
              "config: "
                  + file
                  + " holds no keys (it is empty, or only comments); write at least one key in it,"
                  + " or name no config file to run on the defaults");
    }
    assertThat(applied).as("nothing applied").isEmpty();
    assertThat(broker.policy()).isSameAs(before);
    assertThat(broker.policy().jobs().jobs()).containsKey("urgent");
    assertThat(broker.policy().rateLimit().ruleFor("example.com"))
        .isEqualTo(new HostRule("*.example.com", 7, 9));
  }

  @Test
  void reload_removingEveryToken_refusedNamingAuthTokensAndTheRestart() throws IOException {
    start(
        "pools:\n  render:\n    limit: 2\nauth:\n  tokens:\n"
            + tokenEntry("a", "token-a", "[worker]")
            + tokenEntry("ops", "token-ops", "[admin]"));

    rewrite("pools:\n  render:\n    limit: 3\n");
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isFalse();
    assertThat(result.error())
        .isEqualTo(
            "auth.tokens: a reload cannot remove every token, which would turn authentication"
                + " off; keep at least one, or restart the daemon to run without authentication");
    assertThat(applied).as("nothing applied, the limit neither").isEmpty();
    assertThat(broker.policy().broker().limit(ResourceKind.RENDER)).isEqualTo(2);

    rewrite("pools:\n  render:\n    limit: 3\nauth:\n  tokens: {}\n");
    assertThat(reloader.reload().error())
        .startsWith("auth.tokens: a reload cannot remove every token")
        .endsWith("(from file " + file + ")");
    assertThat(applied).isEmpty();

    // Removing some of them is a change like any other.
    rewrite(
        "pools:\n  render:\n    limit: 3\nauth:\n  tokens:\n"
            + tokenEntry("ops", "token-ops", "[admin]"));
    result = reloader.reload();
    assertThat(result.applied()).isTrue();
    assertThat(result.changed()).contains("auth.tokens removed [a] (1 tokens)");
    assertThat(TokenRegistry.of(applied.get(0).tokens()).verify("token-a")).isEmpty();
  }

  @Test
  void reload_badTokenEntry_refusedWithOneLogLineKeepingTheOldSet() throws IOException {
    start("auth:\n  tokens:\n" + tokenEntry("a", "token-a", "[worker]"));
    String pasted = "my-secret-token-in-clear";
    rewrite(
        "auth:\n  tokens:\n"
            + tokenEntry("a", "token-a", "[worker]")
            + "    b: {sha256: "
            + pasted
            + ", roles: [worker]}\n");
    Logger logger = (Logger) LoggerFactory.getLogger(ConfigReloader.class);
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.start();
    logger.addAppender(logged);
    ConfigReloader.Result result;
    try {
      result = reloader.reload();
    } finally {
      logger.detachAppender(logged);
    }

    assertThat(result.applied()).isFalse();
    assertThat(result.error()).startsWith("auth.tokens['b'].sha256: must be 64 hex digits");
    assertThat(applied).as("nothing applied; the old set stays").isEmpty();
    assertThat(logged.list).hasSize(1);
    assertThat(logged.list.get(0).getFormattedMessage())
        .startsWith("config reload refused, keeping the running config: auth.tokens['b'].sha256")
        .doesNotContain(pasted);

    rewrite(
        "auth:\n  tokens:\n"
            + tokenEntry("a", "token-a", "[worker]")
            + tokenEntry("b", "token-a", "[admin]"));
    assertThat(reloader.reload().error())
        .startsWith("auth.tokens['b'].sha256: the same hash as 'a'; each principal needs its own");
    assertThat(applied).isEmpty();

    rewrite("auth:\n  tokens:\n" + tokenEntry("a", "token-a", "[frobnicator]"));
    assertThat(reloader.reload().error())
        .startsWith("auth.tokens['a'].roles: must name worker or admin");
    assertThat(applied).isEmpty();
  }

  @Test
  void reload_wasmModulesChanged_appliedLiveWithTheNewPathsAndIdleTimeout() throws IOException {
    start("wasm:\n  modules:\n    extractor: {path: /srv/a.wasm, exports: [run]}\n");
    rewrite(
        """
        wasm:
          idle_timeout: 1m
          modules:
            extractor: {path: /srv/b.wasm, exports: [run]}
            other: /srv/o.wasm
        """);

    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isTrue();
    assertThat(result.changed())
        .contains(
            "wasm.modules {extractor: {path: /srv/a.wasm, exports: [run]}} -> {extractor: {path:"
                + " /srv/b.wasm, exports: [run]}, other: {path: /srv/o.wasm}}",
            "wasm.idle_timeout 5m -> 1m");
    assertThat(applied).hasSize(1);
    assertThat(applied.get(0).wasm().modules())
        .extracting(m -> m.path().toString())
        .containsExactly("/srv/b.wasm", "/srv/o.wasm");
    assertThat(applied.get(0).wasm().idleTimeout()).isEqualTo(Duration.ofMinutes(1));
  }

  @Test
  void reload_defaultModuleNamingNoModule_refusedKeepingTheRunningOne() throws IOException {
    start("wasm:\n  modules:\n    extractor: {path: /srv/a.wasm, exports: [run]}\n");

    rewrite(
        """
        wasm:
          default_module: extractr
          modules:
            extractor: {path: /srv/a.wasm, exports: [run]}
        """);
    ConfigReloader.Result result = reloader.reload();

    assertThat(result.applied()).isFalse();
    assertThat(result.error())
        .isEqualTo(
            "wasm.default_module: names no module of wasm.modules [extractor], got 'extractr'"
                + " (from file "
                + file
                + ")");
    // Renaming the module away from the default is refused the same way.
    rewrite("wasm:\n  modules:\n    extract: {path: /srv/a.wasm, exports: [run]}\n");
    assertThat(reloader.reload().error())
        .startsWith(
            "wasm.default_module: names no module of wasm.modules [extract], got 'extractor'");
    assertThat(applied).isEmpty();
    assertThat(broker.policy().broker().defaultWasmModule()).isEqualTo("extractor");
  }
}
