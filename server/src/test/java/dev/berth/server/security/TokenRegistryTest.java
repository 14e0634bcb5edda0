package dev.berth.server.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TokenRegistryTest {
  private static final String SHA256_OF_TEST =
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

  @Test
  void hash_isTheSha256sumOfTheToken() {
    // printf %s test | sha256sum
    assertThat(TokenRegistry.hash("test")).isEqualTo(SHA256_OF_TEST);
  }

  @Test
  void verify_configuredToken_itsIdentity() {
    TokenRegistry registry =
        TokenRegistry.of(
            List.of(
                new TokenRegistry.Entry("a", Set.of(Role.WORKER), TokenRegistry.hash("token-a")),
                new TokenRegistry.Entry(
                    "ops", Set.of(Role.ADMIN), SHA256_OF_TEST.toUpperCase(Locale.ROOT))));

    assertThat(registry.enabled()).isTrue();
    assertThat(registry.verify("token-a")).contains(new Identity("a", Set.of(Role.WORKER)));
    assertThat(registry.verify("test")).contains(new Identity("ops", Set.of(Role.ADMIN)));
    assertThat(registry.verify("token-b")).isEmpty();
    assertThat(registry.verify("")).isEmpty();
    assertThat(registry.verify(SHA256_OF_TEST)).as("the hash is not the token").isEmpty();
  }

  @Test
  void of_noEntries_disabled() {
    assertThat(TokenRegistry.of(List.of()).enabled()).isFalse();
  }

  @Test
  void of_hashNotSixtyFourHexDigits_refusedNamingThePrincipal() {
    assertThatThrownBy(
            () ->
                TokenRegistry.of(
                    List.of(new TokenRegistry.Entry("a", Set.of(Role.WORKER), "abc123"))))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("auth.tokens['a'].sha256");
  }

  @Test
  void of_noRole_refused() {
    assertThatThrownBy(
            () -> TokenRegistry.of(List.of(new TokenRegistry.Entry("a", Set.of(), SHA256_OF_TEST))))
        .hasMessageContaining("auth.tokens['a'].roles");
  }

  @Test
  void of_blankPrincipal_refused() {
    assertThatThrownBy(
            () ->
                TokenRegistry.of(
                    List.of(new TokenRegistry.Entry(" ", Set.of(Role.WORKER), SHA256_OF_TEST))))
        .hasMessageContaining("empty principal");
  }
}
