package dev.berth.server.web;

import com.sun.net.httpserver.HttpExchange;
import dev.berth.server.http.HttpListener;
import dev.berth.server.security.Identity;
import dev.berth.server.security.Role;
import dev.berth.server.security.TokenRegistry;
import java.net.InetAddress;
import java.util.Locale;
import java.util.Optional;

/**
 * Who may read the dashboard's data and who may act through it: the rules of the gRPC admin
 * service, applied to HTTP.
 *
 * <ul>
 *   <li>With {@code auth.tokens} configured, every data request and every action needs {@code
 *       Authorization: Bearer <token>} of a principal with the {@code admin} role: none or an
 *       unknown token is 401, a token without the role 403.
 *   <li>Without tokens, reads are open (as {@code /metrics} is). Actions are offered only when the
 *       listener is on loopback, where only this machine can reach it; on any other address the
 *       dashboard is read-only until tokens are configured.
 *   <li>Actions are POSTs with a JSON body ({@code Content-Type: application/json}), never GETs.
 *       The page sends no cookies and the token only in a header, so another site cannot make a
 *       browser act (no CSRF): a cross-site JSON POST needs a CORS preflight, which this server
 *       never grants, and an {@code Origin} other than the page's own is refused.
 *   <li>On a loopback listener the {@code Host} header must name a loopback host, so a web page
 *       that rebinds its own DNS name to 127.0.0.1 cannot read the dashboard either.
 * </ul>
 *
 * <p>Tokens can be replaced while serving ({@link #replace}); each request is checked against the
 * set in force when it arrives. Tokens are never logged or echoed. Thread-safe.
 */
final class WebAccess {
  private static final String BEARER = "bearer ";

  /** What one request may do. */
  /**
   * @param tokenHash the SHA-256 (hex) of the bearer token that was shown; empty when reads are
   *     open (no tokens configured)
   */
  record Grant(String principal, boolean actions, String tokenHash) {}

  private final boolean loopbackListener;
  private volatile TokenRegistry tokens;

  WebAccess(TokenRegistry tokens, boolean loopbackListener) {
    this.tokens = tokens;
    this.loopbackListener = loopbackListener;
  }

  /** Checks requests that arrive from now on against {@code next}. */
  void replace(TokenRegistry next) {
    this.tokens = next;
  }

  /**
   * Whether {@code grant}, given under earlier tokens, still holds under the tokens in force: open
   * reads while no token is configured, else a token that is still there with the admin role.
   */
  boolean stillHolds(Grant grant) {
    TokenRegistry now = tokens;
    if (!now.enabled()) {
      return true;
    }
    return !grant.tokenHash().isEmpty()
        && now.verifyHash(grant.tokenHash()).filter(i -> i.has(Role.ADMIN)).isPresent();
  }

  boolean authEnabled() {
    return tokens.enabled();
  }

  /**
   * Admits a read of the broker's state.
   *
   * @throws WebError 401 or 403 when the request may not read
   */
  Grant read(HttpExchange exchange) {
    checkHost(exchange);
    TokenRegistry tokens = this.tokens; // one set for the whole check
    if (!tokens.enabled()) {
      return new Grant(Identity.ANONYMOUS.principal(), loopbackListener, "");
    }
    String header = exchange.getRequestHeaders().getFirst("Authorization");
    if (header == null
        || header.length() <= BEARER.length()
        || !header.substring(0, BEARER.length()).toLowerCase(Locale.ROOT).equals(BEARER)) {
      throw WebError.unauthenticated(
          "this broker requires an admin token: send 'Authorization: Bearer <token>'");
    }
    String token = header.substring(BEARER.length()).trim();
    Optional<Identity> identity = tokens.verify(token);
    if (identity.isEmpty()) {
      throw WebError.unauthenticated("unknown bearer token");
    }
    if (!identity.get().has(Role.ADMIN)) {
      throw WebError.denied(
          "principal '"
              + identity.get().principal()
              + "' lacks the admin role the dashboard needs");
    }
    return new Grant(identity.get().principal(), true, TokenRegistry.hash(token));
  }

  /**
   * Admits an action (revoke, drain): a read grant that allows actions, a JSON body, and no foreign
   * {@code Origin}.
   *
   * @throws WebError 401, 403 or 415 when the request may not act
   */
  Grant act(HttpExchange exchange) {
    Grant grant = read(exchange);
    if (!grant.actions()) {
      throw WebError.denied(
          "read-only: without auth.tokens, actions are offered on a loopback metrics.listen only");
    }
    String type = exchange.getRequestHeaders().getFirst("Content-Type");
    if (type == null
        || !type.toLowerCase(Locale.ROOT).split(";", 2)[0].trim().equals("application/json")) {
      throw new WebError(
          415,
          "INVALID_ARGUMENT",
          "Content-Type",
          "Content-Type: actions take a JSON body, send 'Content-Type: application/json'");
    }
    String origin = exchange.getRequestHeaders().getFirst("Origin");
    if (origin != null && !origin.equals(ownOrigin(exchange))) {
      throw new WebError(
          403, "PERMISSION_DENIED", "Origin", "Origin: actions are accepted from this page only");
    }
    return grant;
  }

  private static String ownOrigin(HttpExchange exchange) {
    String scheme = HttpListener.isSecure(exchange) ? "https" : "http";
    return scheme + "://" + exchange.getRequestHeaders().getFirst("Host");
  }

  private void checkHost(HttpExchange exchange) {
    if (!loopbackListener) {
      return;
    }
    String host = exchange.getRequestHeaders().getFirst("Host");
    if (host == null || !isLoopbackName(hostPart(host))) {
      throw new WebError(
          403,
          "PERMISSION_DENIED",
          "Host",
          "Host: this listener is on loopback; address it as localhost or a loopback IP");
    }
  }

  /** The host of a {@code Host} header: {@code [::1]:9464} gives {@code ::1}. */
  static String hostPart(String header) {
    if (header.startsWith("[")) {
      int end = header.indexOf(']');
      return end < 0 ? header : header.substring(1, end);
    }
    int colon = header.indexOf(':');
    return colon < 0 ? header : header.substring(0, colon);
  }

  /** Whether {@code host} is {@code localhost} or a loopback IP literal (no lookup). */
  static boolean isLoopbackName(String host) {
    String h = host.toLowerCase(Locale.ROOT);
    if (h.equals("localhost") || h.endsWith(".localhost")) {
      return true;
    }
    boolean ipv4 = h.matches("[0-9.]+");
    boolean ipv6 = h.contains(":") && h.matches("[0-9a-f:.]+");
    if (!ipv4 && !ipv6) {
      return false; // a name: resolving it is exactly what DNS rebinding abuses
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
