package dev.berth.server.settings;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/**
 * Parses the http and https URLs of settings (an OTLP endpoint, a member's dashboard): absolute,
 * naming a host, without credentials, query or fragment. Stateless and thread-safe.
 */
public final class WebUrls {
  private WebUrls() {}

  /**
   * Parses {@code text} as an http or https URL.
   *
   * @param example a URL of the kind expected, for the error's rule (e.g. {@code
   *     http://127.0.0.1:4318})
   * @throws ConfigException naming {@code key}, the rule and the value when it is not one
   */
  public static URI parse(String key, String text, String example) {
    String rule = "must be an http:// or https:// URL such as " + example;
    URI uri;
    try {
      uri = new URI(text.trim());
    } catch (URISyntaxException e) {
      throw new ConfigException(key, rule + ", got '" + text + "' (" + e.getReason() + ")");
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new ConfigException(key, rule + ", got '" + text + "'");
    }
    if (uri.getHost() == null || uri.getHost().isEmpty()) {
      throw new ConfigException(key, rule + ": '" + text + "' names no host");
    }
    if (uri.getRawUserInfo() != null || uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw new ConfigException(
          key, rule + " without credentials, query or fragment, got '" + text + "'");
    }
    return uri;
  }
}
