package dev.berth.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.security.Role;
import dev.berth.server.security.TlsSettings;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.time.FakeTimeSource;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The auth.*, tls.*, transport.* and caps.* keys: parsing, validation and reload. */
class SecurityConfigTest extends ConfigFileTest {
  private static final String HASH_A = TokenRegistry.hash("token-a");
  private static final String HASH_B = TokenRegistry.hash("token-b");

  @Test
  void defaults_noTokensNoTlsDefaultCaps() {
    BerthConfig config = load(null);

    assertThat(config.daemon().tokens()).isEmpty();
    assertThat(config.daemon().tls()).isEmpty();
    assertThat(config.daemon().maxConnectionAge()).isEmpty();
    assertThat(config.policy().caps()).isEqualTo(PrincipalCaps.DEFAULTS);
    assertThat(config.text(ConfigKeys.get("tls.refresh"))).isEqualTo("1m");
    assertThat(config.text(ConfigKeys.get("tls.cert"))).isEqualTo("~");
  }

  @Test
  void tokens_fromFile_principalsRolesAndHashes() throws IOException {
    BerthConfig config =
        load(
            file(
                """
                auth:
                  tokens:
                    crawler: {sha256: %s, roles: [worker]}
                    ops:
                      sha256: %s
                      roles: [admin, worker]
                """
                    .formatted(HASH_A, HASH_B.toUpperCase(Locale.ROOT))));

    List<TokenRegistry.Entry> tokens = config.daemon().tokens();
    assertThat(tokens)
        .containsExactly(
            new TokenRegistry.Entry("crawler", Set.of(Role.WORKER), HASH_A),
            new TokenRegistry.Entry("ops", Set.of(Role.ADMIN, Role.WORKER), HASH_B));
    TokenRegistry registry = TokenRegistry.of(tokens);
    assertThat(registry.verify("token-a"))
        .get()
        .extracting(i -> i.principal())
        .isEqualTo("crawler");
    assertThat(registry.verify("token-b").get().has(Role.ADMIN)).isTrue();
    assertThat(registry.verify("token-c")).isEmpty();
  }

  @Test
  void tokens_fromEnvFlowStyle_sameAsFile() {
    env.put("BERTH_AUTH_TOKENS", "{crawler: {sha256: " + HASH_A + ", roles: worker}}");

    BerthConfig config = load(null);

    assertThat(config.daemon().tokens())
        .containsExactly(new TokenRegistry.Entry("crawler", Set.of(Role.WORKER), HASH_A));
    assertThat(config.origin(ConfigKeys.get("auth.tokens")).describe())
        .contains("BERTH_AUTH_TOKENS");
  }

