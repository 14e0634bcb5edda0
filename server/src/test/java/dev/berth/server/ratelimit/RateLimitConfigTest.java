package dev.berth.server.ratelimit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.settings.ConfigException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RateLimitConfigTest {

  @Test
  void build_nothingSet_hasDocumentedDefaults() {
    RateLimitConfig c = RateLimitConfig.defaults();

    assertThat(c.defaultRule()).isEqualTo(new HostRule("*", 2.0, 4));
    assertThat(c.hosts()).isEmpty();
    assertThat(c.idleEviction()).isEqualTo(Duration.ofMinutes(10));
    assertThat(c.maxHosts()).isEqualTo(100_000);
    assertThat(c.decreaseFactor()).isEqualTo(0.5);
    assertThat(c.recoveryStep()).isEmpty();
    assertThat(c.recoveryStepFor(2.0)).isEqualTo(0.2);
    assertThat(c.minRate()).isEqualTo(0.05);
    assertThat(c.defaultPause()).isEqualTo(Duration.ofSeconds(5));
    assertThat(c.maxPause()).isEqualTo(Duration.ofMinutes(10));
  }

  @Test
  void recoveryStepFor_explicitStep_isTheSameForEveryHost() {
    RateLimitConfig c = RateLimitConfig.newBuilder().recoveryStep(0.5).build();

    assertThat(c.recoveryStep()).hasValue(0.5);
    assertThat(c.recoveryStepFor(2.0)).isEqualTo(0.5);
    assertThat(c.recoveryStepFor(100.0)).isEqualTo(0.5);
  }

  /**
   * An override that gave no burst takes the default burst, also in a changed copy whose default
   * burst differs: toBuilder pinned it to the burst of the moment.
   */
  @Test
  void toBuilder_overrideWithoutBurst_followsANewDefaultBurst_anExplicitOneStays() {
    RateLimitConfig c =
        RateLimitConfig.newBuilder()
            .defaultBurst(4)
            .host("a.example", 5)
            .host("b.example", 5, 2)
            .build();

    RateLimitConfig changed = c.toBuilder().defaultBurst(10).build();

    assertThat(changed.ruleFor("a.example").burst()).isEqualTo(10);
    assertThat(changed.inheritsBurst("a.example")).isTrue();
    assertThat(changed.ruleFor("b.example").burst()).isEqualTo(2);
    assertThat(changed.inheritsBurst("b.example")).isFalse();
  }

  @Test
  void build_negativeDefaultRate_failsNamingKey() {
    assertFailsWithKey(
        RateLimitConfig.newBuilder().defaultRate(-1), "rate_limit.default_rate", "from 1e-6");
  }

  @Test
  void build_rateBelowOnePerElevenDays_failsNamingKey_theFloorItselfIsTaken() {
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("slow.example", 4.9e-324),
        "rate_limit.hosts['slow.example'].rate",
        "from 1e-6 to 1e9, got 4.9E-324");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().minRate(9.99e-7), "rate_limit.min_rate", "from 1e-6");
    assertThat(
            RateLimitConfig.newBuilder()
                .defaultRate(RateLimitConfig.MIN_RATE)
                .build()
                .defaultRule()
                .rate())
        .isEqualTo(1e-6);
  }

  @Test
  void build_zeroOrNanDefaultRate_fails() {
    assertFailsWithKey(RateLimitConfig.newBuilder().defaultRate(0), "rate_limit.default_rate", "");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().defaultRate(Double.NaN), "rate_limit.default_rate", "");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().defaultRate(Double.POSITIVE_INFINITY),
        "rate_limit.default_rate",
        "");
  }

  @Test
  void build_burstZero_failsNamingKey() {
    assertFailsWithKey(
        RateLimitConfig.newBuilder().defaultBurst(0), "rate_limit.default_burst", "1..");
  }

  @Test
  void build_hostRateNegative_failsNamingPatternKey() {
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("*.example.com", -2, 4),
        "rate_limit.hosts['*.example.com'].rate",
        "from 1e-6");
  }

  @Test
  void build_hostBurstZero_failsNamingPatternKey() {
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("example.com", 1, 0),
        "rate_limit.hosts['example.com'].burst",
        "1..");
  }

  @Test
  void build_badPatterns_failNamingThePattern() {
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("Example.com", 1), "rate_limit.hosts['Example.com']", "");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("foo*.com", 1), "rate_limit.hosts['foo*.com']", "'*'");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("*.*.com", 1), "rate_limit.hosts['*.*.com']", "'*'");
    assertFailsWithKey(RateLimitConfig.newBuilder().host("*.", 1), "rate_limit.hosts['*.']", "");
    assertFailsWithKey(RateLimitConfig.newBuilder().host("*", 1), "rate_limit.hosts['*']", "'*'");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("a..b", 1), "rate_limit.hosts['a..b']", "empty label");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("exa mple.com", 1),
        "rate_limit.hosts['exa mple.com']",
        "' '");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().host("bücher.de", 1), "rate_limit.hosts['bücher.de']", "");
    assertFailsWithKey(RateLimitConfig.newBuilder().host("", 1), "rate_limit.hosts['']", "empty");
  }

  @Test
  void build_ipPatternsNotInTheFormHostsAreComparedIn_failNamingTheCanonicalForm() {
    String[][] cases = {
      {"[2001:db8:0:0:0:0:0:1]", "as '[2001:db8::1]'"},
      {"[2001:DB8::1]", "as '[2001:db8::1]'"},
      {"[::ffff:1.2.3.4]", "as '[::ffff:102:304]'"},
      {"[1::2::3]", "not a valid IPv6 address"},
      {"[::1%eth0]", "not a valid IPv6 address"},
      {"1572395042", "as '93.184.216.34'"},
      {"0x7f.0.0.1", "as '127.0.0.1'"},
      {"example.0", "not an IPv4 address"},
      {"*.0.0.1", "a wildcard takes a domain name"},
    };
    for (String[] c : cases) {
      assertFailsWithKey(
          RateLimitConfig.newBuilder().host(c[0], 1), "rate_limit.hosts['" + c[0] + "']", c[1]);
    }
  }

  @Test
  void build_validPatterns_areAccepted() {
    RateLimitConfig c =
        RateLimitConfig.newBuilder()
            .host("example.com", 1)
            .host("*.example.com", 3, 6)
            .host("xn--bcher-kva.de", 1)
            .host("localhost", 100)
            .host("[::1]", 100)
            .host("[2001:db8::1:0:0:1]", 100)
            .host("10.0.0.1", 5)
            .host("*.1a", 5)
            .build();

    assertThat(c.hosts()).hasSize(8);
    assertThat(c.hosts().get("example.com").burst()).isEqualTo(4); // inherits the default burst
  }

  @Test
  void build_decreaseFactorOutsideZeroOne_failsNamingKey() {
    for (double f : new double[] {1.5, 1.0, 0.0, -0.5, Double.NaN}) {
      assertFailsWithKey(
          RateLimitConfig.newBuilder().decreaseFactor(f), "rate_limit.decrease_factor", "");
    }
  }

  @Test
  void build_otherBadValues_failNamingKey() {
    assertFailsWithKey(
        RateLimitConfig.newBuilder().recoveryStep(-0.1), "rate_limit.recovery_step", "");
    assertFailsWithKey(RateLimitConfig.newBuilder().minRate(0), "rate_limit.min_rate", "");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().idleEviction(Duration.ZERO), "rate_limit.idle_eviction", "");
    assertFailsWithKey(RateLimitConfig.newBuilder().maxHosts(0), "rate_limit.max_hosts", "");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().defaultPause(Duration.ofSeconds(-1)),
        "rate_limit.default_pause",
        "");
    assertFailsWithKey(
        RateLimitConfig.newBuilder().maxPause(Duration.ofDays(2)), "rate_limit.max_pause", "1d");
    assertFailsWithKey(
        RateLimitConfig.newBuilder()
            .defaultPause(Duration.ofMinutes(2))
            .maxPause(Duration.ofMinutes(1)),
        "rate_limit.default_pause",
        "rate_limit.max_pause");
  }

  @Test
  void ruleFor_exactAndWildcardForSameName_exactWins() {
    RateLimitConfig c =
        RateLimitConfig.newBuilder().host("*.example.com", 5).host("example.com", 1).build();

    assertThat(c.ruleFor("example.com").pattern()).isEqualTo("example.com");
    assertThat(c.ruleFor("www.example.com").pattern()).isEqualTo("*.example.com");
  }

  @Test
  void ruleFor_nestedWildcards_longestWins() {
    RateLimitConfig c =
        RateLimitConfig.newBuilder()
            .host("*.example.com", 5)
            .host("*.cdn.example.com", 50)
            .host("img.cdn.example.com", 500)
            .build();

    assertThat(c.ruleFor("a.b.cdn.example.com").pattern()).isEqualTo("*.cdn.example.com");
    assertThat(c.ruleFor("cdn.example.com").pattern()).isEqualTo("*.cdn.example.com");
    assertThat(c.ruleFor("img.cdn.example.com").pattern()).isEqualTo("img.cdn.example.com");
    assertThat(c.ruleFor("x.img.cdn.example.com").pattern()).isEqualTo("*.cdn.example.com");
    assertThat(c.ruleFor("www.example.com").pattern()).isEqualTo("*.example.com");
    assertThat(c.ruleFor("example.com").pattern()).isEqualTo("*.example.com");
  }

  @Test
  void ruleFor_noPatternMatches_returnsDefault() {
    RateLimitConfig c =
        RateLimitConfig.newBuilder().host("*.example.com", 5).host("exact.org", 1).build();

    assertThat(c.ruleFor("badexample.com").isDefault()).isTrue(); // a suffix, not a subdomain
    assertThat(c.ruleFor("www.exact.org").isDefault()).isTrue(); // exact matches itself only
    assertThat(c.ruleFor("com").isDefault()).isTrue();
    assertThat(c.ruleFor("[::1]").isDefault()).isTrue();
  }

  @Test
  void toBuilder_unchanged_buildsEqualRules() {
    RateLimitConfig c =
        RateLimitConfig.newBuilder()
            .defaultRate(3)
            .host("*.example.com", 5, 9)
            .recoveryStep(0.4)
            .maxHosts(7)
            .build();

    RateLimitConfig copy = c.toBuilder().build();

    assertThat(copy.defaultRule()).isEqualTo(c.defaultRule());
    assertThat(copy.hosts()).isEqualTo(c.hosts());
    assertThat(copy.recoveryStep()).isEqualTo(c.recoveryStep());
    assertThat(copy.maxHosts()).isEqualTo(7);
  }

  private static void assertFailsWithKey(
      RateLimitConfig.Builder builder, String key, String inMessage) {
    assertThatThrownBy(builder::build)
        .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.key()).isEqualTo(key))
        .hasMessageStartingWith(key + ": ")
        .hasMessageContaining(inMessage);
  }
}
