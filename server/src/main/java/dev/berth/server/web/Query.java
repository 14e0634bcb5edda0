package dev.berth.server.web;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The query string of a read request ({@code ?session_id=...&kind=pdf}), decoded and checked: each
 * problem is a 400 naming the parameter.
 */
final class Query {
  private final Map<String, String> params;

  private Query(Map<String, String> params) {
    this.params = params;
  }

  /**
   * Decodes {@code rawQuery} (null or empty: no parameters) whose names are all in {@code allowed},
   * each given at most once.
   *
   * @throws WebError 400 naming the parameter at fault
   */
  static Query parse(String rawQuery, Set<String> allowed) {
    Map<String, String> params = new HashMap<>();
    if (rawQuery == null || rawQuery.isEmpty()) {
      return new Query(params);
    }
    for (String pair : rawQuery.split("&", -1)) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = decode("query", eq < 0 ? pair : pair.substring(0, eq));
      if (name.isEmpty()) {
        // Nothing to name the field by: say what it was and what the endpoint takes.
        throw WebError.invalid(
            "query", "a parameter without a name ('" + pair + "'); " + takes(allowed));
      }
      String value = eq < 0 ? "" : decode(name, pair.substring(eq + 1));
      if (!allowed.contains(name)) {
        throw WebError.invalid(name, "unknown parameter; " + takes(allowed));
      }
      if (params.put(name, value) != null) {
        throw WebError.invalid(name, "given more than once");
      }
    }
    return new Query(params);
  }

  /** The parameters an endpoint takes, in words. */
  private static String takes(Set<String> allowed) {
    return "this endpoint takes "
        + (allowed.isEmpty() ? "none" : String.join(", ", new java.util.TreeSet<>(allowed)));
  }

  private static String decode(String field, String text) {
    try {
      return URLDecoder.decode(text, StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw WebError.invalid(field, "not URL-encoded: " + e.getMessage());
    }
  }

  /** The parameter's value; empty when not given. */
  String get(String name) {
    return params.getOrDefault(name, "");
  }
}
