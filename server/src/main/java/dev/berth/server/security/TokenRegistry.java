package dev.berth.server.security;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * The bearer tokens the broker accepts. Tokens are configured as SHA-256 hashes, never in clear; a
 * presented token is hashed and compared with every configured hash in constant time, so neither
 * the comparison nor which entry matched leaks through timing. Tokens are never logged.
 *
 * <p>Immutable and thread-safe.
 */
public final class TokenRegistry {

  /**
   * One accepted token.
   *
   * @param principal the name its calls act as
   * @param roles what it may do
   * @param sha256Hex the SHA-256 of the token, 64 hex digits
   */
  public record Entry(String principal, Set<Role> roles, String sha256Hex) {
    public Entry {
      roles = Set.copyOf(roles);
      sha256Hex = sha256Hex.toLowerCase(Locale.ROOT);
    }
  }

  private final List<Entry> entries;
  private final List<byte[]> hashes;

  private TokenRegistry(List<Entry> entries) {
    this.entries = List.copyOf(entries);
    this.hashes = this.entries.stream().map(e -> HexFormat.of().parseHex(e.sha256Hex())).toList();
  }

  /**
   * A registry of {@code entries}.
   *
   * @throws IllegalArgumentException naming the entry whose hash is not 64 hex digits, whose
   *     principal is empty, or that has no role
   */
  public static TokenRegistry of(List<Entry> entries) {
    for (Entry e : entries) {
      if (e.principal().isBlank()) {
        throw new IllegalArgumentException("auth.tokens: an entry has an empty principal");
      }
      if (e.roles().isEmpty()) {
        throw new IllegalArgumentException(
            "auth.tokens['" + e.principal() + "'].roles: at least one of worker, admin");
      }
      if (!e.sha256Hex().matches("[0-9a-f]{64}")) {
        throw new IllegalArgumentException(
            "auth.tokens['"
                + e.principal()
                + "'].sha256: must be 64 hex digits (sha256sum of the token)");
      }
    }
    return new TokenRegistry(entries);
  }

  /** Whether any token is configured; without tokens, authentication is off. */
  public boolean enabled() {
    return !entries.isEmpty();
  }

  /** The identity of {@code token}, or empty when it matches no configured hash. */
  public Optional<Identity> verify(String token) {
    return verifyDigest(sha256(token));
  }

  /**
   * The identity of the token whose SHA-256 (hex) is {@code sha256Hex}, or empty when no entry has
   * it: for a long-lived call checked again after the tokens were replaced, without keeping the
   * token itself.
   */
  public Optional<Identity> verifyHash(String sha256Hex) {
    return verifyDigest(HexFormat.of().parseHex(sha256Hex));
  }

  private Optional<Identity> verifyDigest(byte[] presented) {
    Entry match = null;
    for (int i = 0; i < entries.size(); i++) {
      // Compare with every entry, whatever matched earlier, so timing says nothing.
      if (MessageDigest.isEqual(presented, hashes.get(i)) && match == null) {
        match = entries.get(i);
      }
    }
    return match == null
        ? Optional.empty()
        : Optional.of(new Identity(match.principal(), match.roles()));
  }

  /** The SHA-256 of a token, hex encoded, as configured. */
  public static String hash(String token) {
    return HexFormat.of().formatHex(sha256(token));
  }

  private static byte[] sha256(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }
}
