package dev.berth.server.config;

import dev.berth.server.settings.ConfigException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The codec of a map of named entries whose values are small records with named fields, such as
 * {@code rate_limit.hosts} (pattern to {@code {rate, burst}}) and {@code wasm.modules} (name to
 * {@code {path, exports}}). Such a key is written whole (a YAML map; from the environment or a
 * flag, a YAML flow map), or one field of one entry at a time, {@code KEY.NAME.FIELD}: the field is
 * the last dotted part, so a name may itself hold dots ({@code rate_limit.hosts.example.com.rate}).
 *
 * <p>Entries are kept in the order given; an entry's fields are checked for presence when the part
 * that uses them is built, so fields may arrive one by one. Stateless and thread-safe.
 *
 * @param <E> the record of one entry
 */
abstract class EntryMapCodec<E> implements Codec<Map<String, E>> {
  private final String label;
  private final String expected;
  private final String example;
  private final List<String> fields;
  private final String fieldsInWords;

  /**
   * @param label the placeholder of one entry in help, e.g. {@code {rate: R, burst: B}}
   * @param expected the whole map in words, for errors
   * @param example a valid flow map, for errors
   * @param fields the field names of an entry
   * @param fieldsInWords e.g. {@code a host override has rate and burst}
   */
  EntryMapCodec(
      String label, String expected, String example, List<String> fields, String fieldsInWords) {
    this.label = label;
    this.expected = expected;
    this.example = example;
    this.fields = List.copyOf(fields);
    this.fieldsInWords = fieldsInWords;
  }

  /** An entry with no field set. */
  abstract E empty();

  /**
   * An entry written as a single value instead of a map of fields (a bare rate, a bare path).
   *
   * @throws ConfigException naming {@code entryKey} when the short form does not apply
   */
  abstract E shortForm(String entryKey, Object raw);

  /**
   * {@code current} with {@code field} (one of {@link #fields()}) set from {@code raw}.
   *
   * @throws ConfigException naming {@code entryKey.field}
   */
  abstract E withField(String entryKey, E current, String field, Object raw);

  /** One entry as a YAML flow map, e.g. {@code {rate: 5.0, burst: 10}}. */
  abstract String formatEntry(E entry);

  /**
   * Whether {@link #withField} takes {@code field}: one of {@link #fields()}, unless a codec checks
   * a family of fields itself (and names the one at fault more precisely).
   */
  boolean accepts(String field) {
    return fields.contains(field);
  }

  /** The field names of an entry. */
  final List<String> fields() {
    return fields;
  }

  /** How entry {@code name} of map {@code key} is named in errors: {@code key['name']}. */
  static String entryKey(String key, String name) {
    return key + "['" + name + "']";
  }

  /**
   * How this codec names entry {@code name} of map {@code key} in errors; {@code key['name']}
   * unless a codec whose names cannot hold dots names them plainly.
   */
  String nameOf(String key, String name) {
    return entryKey(key, name);
  }

  /** Whether an entry's name may hold dots, so that a dotted key splits at its last dot. */
  boolean namesHoldDots() {
    return true;
  }

  /**
   * Splits what follows {@code KEY.} in a dotted name into the entry's name and its field, or
   * returns null when it names none. By default the field is the last dotted part, so a name may
   * hold dots ({@code rate_limit.hosts.example.com.rate}).
   */
  String[] splitEntryField(String rest) {
    int dot = rest.lastIndexOf('.');
    return dot <= 0 ? null : new String[] {rest.substring(0, dot), rest.substring(dot + 1)};
  }

  @Override
  public final String typeName() {
    return "map";
  }

  @Override
  public final String label() {
    return label;
  }

  @Override
  public final String expected() {
    return expected;
  }

  @Override
  public final Map<String, E> parse(String key, Object raw) {
    Object value = raw instanceof String s ? YamlConfigFile.parseFlow(key, s, example) : raw;
    if (value == null) {
      return Map.of();
    }
    if (!(value instanceof Map<?, ?> map)) {
      throw new ConfigException(key, "must be " + expected + ", got " + Codecs.describe(raw));
    }
    Map<String, E> entries = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String name = String.valueOf(e.getKey());
      entries.put(name, entry(nameOf(key, name), e.getValue()));
    }
    return Collections.unmodifiableMap(entries);
  }

  /**
   * {@code current} with one field of entry {@code name} set, for {@code KEY.NAME.FIELD}.
   *
   * @throws ConfigException naming the entry's field
   */
  final Map<String, E> withField(
      String key, Map<String, E> current, String name, String field, Object raw) {
    String entryKey = nameOf(key, name);
    if (!accepts(field)) {
      if (namesHoldDots() && Suggestions.closest(field, fields) == null) {
        // `rate_limit.hosts.example.com: 5` reads as field `com` of entry `example`: say how the
        // dotted form splits instead of naming a key nobody wrote.
        String written = key + "." + name + "." + field;
        throw new ConfigException(
            written,
            "unknown field '"
                + field
                + "' ("
                + fieldsInWords
                + "); in a dotted key the last part is the field, so for the entry '"
                + name
                + "."
                + field
                + "' write "
                + written
                + "."
                + fields.get(0));
      }
      throw unknownField(entryKey, field);
    }
    Map<String, E> entries = new LinkedHashMap<>(current);
    E was = entries.getOrDefault(name, empty());
    entries.put(name, withField(entryKey, was, field, raw));
    return Collections.unmodifiableMap(entries);
  }

  /** {@code current} with entry {@code name} replaced by {@code entry}. */
  final Map<String, E> withEntry(Map<String, E> current, String name, E entry) {
    Map<String, E> entries = new LinkedHashMap<>(current);
    entries.put(name, entry);
    return Collections.unmodifiableMap(entries);
  }

  private E entry(String entryKey, Object raw) {
    if (!(raw instanceof Map<?, ?> map)) {
      return shortForm(entryKey, raw);
    }
    E entry = empty();
    for (Map.Entry<?, ?> f : map.entrySet()) {
      String field = String.valueOf(f.getKey());
      if (!accepts(field)) {
        throw unknownField(entryKey, field);
      }
      entry = withField(entryKey, entry, field, f.getValue());
    }
    return entry;
  }

  private ConfigException unknownField(String entryKey, String field) {
    return new ConfigException(
        entryKey + "." + field,
        "unknown key" + Suggestions.didYouMean(field, fields) + "; " + fieldsInWords);
  }

  @Override
  public final String format(Map<String, E> value) {
    StringBuilder b = new StringBuilder("{");
    for (Map.Entry<String, E> e : value.entrySet()) {
      if (b.length() > 1) {
        b.append(", ");
      }
      b.append(YamlText.quoted(e.getKey())).append(": ").append(formatEntry(e.getValue()));
    }
    return b.append('}').toString();
  }

  @Override
  public final String yaml(Map<String, E> value) {
    return format(value);
  }
}
