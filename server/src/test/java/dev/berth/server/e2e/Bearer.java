package dev.berth.server.e2e;

import dev.berth.server.security.TokenRegistry;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.util.Map;

/** Calls as one principal: every call on the returned channel carries its bearer token. */
final class Bearer {
  private Bearer() {}

  /**
   * The value of {@code --auth.tokens} for {@code principals}: each principal's token (hashed, as
   * the daemon wants it) and roles, in YAML flow style.
   */
  static String tokensFlag(Map<String, Map.Entry<String, String>> principals) {
    StringBuilder flag = new StringBuilder("{");
    principals.forEach(
        (principal, tokenAndRoles) -> {
          if (flag.length() > 1) {
            flag.append(", ");
          }
          flag.append(principal)
              .append(": {sha256: ")
              .append(TokenRegistry.hash(tokenAndRoles.getKey()))
              .append(", roles: [")
              .append(tokenAndRoles.getValue())
              .append("]}");
        });
    return flag.append("}").toString();
  }

  static Channel as(Channel channel, String token) {
    Metadata headers = new Metadata();
    headers.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return ClientInterceptors.intercept(
        channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }
}
