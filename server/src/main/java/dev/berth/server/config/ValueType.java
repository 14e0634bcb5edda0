package dev.berth.server.config;

import dev.berth.server.security.Role;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.settings.Addresses;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The type of a configuration key: how a value written in YAML, an environment variable or a flag
 * becomes a Java value, and how that value is written back for people. Values from YAML arrive as
 * SnakeYAML's plain types (String, Integer, Long, Double, Boolean, Map); values from the
 * environment and flags arrive as strings.
 */
enum ValueType {
  DURATION("a duration like 500ms, 10s, 1m30s or 1h") {
    @Override
    Object parse(String key, Object raw) {
      return Durations.parse(key, scalar(key, raw));
    }

    @Override
    String format(Object value) {
      return Durations.format((Duration) value);
    }
  },
  INTEGER("a whole number") {
    @Override
    Object parse(String key, Object raw) {
      long n = whole(key, raw, this);
      if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
        throw mismatch(key, raw, this);
      }
      return (int) n;
    }
  },
  LONG("a whole number") {
    @Override
    Object parse(String key, Object raw) {
      return whole(key, raw, this);
    }
  },
  DECIMAL("a number") {
    @Override
    Object parse(String key, Object raw) {
      if (raw instanceof Number n && !(raw instanceof Double d && !Double.isFinite(d))) {
        return n.doubleValue();
      }
      if (raw instanceof String s) {
        try {
          double d = Double.parseDouble(s.trim());
          if (Double.isFinite(d)) {
            return d;
          }
        } catch (NumberFormatException e) {
          // reported below
        }
      }
      throw mismatch(key, raw, this);
    }

    @Override
    String format(Object value) {
      return decimal((Double) value);
    }
  },
  TEXT("text") {
    @Override
    Object parse(String key, Object raw) {
      return scalar(key, raw).trim();
    }
  },
  BOOLEAN("true or false") {
    @Override
    Object parse(String key, Object raw) {
      if (raw instanceof Boolean b) {
        return b;
      }
      if (raw instanceof String s) {
        switch (s.trim().toLowerCase(Locale.ROOT)) {
          case "true", "yes", "on", "1" -> {
            return true;
          }
          case "false", "no", "off", "0" -> {
            return false;
          }
          default -> {
            // reported below
          }
        }
      }
      throw mismatch(key, raw, this);
    }
  },
  ADDRESS("HOST:PORT") {
    @Override
    Object parse(String key, Object raw) {
      return Addresses.parse(key, scalar(key, raw));
    }

    @Override
    String format(Object value) {
      return Addresses.format((InetSocketAddress) value);
    }
  },
  /** An address, or off: {@code Optional.empty()} for "off", "" or YAML's {@code false}. */
  ADDRESS_OR_OFF("HOST:PORT, or off") {
    @Override
    Object parse(String key, Object raw) {
      if (Boolean.FALSE.equals(raw)) {
        return Optional.empty(); // YAML 1.1 reads a bare "off" as false
      }
      String s = scalar(key, raw).trim();
      if (s.isEmpty() || s.equalsIgnoreCase("off")) {
        return Optional.empty();
      }
      return Optional.of(Addresses.parse(key, s));
    }

    @Override
    String format(Object value) {
      Optional<?> address = (Optional<?>) value;
      return address.isEmpty() ? "off" : Addresses.format((InetSocketAddress) address.get());
    }
  },
  PATH("a file or directory path") {
    @Override
    Object parse(String key, Object raw) {
      String s = scalar(key, raw).trim();
      if (s.isEmpty()) {
        throw new ConfigException(key, "must be " + expected() + ", got ''");
      }
      return Path.of(s);
    }
  },
  LOG_FORMAT("text or json") {
    @Override
    Object parse(String key, Object raw) {
      String s = scalar(key, raw).trim().toLowerCase(Locale.ROOT);
      return switch (s) {
        case "text" -> LogFormat.TEXT;
        case "json" -> LogFormat.JSON;
        default -> throw new ConfigException(key, "must be text or json, got '" + raw + "'");
      };
    }

    @Override
    String format(Object value) {
      return ((LogFormat) value).name().toLowerCase(Locale.ROOT);
    }
  },
  LOG_LEVEL("one of TRACE, DEBUG, INFO, WARN, ERROR") {
    @Override
    Object parse(String key, Object raw) {
      String s = scalar(key, raw).trim().toUpperCase(Locale.ROOT);
      return switch (s) {
        case "TRACE", "DEBUG", "INFO", "WARN", "ERROR" -> s;
        default ->
            throw new ConfigException(
                key, "must be one of TRACE, DEBUG, INFO, WARN, ERROR, got '" + raw + "'");
      };
    }
  },
  /**
   * {@code rate_limit.hosts}: a map of host pattern to {@code {rate: R, burst: B}} (burst optional)
   * or to a bare rate. From the environment or a flag, the same map in YAML flow style.
   */
  HOST_MAP("a map of host pattern to {rate: R, burst: B}") {
    @Override
    Object parse(String key, Object raw) {
      Object value = raw instanceof String s ? YamlConfigFile.parseFlow(key, s) : raw;
      if (value == null) {
        return Map.of();
      }
      if (!(value instanceof Map<?, ?> map)) {
        throw mismatch(key, raw, this);
      }
      Map<String, HostRate> hosts = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        String pattern = String.valueOf(e.getKey());
        String entryKey = key + "['" + pattern + "']";
        hosts.put(pattern, hostRate(entryKey, e.getValue()));
      }
      return hosts;
    }

    @Override
    String format(Object value) {
      Map<?, ?> hosts = (Map<?, ?>) value;
      StringBuilder b = new StringBuilder("{");
      for (Map.Entry<?, ?> e : hosts.entrySet()) {
        HostRate r = (HostRate) e.getValue();
        if (b.length() > 1) {
          b.append(", ");
        }
        b.append(YamlText.quoted(String.valueOf(e.getKey())))
            .append(": {rate: ")
            .append(decimal(r.rate()));
        if (r.burst() != null) {
          b.append(", burst: ").append(r.burst());
        }
        b.append('}');
      }
      return b.append('}').toString();
    }
  },
  /**
   * {@code auth.tokens}: a map of principal to {@code {sha256: HEX, roles: [worker, admin]}}. From
   * the environment or a flag, the same map in YAML flow style. Tokens are never written in clear.
   */
  TOKEN_MAP("a map of principal to {sha256: HEX, roles: [worker, admin]}") {
    @Override
    Object parse(String key, Object raw) {
      Object value = raw instanceof String s ? YamlConfigFile.parseFlow(key, s) : raw;
      if (value == null) {
        return List.of();
      }
      if (!(value instanceof Map<?, ?> map)) {
        // Never echo a scalar: it might be a token pasted in clear.
        throw new ConfigException(
            key,
            "must be " + expected() + ", got " + (raw instanceof String ? "text" : describe(raw)));
      }
      List<TokenRegistry.Entry> entries = new ArrayList<>();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        String principal = String.valueOf(e.getKey());
        entries.add(tokenEntry(key + "['" + principal + "']", principal, e.getValue()));
      }
      return List.copyOf(entries);
    }

    @Override
    String format(Object value) {
      StringBuilder b = new StringBuilder("{");
      for (Object o : (List<?>) value) {
        TokenRegistry.Entry e = (TokenRegistry.Entry) o;
        if (b.length() > 1) {
          b.append(", ");
        }
        b.append(YamlText.quoted(e.principal()))
            .append(": {sha256: ")
            .append(e.sha256Hex())
            .append(", roles: [")
            .append(
                String.join(
                    ", ",
                    e.roles().stream()
                        .sorted()
                        .map(r -> r.name().toLowerCase(Locale.ROOT))
                        .toList()))
            .append("]}");
      }
      return b.append('}').toString();
    }

    /** Principals and roles only: hashes stay out of logs. */
    @Override
    String forLog(Object value) {
      List<String> named = new ArrayList<>();
      for (Object o : (List<?>) value) {
        TokenRegistry.Entry e = (TokenRegistry.Entry) o;
        named.add(e.principal() + " " + roles(e));
      }
      return named.size() + " tokens " + named;
    }

    /** Which principals were added, removed, given a new hash or new roles; never a hash. */
    @Override
    String change(Object before, Object after) {
      Map<String, TokenRegistry.Entry> old = byPrincipal(before);
      Map<String, TokenRegistry.Entry> now = byPrincipal(after);
      List<String> added = new ArrayList<>();
      List<String> rotated = new ArrayList<>();
      List<String> regranted = new ArrayList<>();
      for (TokenRegistry.Entry e : now.values()) {
        TokenRegistry.Entry was = old.get(e.principal());
        if (was == null) {
          added.add(e.principal());
        } else {
          if (!was.sha256Hex().equals(e.sha256Hex())) {
            rotated.add(e.principal());
          }
          if (!was.roles().equals(e.roles())) {
            regranted.add(e.principal() + " " + roles(e));
          }
        }
      }
      List<String> removed =
          old.keySet().stream().filter(principal -> !now.containsKey(principal)).toList();
      StringBuilder b = new StringBuilder();
      appendList(b, "added", added);
      appendList(b, "removed", removed);
      appendList(b, "new hash", rotated);
      appendList(b, "new roles", regranted);
      return b.append(b.length() == 0 ? "" : " ")
          .append("(")
          .append(now.size())
          .append(" tokens)")
          .toString();
    }
  };

  private static String roles(TokenRegistry.Entry e) {
    return e.roles().stream()
        .sorted()
        .map(r -> r.name().toLowerCase(Locale.ROOT))
        .toList()
        .toString();
  }

  private static Map<String, TokenRegistry.Entry> byPrincipal(Object value) {
    Map<String, TokenRegistry.Entry> map = new LinkedHashMap<>();
    for (Object o : (List<?>) value) {
      TokenRegistry.Entry e = (TokenRegistry.Entry) o;
      map.put(e.principal(), e);
    }
    return map;
  }

  private static void appendList(StringBuilder b, String label, List<String> items) {
    if (!items.isEmpty()) {
      b.append(b.length() == 0 ? "" : ", ").append(label).append(' ').append(items);
    }
  }

  private final String expected;

  ValueType(String expected) {
    this.expected = expected;
  }

  /** What a value of this type looks like, for error messages. */
  String expected() {
    return expected;
  }

  /**
   * Converts a raw value to this type.
   *
   * @throws ConfigException naming {@code key} and the expected type
   */
  abstract Object parse(String key, Object raw);

  /** The value as an operator would write it. */
  String format(Object value) {
    return String.valueOf(value);
  }

  /** The value for a log line: {@link #format} unless that would reveal a secret. */
  String forLog(Object value) {
    return format(value);
  }

  /** A change of value for a log line, {@code old -> new} unless that would reveal a secret. */
  String change(Object before, Object after) {
    return forLog(before) + " -> " + forLog(after);
  }

  private static TokenRegistry.Entry tokenEntry(String entryKey, String principal, Object raw) {
    if (principal.isBlank()) {
      throw new ConfigException(entryKey, "a principal must not be empty");
    }
    if (!(raw instanceof Map<?, ?> fields)) {
      throw new ConfigException(
          entryKey, "must be {sha256: HEX, roles: [worker, admin]}, got " + describe(raw));
    }
    String hash = null;
    EnumSet<Role> roles = EnumSet.noneOf(Role.class);
    for (Map.Entry<?, ?> f : fields.entrySet()) {
      String name = String.valueOf(f.getKey());
      switch (name) {
        case "sha256" -> {
          hash = scalar(entryKey + ".sha256", f.getValue()).trim().toLowerCase(Locale.ROOT);
          if (!hash.matches("[0-9a-f]{64}")) {
            // Never echo the value: it might be a token pasted in clear.
            throw new ConfigException(
                entryKey + ".sha256",
                "must be 64 hex digits, the SHA-256 of the token (printf %s \"$TOKEN\" |"
                    + " sha256sum); never the token itself");
          }
        }
        case "roles" -> {
          Object r = f.getValue();
          List<?> names = r instanceof List<?> l ? l : List.of(scalar(entryKey + ".roles", r));
          for (Object n : names) {
            String role = String.valueOf(n).trim().toUpperCase(Locale.ROOT);
            try {
              roles.add(Role.valueOf(role));
            } catch (IllegalArgumentException e) {
              throw new ConfigException(
                  entryKey + ".roles", "must name worker or admin, got '" + n + "'");
            }
          }
        }
        default ->
            throw new ConfigException(
                entryKey + "." + name,
                "unknown key"
                    + Suggestions.didYouMean(name, List.of("sha256", "roles"))
                    + "; a token has sha256 and roles");
      }
    }
    if (hash == null) {
      throw new ConfigException(entryKey + ".sha256", "is required");
    }
    if (roles.isEmpty()) {
      throw new ConfigException(entryKey + ".roles", "must name at least one of worker, admin");
    }
    return new TokenRegistry.Entry(principal, roles, hash);
  }

  private static HostRate hostRate(String entryKey, Object raw) {
    if (raw instanceof Number || raw instanceof String) {
      return new HostRate((Double) DECIMAL.parse(entryKey + ".rate", raw), null);
    }
    if (!(raw instanceof Map<?, ?> fields)) {
      throw new ConfigException(
          entryKey, "must be {rate: R, burst: B} or a bare rate, got " + describe(raw));
    }
    Double rate = null;
    Integer burst = null;
    for (Map.Entry<?, ?> f : fields.entrySet()) {
      String name = String.valueOf(f.getKey());
      switch (name) {
        case "rate" -> rate = (Double) DECIMAL.parse(entryKey + ".rate", f.getValue());
        case "burst" -> burst = (Integer) INTEGER.parse(entryKey + ".burst", f.getValue());
        default ->
            throw new ConfigException(
                entryKey + "." + name,
                "unknown key"
                    + Suggestions.didYouMean(name, List.of("rate", "burst"))
                    + "; a host override has rate and burst");
      }
    }
    if (rate == null) {
      throw new ConfigException(entryKey + ".rate", "is required");
    }
    return new HostRate(rate, burst);
  }

  private static String scalar(String key, Object raw) {
    if (raw instanceof String s) {
      return s;
    }
    if (raw instanceof Number || raw instanceof Boolean) {
      return String.valueOf(raw);
    }
    throw new ConfigException(key, "must be a single value, got " + describe(raw));
  }

  private static long whole(String key, Object raw, ValueType type) {
    if (raw instanceof Integer || raw instanceof Long) {
      return ((Number) raw).longValue();
    }
    if (raw instanceof String s) {
      try {
        return Long.parseLong(s.trim().replace("_", ""));
      } catch (NumberFormatException e) {
        // reported below
      }
    }
    throw mismatch(key, raw, type);
  }

  private static ConfigException mismatch(String key, Object raw, ValueType type) {
    return new ConfigException(key, "must be " + type.expected() + ", got " + describe(raw));
  }

  static String describe(Object raw) {
    if (raw instanceof Map) {
      return "a map";
    }
    if (raw instanceof List) {
      return "a list";
    }
    return "'" + raw + "'";
  }

  /** A number without needless digits: {@code 2.0}, {@code 0.05}, {@code 1000000.0}. */
  static String decimal(double value) {
    String s = BigDecimal.valueOf(value).stripTrailingZeros().toPlainString();
    return s.indexOf('.') < 0 ? s + ".0" : s;
  }
}
