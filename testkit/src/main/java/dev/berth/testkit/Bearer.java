package dev.berth.testkit;

import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;

/**
 * Bearer tokens for tests and benchmarks: the daemon's {@code --auth.tokens} value for a set of
 * principals, and channels whose every call carries one principal's token. Stateless and
 * thread-safe.
 */
public final class Bearer {
  private Bearer() {}

  /**
   * The value of {@code --auth.tokens} for {@code principals}: each principal's token (hashed, as
   * the daemon wants it) and roles, in YAML flow style.
   */
  public static String tokensFlag(Map<String, Map.Entry<String, String>> principals) {
    StringBuilder flag = new StringBuilder("{");
    principals.forEach(
        (principal, tokenAndRoles) -> {
          if (flag.length() > 1) {
            flag.append(", ");
          }
          flag.append(principal)
              .append(": {sha256: ")
              .append(sha256Hex(tokenAndRoles.getKey()))
              .append(", roles: [")
              .append(tokenAndRoles.getValue())
              .append("]}");
        });
    return flag.append("}").toString();
  }

  /** The SHA-256 of {@code token} in lower-case hex, as {@code auth.tokens} wants it. */
  public static String sha256Hex(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
  }

  /** {@code channel}, with {@code Authorization: Bearer TOKEN} on every call. */
  public static Channel as(Channel channel, String token) {
    Metadata headers = new Metadata();
    headers.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return ClientInterceptors.intercept(
        channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }
}
