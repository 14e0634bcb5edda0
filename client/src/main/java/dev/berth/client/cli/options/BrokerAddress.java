package dev.berth.client.cli.options;

import com.google.common.net.HostAndPort;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Where a broker listens, as {@code --broker} and {@code BERTH_BROKER} give it: {@code HOST:PORT}
 * ({@code [IPv6]:PORT} in brackets), or a gRPC target URI ({@code dns:///broker.internal:7433}); or
 * a comma-separated list of those, the members of a cluster. The broker listens on TCP only, so a
 * {@code unix:} target is refused here rather than failing later in gRPC.
 *
 * <p>Immutable and thread-safe.
 */
public final class BrokerAddress {
  /** The rule a malformed address breaks, after the name of the option or variable. */
  static final String RULE =
      "must be HOST:PORT (e.g. 127.0.0.1:7433 or [::1]:7433) or a gRPC target such as"
          + " dns:///broker.internal:7433";

  /** Why a {@code unix:} target is refused: the broker listens on TCP only. */
  static final String UNIX = "unix sockets are not supported";

  private final List<String> targets;

  private BrokerAddress(List<String> targets) {
    this.targets = List.copyOf(targets);
  }

  /**
   * Reads {@code text}.
   *
   * @throws IllegalArgumentException whose message is the rule and the text at fault
   */
  public static BrokerAddress parse(String text) {
    List<String> targets = new ArrayList<>();
    for (String part : text.split(",", -1)) {
      String target = target(part.strip(), text);
      if (targets.contains(target)) {
        throw new IllegalArgumentException(
            "names " + target + " twice; list each cluster member once, got '" + text + "'");
      }
      targets.add(target);
    }
    return new BrokerAddress(targets);
  }

  private static String target(String part, String whole) {
    if (part.isEmpty()) {
      throw invalid(whole);
    }
    String lower = part.toLowerCase(Locale.ROOT);
    if (lower.startsWith("unix:") || lower.startsWith("unix-abstract:")) {
      throw new IllegalArgumentException(UNIX);
    }
    if (lower.startsWith("dns:") || part.contains("://")) {
      try {
        new URI(part);
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException(RULE + ", got '" + part + "': " + e.getReason(), e);
      }
      return part;
    }
    HostAndPort address;
    try {
      // Brackets are required for IPv6: "::1:7433" could be a host without a port.
      address = HostAndPort.fromString(part).requireBracketsForIPv6();
    } catch (IllegalArgumentException e) {
      throw invalid(part);
    }
    if (!address.hasPort()
        || address.getPort() == 0
        || address.getHost().isEmpty()
        || address.getHost().chars().anyMatch(c -> Character.isWhitespace(c) || c == '/')) {
      throw invalid(part);
    }
    return address.toString();
  }

  private static IllegalArgumentException invalid(String text) {
    return new IllegalArgumentException(RULE + ", got '" + text + "'");
  }

  /** Every broker named, in order, each a gRPC target string. */
  public List<String> targets() {
    return targets;
  }

  @Override
  public String toString() {
    return String.join(",", targets);
  }

  /** The picocli converter of {@code --broker}. */
  public static final class Converter implements ITypeConverter<BrokerAddress> {
    @Override
    public BrokerAddress convert(String value) {
      try {
        return parse(value);
      } catch (IllegalArgumentException e) {
        throw new TypeConversionException(e.getMessage());
      }
    }
  }
}