  @Test
  void tokens_tokenInClearInsteadOfHash_refusedWithoutEchoingIt() throws IOException {
    Path f = file("auth: {tokens: {crawler: {sha256: s3cret-token, roles: [worker]}}}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("auth.tokens['crawler'].sha256")
        .hasMessageContaining("sha256sum")
        .hasMessageNotContaining("s3cret-token");
  }

  @Test
  void tokens_oneHashForTwoPrincipals_refusedNamingBoth() throws IOException {
    // The token would act as whichever principal the registry matched: admin or not by chance.
    Path f =
        file(
            """
            auth:
              tokens:
                zz-admin: {sha256: %s, roles: [admin]}
                aa-worker: {sha256: %s, roles: [worker]}
            """
                .formatted(HASH_A, HASH_A.toUpperCase(Locale.ROOT)));

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessage(
            "auth.tokens['aa-worker'].sha256: the same hash as 'zz-admin'; each principal needs"
                + " its own token (from file "
                + f
                + ")")
        .hasMessageNotContaining(HASH_A);

    env.put(
        "BERTH_AUTH_TOKENS",
        "{a: {sha256: " + HASH_B + ", roles: worker}, b: {sha256: " + HASH_B + ", roles: admin}}");
    assertThatThrownBy(() -> load(null))
        .hasMessageStartingWith("auth.tokens['b'].sha256: the same hash as 'a';");
  }

  @Test
  void tokens_unknownRole_refusedNamingIt() throws IOException {
    Path f = file("auth: {tokens: {crawler: {sha256: " + HASH_A + ", roles: [root]}}}\n");

    assertThatThrownBy(() -> load(f))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("auth.tokens['crawler'].roles")
        .hasMessageContaining("root");
  }

  @Test
  void tokens_noRoles_refused() throws IOException {
    Path f = file("auth: {tokens: {crawler: {sha256: " + HASH_A + "}}}\n");

    assertThatThrownBy(() -> load(f)).hasMessageContaining("auth.tokens['crawler'].roles");
  }

  @Test
  void tokens_unknownField_suggestsTheKnownOne() throws IOException {
    Path f = file("auth: {tokens: {crawler: {sha265: " + HASH_A + ", roles: [worker]}}}\n");

    assertThatThrownBy(() -> load(f))
        .hasMessageContaining("auth.tokens['crawler'].sha265")
        .hasMessageContaining("sha256");
  }

  @Test
  void tokens_scalarFromEnv_refusedWithoutEchoingIt() {
    env.put("BERTH_AUTH_TOKENS", "plain-secret");

    assertThatThrownBy(() -> load(null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("auth.tokens")
        .hasMessageNotContaining("plain-secret");
  }

  @Test
  void tokens_effectiveYaml_readsBackTheSame() throws IOException {
    BerthConfig config =
        load(file("auth: {tokens: {crawler: {sha256: " + HASH_A + ", roles: [worker, admin]}}}\n"));

    BerthConfig again = load(file(config.toYaml()));

    assertThat(again.daemon().tokens()).isEqualTo(config.daemon().tokens());
  }

  @Test
  void tls_allKeys_buildTlsSettings() throws IOException {
    BerthConfig config =
        load(
            file(
                """
                tls:
                  cert: /etc/berth/server.pem
                  key: /etc/berth/server.key
                  client_ca: /etc/berth/clients.pem
                  require_client_cert: true
                  refresh: 30s
                transport:
                  max_connection_age: 30m
                """));

    assertThat(config.daemon().tls())
        .contains(
            new TlsSettings(
                Path.of("/etc/berth/server.pem"),
                Path.of("/etc/berth/server.key"),
                Path.of("/etc/berth/clients.pem"),
                true,
                Duration.ofSeconds(30)));
    assertThat(config.daemon().maxConnectionAge()).contains(Duration.ofMinutes(30));
  }

  @Test
  void tls_certWithoutKey_refusedNamingKey() {
    assertThatThrownBy(() -> load(null, new Flag("--tls.cert", "/x.pem")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls.key");
  }

  @Test
  void tls_requireClientCertWithoutCa_refused() {
    assertThatThrownBy(
            () ->
                load(
                    null,
                    new Flag("--tls.cert", "/x.pem"),
                    new Flag("--tls.key", "/x.key"),
                    new Flag("--tls.require_client_cert", "true")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("tls.require_client_cert")
        .hasMessageContaining("tls.client_ca");
  }

  @Test
  void tls_zeroRefresh_refused() {
    assertThatThrownBy(() -> load(null, new Flag("--tls.refresh", "0s")))
        .hasMessageContaining("tls.refresh");
  }

  @Test
  void transport_maxConnectionAgeBelowOneSecond_refused() {
    env.put("BERTH_TRANSPORT_MAX_CONNECTION_AGE", "10ms");

    assertThatThrownBy(() -> load(null))
        .hasMessageContaining("transport.max_connection_age")
        .hasMessageContaining("BERTH_TRANSPORT_MAX_CONNECTION_AGE");
  }

  @Test
  void transport_eventLoops_defaultZero_andFromAFlag() {
    assertThat(load(null).daemon().eventLoops()).isZero();
    assertThat(load(null, new Flag("--transport.event_loops", "2")).daemon().eventLoops())
        .isEqualTo(2);
  }

  @Test
  void transport_negativeEventLoops_refusedNamingKeyAndRule() {
    assertThatThrownBy(() -> load(null, new Flag("--transport.event_loops", "-1")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("transport.event_loops")
        .hasMessageContaining("must be 0 (the transport's default) to 1024, got -1");
  }

  @Test
  void caps_fromFile_intoPolicy() throws IOException {
    BerthConfig config =
        load(
            file(
                """
                caps:
                  sessions_per_principal: 5
                  leases_per_principal: 50
                  queued_per_principal: 0
                """));

    assertThat(config.policy().caps()).isEqualTo(new PrincipalCaps(5, 50, 0));
  }

  @Test
  void caps_negative_refusedNamingKey() {
    assertThatThrownBy(() -> load(null, new Flag("--caps.queued_per_principal", "-1")))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("caps.queued_per_principal")
        .hasMessageContaining("-1");
  }

  @Test
  void reload_capsAndTokensChange_bothAppliedLive() throws IOException {
    Path f = file("caps: {sessions_per_principal: 5}\n");
    ConfigSources sources = ConfigSources.of(f, () -> env, List.of());
    BerthConfig config = sources.load();
    FakeTimeSource time = new FakeTimeSource();
    try (Broker broker =
        new Broker(config.policy(), time, 1, () -> 2, LeaseIds.seeded(7), HeapProbe.NONE)) {
      ConfigReloader reloader =
          new ConfigReloader(
              sources,
              config,
              new ConfigReloader.Target() {
                @Override
                public Policy policy() {
                  return broker.policy();
                }

                @Override
                public void apply(Policy policy, DaemonSettings daemon) {
                  broker.updatePolicy(policy);
                }
              });
      Files.writeString(
          f,
          "caps: {sessions_per_principal: 7}\n"
              + "auth: {tokens: {a: {sha256: "
              + HASH_A
              + ", roles: [worker]}}}\n");

      ConfigReloader.Result result = reloader.reload();

      assertThat(result.applied()).isTrue();
      assertThat(broker.policy().caps().sessions()).isEqualTo(7);
      assertThat(result.needsRestart()).isEmpty();
      assertThat(result.changed())
          .containsExactlyInAnyOrder(
              "caps.sessions_per_principal 5 -> 7", "auth.tokens added [a] (1 tokens)");
    }
  }

  @Test
  void reload_unrelatedChange_keepsConfiguredCaps() throws IOException {
    Path f = file("caps: {leases_per_principal: 9}\nlog: {level: INFO}\n");
    ConfigSources sources = ConfigSources.of(f, () -> env, List.of());
    BerthConfig config = sources.load();
    FakeTimeSource time = new FakeTimeSource();
    try (Broker broker =
        new Broker(config.policy(), time, 1, () -> 2, LeaseIds.seeded(7), HeapProbe.NONE)) {
      ConfigReloader reloader =
          new ConfigReloader(
              sources,
              config,
              new ConfigReloader.Target() {
                @Override
                public Policy policy() {
                  return broker.policy();
                }

                @Override
                public void apply(Policy policy, DaemonSettings daemon) {
                  broker.updatePolicy(policy);
                }
              });
      Files.writeString(f, "caps: {leases_per_principal: 9}\nlog: {level: DEBUG}\n");

      assertThat(reloader.reload().applied()).isTrue();
      assertThat(broker.policy().caps().leases()).isEqualTo(9);
    }
  }
}
