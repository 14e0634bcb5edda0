package dev.berth.client.cli;

import com.google.protobuf.ProtocolMessageEnum;
import com.google.protobuf.Timestamp;
import dev.berth.client.cli.options.Durations;
import dev.berth.client.internal.ProtoTime;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.RevokeReason;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Wire values in the words operators type and read: {@code RENDER} for RESOURCE_KIND_RENDER. */
final class Text {
  private Text() {}

  /**
   * {@code s} safe to print on a terminal: control characters (C0, DEL, C1), line and paragraph
   * separators and bidirectional overrides become backslash escapes ({@code x} and two hex digits,
   * or {@code u} and four). Workers set labels, outcome errors and ids; without this, one could
   * move the cursor, retitle the window or split a {@code watch} line in an operator's terminal.
   * The same string unchanged when it has none, which is nearly always.
   */
  static String printable(String s) {
    int i = 0;
    while (i < s.length() && !unsafe(s.charAt(i))) {
      i++;
    }
    if (i == s.length()) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length() + 8).append(s, 0, i);
    for (; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!unsafe(c)) {
        b.append(c);
      } else if (c <= 0xFF) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(String.format("\\u%04x", (int) c));
      }
    }
    return b.toString();
  }

  private static boolean unsafe(char c) {
    return c < 0x20
        || (c >= 0x7F && c <= 0x9F)
        || c == 0x2028
        || c == 0x2029
        || (c >= 0x202A && c <= 0x202E)
        || (c >= 0x2066 && c <= 0x2069);
  }

  /** The enum value without its type's prefix, e.g. {@code EXHAUSTED}; "-" when unspecified. */
  static String name(ProtocolMessageEnum value) {
    if (!(value instanceof Enum<?> e) || e.name().equals("UNRECOGNIZED")) {
      return "?";
    }
    String prefix = prefix(value.getDescriptorForType().getValues().get(0).getName());
    String name = e.name();
    String shortName = name.startsWith(prefix) ? name.substring(prefix.length()) : name;
    return shortName.equals("UNSPECIFIED") ? "-" : shortName;
  }

  private static String prefix(String unspecified) {
    return unspecified.substring(0, unspecified.length() - "UNSPECIFIED".length());
  }

  /**
   * The value of enum {@code type} that {@code word} names, with or without its prefix, in any
   * case, '-' standing for '_'.
   *
   * @throws IllegalArgumentException listing the values accepted
   */
  static <E extends Enum<E> & ProtocolMessageEnum> E parse(Class<E> type, String word) {
    E[] all = type.getEnumConstants();
    String prefix = prefix(all[0].name());
    String wanted = word.trim().toUpperCase(Locale.ROOT).replace('-', '_');
    for (E value : all) {
      String name = value.name();
      if (name.equals("UNRECOGNIZED") || name.endsWith("_UNSPECIFIED")) {
        continue;
      }
      if (name.equals(wanted) || name.equals(prefix + wanted)) {
        return value;
      }
    }
    throw new IllegalArgumentException(
        "must be one of " + String.join(", ", words(type)) + "; got '" + word + "'");
  }

  /** The words {@link #parse} accepts for {@code type}, lower case. */
  static <E extends Enum<E> & ProtocolMessageEnum> List<String> words(Class<E> type) {
    List<String> out = new ArrayList<>();
    for (E value : type.getEnumConstants()) {
      if (!value.name().equals("UNRECOGNIZED") && !value.name().endsWith("_UNSPECIFIED")) {
        out.add(name(value).toLowerCase(Locale.ROOT));
      }
    }
    return out;
  }

  /** An instant to the second, UTC, e.g. {@code 2026-01-01T10:00:00Z}; "-" when unset. */
  static String time(Timestamp t) {
    if (t.getSeconds() == 0 && t.getNanos() == 0) {
      return "-";
    }
    return ProtoTime.instant(t).truncatedTo(ChronoUnit.SECONDS).toString();
  }

  /** An instant to the millisecond, UTC, always the same width, for event lines. */
  static String preciseTime(Timestamp t) {
    return MILLIS.format(ProtoTime.instant(t));
  }

  private static final DateTimeFormatter MILLIS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  /** How long before {@code now} an instant was, e.g. {@code 4.2s ago}. */
  static String ago(Timestamp t, Instant now) {
    if (t.getSeconds() == 0 && t.getNanos() == 0) {
      return "-";
    }
    Duration d = Duration.between(ProtoTime.instant(t), now);
    return d.isNegative() ? "just now" : Durations.format(d) + " ago";
  }

  /** How long from {@code now} until an instant, e.g. {@code in 4m05s}. */
  static String until(Timestamp t, Instant now) {
    Duration d = Duration.between(now, ProtoTime.instant(t));
    return d.isNegative() ? "overdue" : "in " + Durations.format(d);
  }

  /** A ratio such as 0.85 with two decimals. */
  static String ratio(double value) {
    return String.format(Locale.ROOT, "%.2f", value);
  }

  /**
   * A rate in requests per second (or a number of tokens), without trailing zeros: two decimals, or
   * three significant digits below 1, so that a rate of 0.001/s does not print as 0.
   */
  static String rate(double value) {
    if (value != 0 && Math.abs(value) < 1 && Double.isFinite(value)) {
      return java.math.BigDecimal.valueOf(value)
          .round(new java.math.MathContext(3))
          .stripTrailingZeros()
          .toPlainString();
    }
    String s = String.format(Locale.ROOT, "%.2f", value);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
  }

  /**
   * Reads an option naming a value of a proto enum in the words {@link #parse} accepts, and lists
   * those words for help ({@code ${COMPLETION-CANDIDATES}}) and shell completion.
   */
  abstract static class Words<E extends Enum<E> & ProtocolMessageEnum>
      implements ITypeConverter<E>, Iterable<String> {
    private final Class<E> type;

    Words(Class<E> type) {
      this.type = type;
    }

    @Override
    public E convert(String value) {
      try {
        return parse(type, value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }

    @Override
    public Iterator<String> iterator() {
      return words(type).iterator();
    }
  }

  /** {@code render}, {@code pdf}, {@code wasm}. */
  static final class Kinds extends Words<ResourceKind> {
    Kinds() {
      super(ResourceKind.class);
    }
  }

  /** {@code admin}, {@code idle}, ... */
  static final class RevokeReasons extends Words<RevokeReason> {
    RevokeReasons() {
      super(RevokeReason.class);
    }
  }

  /** {@code granted}, {@code released}, ... */
  static final class EventTypes extends Words<BrokerEventType> {
    EventTypes() {
      super(BrokerEventType.class);
    }
  }
}
