package dev.berth.server.config;

import dev.berth.server.lease.ResourceKind;
import dev.berth.server.security.Role;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.settings.Addresses;
import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.Durations;
import dev.berth.server.settings.WebUrls;
import dev.berth.server.tracing.TracingConfig;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The codec of every configuration type. Each is stateless and thread-safe. */
final class Codecs {
  private Codecs() {}

  static final Codec<Duration> DURATION =
      new DurationCodec("a duration like 500ms, 10s, 1m30s or 1h");

  /**
   * A duration where a bare {@code 0} also means zero ("never"), e.g. {@code wasm.idle_timeout}.
   */
  static final Codec<Duration> DURATION_OR_ZERO =
      new DurationCodec("a duration like 500ms, 10s, 1m30s or 1h, or 0") {
        @Override
        public Duration parse(String key, Object raw) {
          String text = scalar(key, raw).trim();
          return text.equals("0") ? Duration.ZERO : super.parse(key, text);
        }
      };

  static final Codec<Integer> INTEGER =
      new Scalar<>("integer", "N", "a whole number", true) {
        @Override
        public Integer parse(String key, Object raw) {
          long n = whole(key, raw, this);
          if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
            throw mismatch(key, raw, this);
          }
          return (int) n;
        }
      };

  static final Codec<Long> LONG =
      new Scalar<>("integer", "N", "a whole number", true) {
        @Override
        public Long parse(String key, Object raw) {
          return whole(key, raw, this);
        }
      };

  static final Codec<Double> DECIMAL =
      new Scalar<>("number", "NUMBER", "a number", true) {
        @Override
        public Double parse(String key, Object raw) {
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
        public String format(Double value) {
          return decimal(value);
        }
      };

  static final Codec<String> TEXT =
      new Scalar<>("string", "TEXT", "text", false) {
        @Override
        public String parse(String key, Object raw) {
          return scalar(key, raw).trim();
        }
      };

  static final Codec<Boolean> BOOLEAN =
      new Scalar<>("boolean", "true|false", "true or false", true) {
        @Override
        public Boolean parse(String key, Object raw) {
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
      };

  static final Codec<InetSocketAddress> ADDRESS =
      new Scalar<>("address", "HOST:PORT", "HOST:PORT", false) {
        @Override
        public InetSocketAddress parse(String key, Object raw) {
          return Addresses.parse(key, scalar(key, raw));
        }

        @Override
        public String format(InetSocketAddress value) {
          return Addresses.format(value);
        }
      };

  /** An address, or off: empty for "off", "" or YAML's {@code false}. */
  static final Codec<Optional<InetSocketAddress>> ADDRESS_OR_OFF =
      orOff("address", "HOST:PORT", "HOST:PORT", Addresses::parse, Addresses::format);

  /** An http(s) URL, or off: empty for "off", "" or YAML's {@code false}. */
  static final Codec<Optional<URI>> URL_OR_OFF =
      orOff("URL", "URL", "an http:// or https:// URL", TracingConfig::endpoint, URI::toString);

  /**
   * A value read by {@code parse} and written by {@code format}, or off: empty for "off", "" or
   * YAML's {@code false}.
   */
  private static <T> Codec<Optional<T>> orOff(
      String typeName,
      String label,
      String expected,
      BiFunction<String, String, T> parse,
      Function<T, String> format) {
    return new Scalar<>(typeName + " or `off`", label + "|off", expected + ", or off", false) {
      @Override
      public Optional<T> parse(String key, Object raw) {
        if (Boolean.FALSE.equals(raw)) {
          return Optional.empty(); // YAML 1.1 reads a bare "off" as false
        }
        String s = scalar(key, raw).trim();
        if (s.isEmpty() || s.equalsIgnoreCase("off")) {
          return Optional.empty();
        }
        return Optional.of(parse.apply(key, s));
      }

      @Override
      public String format(Optional<T> value) {
        return value.map(format).orElse("off");
      }
    };
  }

  static final Codec<Path> PATH =
      new Scalar<>("path", "PATH", "a file or directory path", false) {
        @Override
        public Path parse(String key, Object raw) {
          String s = scalar(key, raw).trim();
          if (s.isEmpty()) {
            throw new ConfigException(key, "must be " + expected() + ", got ''");
          }
          try {
            return Path.of(s);
          } catch (java.nio.file.InvalidPathException e) {
            throw new ConfigException(key, "must be " + expected() + ": " + e.getReason());
          }
        }
      };

  static final Codec<LogFormat> LOG_FORMAT =
      new Scalar<>("`text`/`json`", "text|json", "text or json", false) {
        @Override
        public LogFormat parse(String key, Object raw) {
          String s = scalar(key, raw).trim().toLowerCase(Locale.ROOT);
          return switch (s) {
            case "text" -> LogFormat.TEXT;
            case "json" -> LogFormat.JSON;
            default -> throw new ConfigException(key, "must be text or json, got '" + raw + "'");
          };
        }

        @Override
        public String format(LogFormat value) {
          return value.name().toLowerCase(Locale.ROOT);
        }
      };

  static final Codec<String> LOG_LEVEL =
      new Scalar<>("level", "LEVEL", "one of TRACE, DEBUG, INFO, WARN, ERROR", false) {
        @Override
        public String parse(String key, Object raw) {
          String s = scalar(key, raw).trim().toUpperCase(Locale.ROOT);
          return switch (s) {
            case "TRACE", "DEBUG", "INFO", "WARN", "ERROR" -> s;
            default ->
                throw new ConfigException(
                    key, "must be one of TRACE, DEBUG, INFO, WARN, ERROR, got '" + raw + "'");
          };
        }
      };

  /**
   * {@code rate_limit.hosts}: host pattern to {@code {rate: R, burst: B}} (burst optional) or to a
   * bare rate.
   */
  static final EntryMapCodec<HostRate> HOSTS =
      new EntryMapCodec<>(
          "{PATTERN: {rate: R, burst: B}}",
          "a map of host pattern to {rate: R, burst: B}",
          "{\"*.example.com\": {rate: 5, burst: 10}}",
          List.of("rate", "burst"),
          "a host override has rate and burst") {
        @Override
        HostRate empty() {
          return new HostRate(null, null);
        }

        @Override
        HostRate shortForm(String entryKey, Object raw) {
          if (raw instanceof Number || raw instanceof String) {
            return new HostRate(DECIMAL.parse(entryKey + ".rate", raw), null);
          }
          throw new ConfigException(
              entryKey, "must be {rate: R, burst: B} or a bare rate, got " + describe(raw));
        }

        @Override
        HostRate withField(String entryKey, HostRate current, String field, Object raw) {
          return field.equals("rate")
              ? new HostRate(DECIMAL.parse(entryKey + ".rate", raw), current.burst())
              : new HostRate(current.rate(), INTEGER.parse(entryKey + ".burst", raw));
        }

        @Override
        String formatEntry(HostRate r) {
          StringBuilder b = new StringBuilder("{");
          if (r.rate() != null) {
            b.append("rate: ").append(decimal(r.rate()));
          }
          if (r.burst() != null) {
            b.append(b.length() > 1 ? ", " : "").append("burst: ").append(r.burst());
          }
          return b.append('}').toString();
        }
      };

  /**
   * {@code wasm.modules}: module name to {@code {path: FILE, exports: [NAME, ...]}}, or to a bare
   * path. Exports are a YAML list or a comma-separated list.
   */
  static final EntryMapCodec<ModuleSetting> MODULES =
      new EntryMapCodec<>(
          "{NAME: {path: FILE, exports: [E, ...]}}",
          "a map of module name to {path: FILE, exports: [NAME, ...]}",
          "{extractor: {path: extractor.wasm, exports: [alloc, extract]}}",
          List.of("path", "exports"),
          "a module has path and exports") {
        @Override
        ModuleSetting empty() {
          return new ModuleSetting(null, List.of());
        }

        @Override
        ModuleSetting shortForm(String entryKey, Object raw) {
          if (raw instanceof String) {
            return new ModuleSetting(PATH.parse(entryKey + ".path", raw), List.of());
          }
          throw new ConfigException(
              entryKey,
              "must be {path: FILE, exports: [NAME, ...]} or a bare path, got " + describe(raw));
        }

        @Override
        ModuleSetting withField(String entryKey, ModuleSetting current, String field, Object raw) {
          return field.equals("path")
              ? new ModuleSetting(PATH.parse(entryKey + ".path", raw), current.exports())
              : new ModuleSetting(current.path(), exports(entryKey + ".exports", raw));
        }

        @Override
        String formatEntry(ModuleSetting m) {
          StringBuilder b = new StringBuilder("{");
          if (m.path() != null) {
            b.append("path: ").append(YamlText.quoted(m.path().toString()));
          }
          if (!m.exports().isEmpty()) {
            b.append(b.length() > 1 ? ", " : "")
                .append("exports: [")
                .append(String.join(", ", m.exports().stream().map(YamlText::quoted).toList()))
                .append(']');
          }
          return b.append('}').toString();
        }
      };

  /**
   * {@code jobs}: job name to {@code {weight: W, min: {KIND: N}, max: {KIND: N}, hosts: {PATTERN:
   * {rate: R, burst: B}}}}, or to a bare weight. One field at a time: {@code jobs.NAME.weight},
   * {@code jobs.NAME.min.render}, {@code jobs.NAME.max.pdf}, {@code jobs.NAME.hosts}. Job names
   * hold no dots, so the field is everything after the name, and errors name entries {@code
   * jobs.NAME}, as refusals name their rules.
   */
  static final EntryMapCodec<JobSetting> JOBS =
      new EntryMapCodec<>(
          "{NAME: {weight: W, min: {KIND: N}, max: {KIND: N}, hosts: {...}}}",
          "a map of job name to {weight: W, min: {KIND: N}, max: {KIND: N}, hosts: {PATTERN:"
              + " {rate: R, burst: B}}}",
          "{urgent: {weight: 4, min: {render: 2}}, recrawl: {max: {render: 6}}}",
          jobFields(),
          "a job has weight, min, max (each per kind: render, pdf, wasm) and hosts") {
        @Override
        String nameOf(String key, String name) {
          return key + "." + name;
        }

        @Override
        boolean namesHoldDots() {
          return false;
        }

        @Override
        String[] splitEntryField(String rest) {
          int dot = rest.indexOf('.');
          return dot <= 0 ? null : new String[] {rest.substring(0, dot), rest.substring(dot + 1)};
        }

        @Override
        boolean accepts(String field) {
          return super.accepts(field) || field.startsWith("min.") || field.startsWith("max.");
        }

        @Override
        JobSetting empty() {
          return JobSetting.EMPTY;
        }

        @Override
        JobSetting shortForm(String entryKey, Object raw) {
          if (raw instanceof Number || raw instanceof String) {
            return new JobSetting(
                INTEGER.parse(entryKey + ".weight", raw), Map.of(), Map.of(), Map.of());
          }
          throw new ConfigException(
              entryKey,
              "must be {weight: W, min: {...}, max: {...}, hosts: {...}} or a bare weight, got "
                  + describe(raw));
        }

        @Override
        JobSetting withField(String entryKey, JobSetting current, String field, Object raw) {
          String key = entryKey + "." + field;
          if (field.equals("weight")) {
            return new JobSetting(
                INTEGER.parse(key, raw), current.min(), current.max(), current.hosts());
          }
          if (field.equals("hosts")) {
            return new JobSetting(
                current.weight(), current.min(), current.max(), HOSTS.parse(key, raw));
          }
          boolean min = field.startsWith("min");
          Map<ResourceKind, Integer> quotas = new java.util.EnumMap<>(ResourceKind.class);
          quotas.putAll(min ? current.min() : current.max());
          if (field.equals("min") || field.equals("max")) {
            // From a flag or the environment the map comes as text, in YAML flow style, as the
            // whole jobs map and a job's hosts do.
            Object value =
                raw instanceof String s ? YamlConfigFile.parseFlow(key, s, "{render: 2}") : raw;
            if (!(value instanceof Map<?, ?> map)) {
              throw new ConfigException(
                  key, "must be a map of kind to a count, like {render: 2}, got " + describe(raw));
            }
            for (Map.Entry<?, ?> e : map.entrySet()) {
              String kindKey = key + "." + e.getKey();
              quotas.put(
                  kind(kindKey, String.valueOf(e.getKey())), INTEGER.parse(kindKey, e.getValue()));
            }
          } else {
            String kind = field.substring(4);
            quotas.put(kind(key, kind), INTEGER.parse(key, raw));
          }
          return min
              ? new JobSetting(current.weight(), quotas, current.max(), current.hosts())
              : new JobSetting(current.weight(), current.min(), quotas, current.hosts());
        }

        @Override
        String formatEntry(JobSetting j) {
          List<String> parts = new ArrayList<>();
          if (j.weight() != null) {
            parts.add("weight: " + j.weight());
          }
          if (!j.min().isEmpty()) {
            parts.add("min: " + quotas(j.min()));
          }
          if (!j.max().isEmpty()) {
            parts.add("max: " + quotas(j.max()));
          }
          if (!j.hosts().isEmpty()) {
            parts.add("hosts: " + HOSTS.format(j.hosts()));
          }
          return "{" + String.join(", ", parts) + "}";
        }
      };

  /** The fields of a job: weight, min and max (whole, or one kind at a time), hosts. */
  private static List<String> jobFields() {
    List<String> fields = new ArrayList<>(List.of("weight", "min", "max", "hosts"));
    for (ResourceKind kind : ResourceKind.values()) {
      fields.add("min." + lower(kind));
    }
    for (ResourceKind kind : ResourceKind.values()) {
      fields.add("max." + lower(kind));
    }
    return fields;
  }

  /**
   * A kind as config keys write it, lower-case.
   *
   * @throws ConfigException naming {@code key} for a name that is not a kind
   */
  static ResourceKind kind(String key, String name) {
    for (ResourceKind kind : ResourceKind.values()) {
      if (lower(kind).equals(name)) {
        return kind;
      }
    }
    throw new ConfigException(
        key, "unknown kind '" + name + "'; the kinds are render, pdf and wasm");
  }

  private static String quotas(Map<ResourceKind, Integer> quotas) {
    List<String> parts = new ArrayList<>();
    for (ResourceKind kind : ResourceKind.values()) {
      Integer n = quotas.get(kind);
      if (n != null) {
        parts.add(lower(kind) + ": " + n);
      }
    }
    return "{" + String.join(", ", parts) + "}";
  }

  private static String lower(ResourceKind kind) {
    return kind.name().toLowerCase(Locale.ROOT);
  }

  /**
   * {@code cluster.peers}: member id to {@code {raft: HOST:PORT, api: HOST:PORT, dashboard: URL}},
   * the member's Raft port, the broker API address workers are sent to when it leads, and
   * (optional) the URL a browser opens its dashboard at.
   */
  static final EntryMapCodec<PeerSetting> PEERS =
      new EntryMapCodec<>(
          "{ID: {raft: HOST:PORT, api: HOST:PORT, dashboard: URL}}",
          "a map of member id to {raft: HOST:PORT, api: HOST:PORT}, with an optional dashboard URL",
          "{n1: {raft: \"10.0.0.1:7501\", api: \"10.0.0.1:7433\"}}",
          List.of("raft", "api", "dashboard"),
          "a member has raft, api and optionally dashboard") {
        @Override
        PeerSetting empty() {
          return new PeerSetting(null, null, null);
        }

        @Override
        PeerSetting shortForm(String entryKey, Object raw) {
          throw new ConfigException(
              entryKey, "must be {raft: HOST:PORT, api: HOST:PORT}, got " + describe(raw));
        }

        @Override
        PeerSetting withField(String entryKey, PeerSetting current, String field, Object raw) {
          return switch (field) {
            case "raft" ->
                new PeerSetting(
                    ADDRESS.parse(entryKey + ".raft", raw), current.api(), current.dashboard());
            case "api" ->
                new PeerSetting(
                    current.raft(), ADDRESS.parse(entryKey + ".api", raw), current.dashboard());
            default ->
                new PeerSetting(
                    current.raft(),
                    current.api(),
                    DASHBOARD_URL.parse(entryKey + ".dashboard", raw));
          };
        }

        @Override
        String formatEntry(PeerSetting p) {
          List<String> fields = new ArrayList<>();
          if (p.raft() != null) {
            fields.add("raft: " + YamlText.quoted(Addresses.format(p.raft())));
          }
          if (p.api() != null) {
            fields.add("api: " + YamlText.quoted(Addresses.format(p.api())));
          }
          if (p.dashboard() != null) {
            fields.add("dashboard: " + YamlText.quoted(p.dashboard()));
          }
          return "{" + String.join(", ", fields) + "}";
        }
      };

  /** A member's dashboard: an http or https URL naming a host ({@link WebUrls}). */
  static final Codec<String> DASHBOARD_URL =
      new Scalar<>("URL", "URL", "an http:// or https:// URL", false) {
        @Override
        public String parse(String key, Object raw) {
          return WebUrls.parse(key, scalar(key, raw), "https://10.0.0.1:9464/").toString();
        }

        @Override
        public String format(String value) {
          return value;
        }
      };

  /** A size in bytes: a whole number, or one with a unit (KiB, MiB, GiB; KB, MB, GB; B). */
  static final Codec<Long> BYTES =
      new Scalar<>("size", "SIZE", "a size like 4MiB, 512KiB or 1048576 (bytes)", false) {
        @Override
        public Long parse(String key, Object raw) {
          if (raw instanceof Integer || raw instanceof Long) {
            return ((Number) raw).longValue();
          }
          Matcher m = SIZE.matcher(scalar(key, raw).trim());
          if (!m.matches()) {
            throw mismatch(key, raw, this);
          }
          long unit =
              switch (m.group(2) == null ? "" : m.group(2).toLowerCase(Locale.ROOT)) {
                case "", "b" -> 1L;
                case "k", "kb", "kib" -> 1L << 10;
                case "m", "mb", "mib" -> 1L << 20;
                case "g", "gb", "gib" -> 1L << 30;
                default -> throw mismatch(key, raw, this);
              };
          try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), unit);
          } catch (ArithmeticException | NumberFormatException e) {
            throw mismatch(key, raw, this);
          }
        }

        @Override
        public String format(Long value) {
          for (String[] u : new String[][] {{"30", "GiB"}, {"20", "MiB"}, {"10", "KiB"}}) {
            long unit = 1L << Integer.parseInt(u[0]);
            if (value != 0 && value % unit == 0) {
              return value / unit + u[1];
            }
          }
          return Long.toString(value);
        }
      };

  private static final Pattern SIZE = Pattern.compile("(\\d{1,18})\\s*([A-Za-z]{1,3})?");

  /**
   * {@code auth.tokens}: principal to {@code {sha256: HEX, roles: [worker, admin]}}. From the
   * environment or a flag, the same map in YAML flow style. Tokens are never written in clear.
   */
  static final Codec<List<TokenRegistry.Entry>> TOKENS =
      new Codec<>() {
        @Override
        public String typeName() {
          return "map";
        }

        @Override
        public String label() {
          return "{PRINCIPAL: {sha256: HEX, roles: [R, ...]}}";
        }

        @Override
        public String expected() {
          return "a map of principal to {sha256: HEX, roles: [worker, admin]}";
        }

        @Override
        public List<TokenRegistry.Entry> parse(String key, Object raw) {
          if (raw instanceof String s && s.isBlank()) {
            // An empty variable or flag is most often a template that lost its value: taken as
            // "no tokens" it would open the broker to anyone, replacing the file's tokens.
            throw new ConfigException(
                key,
                "is empty; name at least one token, or leave the key unset to run without"
                    + " authentication");
          }
          Object value =
              raw instanceof String s
                  ? YamlConfigFile.parseFlow(key, s, "{crawler: {sha256: HEX, roles: [worker]}}")
                  : raw;
          if (value == null) {
            return List.of();
          }
          if (!(value instanceof Map<?, ?> map)) {
            // Never echo a scalar: it might be a token pasted in clear.
            throw new ConfigException(
                key,
                "must be "
                    + expected()
                    + ", got "
                    + (raw instanceof String ? "text" : describe(raw)));
          }
          List<TokenRegistry.Entry> entries = new ArrayList<>();
          Map<String, String> principalOfHash = new HashMap<>();
          for (Map.Entry<?, ?> e : map.entrySet()) {
            String principal = String.valueOf(e.getKey());
            String entryKey = EntryMapCodec.entryKey(key, principal);
            TokenRegistry.Entry entry = tokenEntry(entryKey, principal, e.getValue());
            // One token, two principals: it would act as whichever the registry matched first.
            String first = principalOfHash.putIfAbsent(entry.sha256Hex(), principal);
            if (first != null) {
              throw new ConfigException(
                  entryKey + ".sha256",
                  "the same hash as '" + first + "'; each principal needs its own token");
            }
            entries.add(entry);
          }
          return List.copyOf(entries);
        }

        @Override
        public String format(List<TokenRegistry.Entry> value) {
          StringBuilder b = new StringBuilder("{");
          for (TokenRegistry.Entry e : value) {
            if (b.length() > 1) {
              b.append(", ");
            }
            b.append(YamlText.quoted(e.principal()))
                .append(": {sha256: ")
                .append(e.sha256Hex())
                .append(", roles: ")
                .append(roles(e))
                .append('}');
          }
          return b.append('}').toString();
        }

        @Override
        public String yaml(List<TokenRegistry.Entry> value) {
          return format(value);
        }

        /** Principals and roles only: hashes stay out of logs. */
        @Override
        public String forLog(List<TokenRegistry.Entry> value) {
          List<String> named = new ArrayList<>();
          for (TokenRegistry.Entry e : value) {
            named.add(e.principal() + " " + roles(e));
          }
          return named.size() + " tokens " + named;
        }

        /** Which principals were added, removed, given a new hash or new roles; never a hash. */
        @Override
        public String change(List<TokenRegistry.Entry> before, List<TokenRegistry.Entry> after) {
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

  /** A codec of single values: the type's names are fixed at construction. */
  private abstract static class Scalar<T> implements Codec<T> {
    private final String typeName;
    private final String label;
    private final String expected;
    private final boolean plainYaml;

    /**
     * @param plainYaml whether YAML reads {@link #format}'s text back as this value unquoted
     *     (numbers, booleans, durations); other text is quoted where YAML would misread it
     */
    Scalar(String typeName, String label, String expected, boolean plainYaml) {
      this.typeName = typeName;
      this.label = label;
      this.expected = expected;
      this.plainYaml = plainYaml;
    }

    @Override
    public String typeName() {
      return typeName;
    }

    @Override
    public String label() {
      return label;
    }

    @Override
    public String expected() {
      return expected;
    }

    @Override
    public String yaml(T value) {
      return plainYaml ? format(value) : Codec.super.yaml(value);
    }
  }

  /** Durations in the one format of {@link Durations}. */
  private static class DurationCodec extends Scalar<Duration> {
    DurationCodec(String expected) {
      super("duration", "DURATION", expected, true);
    }

    @Override
    public Duration parse(String key, Object raw) {
      return Durations.parse(key, scalar(key, raw));
    }

    @Override
    public String format(Duration value) {
      return Durations.format(value);
    }
  }

  /** A module's exports: a YAML list, or names separated by commas. */
  private static List<String> exports(String key, Object raw) {
    List<?> items = raw instanceof List<?> list ? list : List.of(scalar(key, raw).split(",", -1));
    List<String> names = new ArrayList<>();
    for (Object item : items) {
      String name = scalar(key, item).trim();
      if (name.isEmpty()) {
        throw new ConfigException(key, "empty export name in " + describe(raw));
      }
      names.add(name);
    }
    return List.copyOf(names);
  }

  /** Roles in words, sorted: {@code [admin, worker]}. */
  private static String roles(TokenRegistry.Entry e) {
    return e.roles().stream()
        .sorted()
        .map(r -> r.name().toLowerCase(Locale.ROOT))
        .toList()
        .toString();
  }

  private static Map<String, TokenRegistry.Entry> byPrincipal(List<TokenRegistry.Entry> value) {
    Map<String, TokenRegistry.Entry> map = new LinkedHashMap<>();
    for (TokenRegistry.Entry e : value) {
      map.put(e.principal(), e);
    }
    return map;
  }

  private static void appendList(StringBuilder b, String label, List<String> items) {
    if (!items.isEmpty()) {
      b.append(b.length() == 0 ? "" : ", ").append(label).append(' ').append(items);
    }
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
            // The shell command the operator runs; its %s is printf's, not a Java format.
            @SuppressWarnings("OrphanedFormatString")
            String howTo = "printf %s \"$TOKEN\" | sha256sum";
            // Never echo the value: it might be a token pasted in clear.
            throw new ConfigException(
                entryKey + ".sha256",
                "must be 64 hex digits, the SHA-256 of the token ("
                    + howTo
                    + "); never the token itself");
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

  static String scalar(String key, Object raw) {
    if (raw instanceof String s) {
      return s;
    }
    if (raw instanceof Number || raw instanceof Boolean) {
      return String.valueOf(raw);
    }
    throw new ConfigException(key, "must be a single value, got " + describe(raw));
  }

  private static long whole(String key, Object raw, Codec<?> type) {
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

  private static ConfigException mismatch(String key, Object raw, Codec<?> type) {
    return new ConfigException(key, "must be " + type.expected() + ", got " + describe(raw));
  }

  /** A raw value for an error: quoted text, or what kind of structure it is. */
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
