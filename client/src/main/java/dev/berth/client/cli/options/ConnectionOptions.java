package dev.berth.client.cli.options;

import dev.berth.client.TlsOptions;
import dev.berth.common.CommandLines;
import dev.berth.common.DurationConverter;
import dev.berth.common.FileProblems;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * How to reach a broker: the picocli mixin of every command that talks to one, {@code berth worker}
 * included, so that {@code --broker}, {@code --timeout}, the TLS options and the token read the
 * same everywhere. An option not given falls back to the same option given before the subcommand,
 * then to its environment variable ({@code BERTH_BROKER}, {@code BERTH_TIMEOUT}, {@code BERTH_TLS},
 * {@code BERTH_TLS_CA}, {@code BERTH_TLS_CERT}, {@code BERTH_TLS_KEY}, {@code
 * BERTH_TLS_SERVER_NAME}), then to its default.
 *
 * <p>The bearer token never comes from the command line, where every user of the machine can read
 * it in the process list: it comes from {@code --token-file FILE} (or {@code BERTH_TOKEN_FILE}), or
 * from {@code BERTH_TOKEN}. {@code --token} is refused with that advice.
 *
 * <p>It uses only the public SDK ({@link TlsOptions}), so the reference worker can share it. Not
 * thread-safe: picocli fills it, then {@link #resolve} reads it once.
 */
public final class ConnectionOptions {
  /** Where the broker listens when neither {@code --broker} nor {@code BERTH_BROKER} says. */
  public static final String DEFAULT_BROKER = "127.0.0.1:7433";

  /** How long to wait for each answer when neither {@code --timeout} nor the variable says. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

  /** The SDK's names of the TLS settings, and the options of this mixin that set them. */
  private static final Map<String, String> SDK_TO_FLAG =
      Map.of(
          "tls.trustedCertificates", "--tls-ca",
          "tls.clientCertificate", "--tls-cert",
          "tls.clientKey", "--tls-key",
          "tls.serverName", "--tls-server-name");

  @Spec(Spec.Target.MIXEE)
  private CommandSpec mixee;

  @Option(
      names = "--broker",
      order = 101,
      paramLabel = "HOST:PORT",
      converter = BrokerAddress.Converter.class,
      description =
          "The broker (default $BERTH_BROKER, else 127.0.0.1:7433): HOST:PORT, [IPv6]:PORT or"
              + " a gRPC target URI (dns:); for a cluster, its members separated by"
              + " commas (a:7433,b:7433,c:7433).")
  private BrokerAddress broker;

  @Option(
      names = "--timeout",
      order = 102,
      paramLabel = "DUR",
      converter = DurationConverter.Positive.class,
      description = "How long to wait for each answer (default $BERTH_TIMEOUT, else 10s).")
  private Duration timeout;

  @Option(
      names = "--tls",
      order = 103,
      description =
          "Connect with TLS, trusting the system's CAs (or $BERTH_TLS=1); implied by any --tls-*"
              + " option.")
  private Boolean tls;

  @Option(
      names = "--tls-ca",
      order = 104,
      paramLabel = "FILE",
      description = "Trust only the CA certificates in this PEM file (or $BERTH_TLS_CA).")
  private Path tlsCa;

  @Option(
      names = "--tls-cert",
      order = 105,
      paramLabel = "FILE",
      description = "Client certificate chain, PEM, for mTLS (or $BERTH_TLS_CERT).")
  private Path tlsCert;

  @Option(
      names = "--tls-key",
      order = 106,
      paramLabel = "FILE",
      description = "Its PKCS#8 private key, PEM (or $BERTH_TLS_KEY).")
  private Path tlsKey;

  @Option(
      names = "--tls-server-name",
      order = 107,
      paramLabel = "NAME",
      description =
          "The name the broker's certificate must carry, when it differs from the --broker host"
              + " (or $BERTH_TLS_SERVER_NAME).")
  private String tlsServerName;

  @Option(
      names = "--token-file",
      order = 108,
      paramLabel = "FILE",
      description =
          "Read the bearer token from this file, trimmed (or $BERTH_TOKEN_FILE); without it the"
              + " token is $BERTH_TOKEN, if set.")
  private Path tokenFile;

  /** Refused: a secret on the command line is visible to every user. Hidden from help. */
  @Option(names = "--token", hidden = true, paramLabel = "TOKEN")
  private String tokenOnCommandLine;

  /**
   * How to connect, read from this mixin, the commands above it and the environment.
   *
   * @param targets the broker, or the members of a cluster, each a gRPC target string
   * @param tls TLS as the options say; null for plaintext
   * @param token the bearer token; null for none
   * @param timeout how long to wait for each answer
   */
  public record Settings(List<String> targets, TlsOptions tls, String token, Duration timeout) {
    public Settings {
      targets = List.copyOf(targets);
    }

    /** The brokers as given, separated by commas (one broker: its target), for messages. */
    public String target() {
      return String.join(",", targets);
    }

    @Override
    public String toString() {
      return "Settings{target="
          + target()
          + ", tls="
          + tls
          + ", token="
          + (token == null ? "none" : "(set)")
          + ", timeout="
          + timeout
          + "}";
    }
  }

  /**
   * Reads the options, falling back to the same options given before the subcommand, then to {@code
   * env}, then to the defaults. Nothing is connected and no TLS file is read yet.
   *
   * @throws ParameterException naming the option (or variable) and the rule it breaks
   */
  public Settings resolve(Map<String, String> env) {
    ConnectionOptions given = withOuter();
    Environment environment = new Environment(env);
    if (given.tokenOnCommandLine != null) {
      throw usage(
          "--token: a token on the command line can be read by every user of this machine (ps,"
              + " /proc); put it in $BERTH_TOKEN, or in a file given as --token-file FILE");
    }
    BrokerAddress address = given.broker;
    if (address == null) {
      address = environment.value("BERTH_BROKER", BrokerAddress::parse);
    }
    if (address == null) {
      address = BrokerAddress.parse(DEFAULT_BROKER);
    }
    Duration wait = given.timeout;
    if (wait == null) {
      wait = environment.value("BERTH_TIMEOUT", new DurationConverter.Positive()::convert);
    }
    if (wait == null) {
      wait = DEFAULT_TIMEOUT;
    }
    return new Settings(address.targets(), given.tls(environment), given.token(environment), wait);
  }

  /** This mixin with every option it lacks taken from the commands above, nearest first. */
  private ConnectionOptions withOuter() {
    ConnectionOptions merged = new ConnectionOptions();
    merged.mixee = mixee;
    List<ConnectionOptions> all = new java.util.ArrayList<>();
    all.add(this);
    all.addAll(CommandLines.outer(mixee, ConnectionOptions.class));
    for (ConnectionOptions o : all) {
      merged.broker = merged.broker != null ? merged.broker : o.broker;
      merged.timeout = merged.timeout != null ? merged.timeout : o.timeout;
      merged.tls = merged.tls != null ? merged.tls : o.tls;
      merged.tlsCa = merged.tlsCa != null ? merged.tlsCa : o.tlsCa;
      merged.tlsCert = merged.tlsCert != null ? merged.tlsCert : o.tlsCert;
      merged.tlsKey = merged.tlsKey != null ? merged.tlsKey : o.tlsKey;
      merged.tlsServerName = merged.tlsServerName != null ? merged.tlsServerName : o.tlsServerName;
      merged.tokenFile = merged.tokenFile != null ? merged.tokenFile : o.tokenFile;
      merged.tokenOnCommandLine =
          merged.tokenOnCommandLine != null ? merged.tokenOnCommandLine : o.tokenOnCommandLine;
    }
    return merged;
  }

  private TlsOptions tls(Environment env) {
    boolean on = tls != null ? tls : env.flag("BERTH_TLS");
    Path ca = tlsCa != null ? tlsCa : env.path("BERTH_TLS_CA");
    Path cert = tlsCert != null ? tlsCert : env.path("BERTH_TLS_CERT");
    Path key = tlsKey != null ? tlsKey : env.path("BERTH_TLS_KEY");
    String serverName = tlsServerName != null ? tlsServerName : env.text("BERTH_TLS_SERVER_NAME");
    if (!on && ca == null && cert == null && key == null && serverName == null) {
      return null;
    }
    if ((cert == null) != (key == null)) {
      throw usage(
          cert != null
              ? "--tls-cert needs --tls-key (the certificate's private key)"
              : "--tls-key needs --tls-cert (the certificate of the key)");
    }
    TlsOptions.Builder builder = TlsOptions.newBuilder();
    if (ca != null) {
      builder.trustedCertificates(ca);
    }
    if (cert != null) {
      builder.clientCertificate(cert, key);
    }
    if (serverName != null) {
      builder.serverName(serverName);
    }
    try {
      return builder.build();
    } catch (IllegalArgumentException e) {
      throw usage(inFlagTerms(e.getMessage()));
    }
  }

  private String token(Environment env) {
    if (tokenFile != null) {
      return readToken("--token-file", tokenFile);
    }
    String file = env.text("BERTH_TOKEN_FILE");
    String token = env.text("BERTH_TOKEN");
    if (file != null && token != null) {
      throw usage(
          "BERTH_TOKEN and BERTH_TOKEN_FILE are both set: unset one (--token-file wins over both)");
    }
    if (file != null) {
      return readToken("BERTH_TOKEN_FILE", Path.of(file));
    }
    if (token != null) {
      String t = token.strip();
      if (t.isEmpty() || !isHeaderText(t)) {
        throw usage("BERTH_TOKEN: must be one line of printable ASCII text");
      }
      return t;
    }
    return null;
  }

  private String readToken(String source, Path file) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (CharacterCodingException e) {
      throw usage(source + ": " + file + " is not UTF-8 text");
    } catch (IOException e) {
      throw usage(source + ": cannot read " + file + ": " + FileProblems.why(e));
    }
    String token = text.strip();
    if (token.isEmpty()) {
      throw usage(source + ": " + file + " is empty; it should hold the bearer token");
    }
    if (token.contains("\n") || token.contains("\r")) {
      throw usage(source + ": " + file + " holds more than one line; a token is one line");
    }
    if (!isHeaderText(token)) {
      // gRPC would drop the header, and the broker answer "missing bearer token".
      throw usage(
          source
              + ": "
              + file
              + " holds a character a token cannot carry; it must be printable ASCII");
    }
    return token;
  }

  /** Whether {@code text} can travel in a header value: printable ASCII and spaces only. */
  private static boolean isHeaderText(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code message}, an SDK error about TLS settings, with the SDK's setting names ({@code
   * tls.trustedCertificates}) replaced by this mixin's options ({@code --tls-ca}), so that the
   * operator is told which option to change.
   */
  public static String inFlagTerms(String message) {
    String out = message;
    for (Map.Entry<String, String> e : SDK_TO_FLAG.entrySet()) {
      out = out.replace(e.getKey(), e.getValue());
    }
    return out;
  }

  private ParameterException usage(String message) {
    return CommandLines.usage(mixee, message);
  }

  /** The environment, read with the same rules as the options, errors naming the variable. */
  private final class Environment {
    private final Map<String, String> env;

    Environment(Map<String, String> env) {
      this.env = env;
    }

    /** The variable's value; null when unset or empty, as shells often leave them. */
    String text(String name) {
      String value = env.get(name);
      return value == null || value.isBlank() ? null : value.strip();
    }

    Path path(String name) {
      String value = text(name);
      return value == null ? null : Path.of(value);
    }

    boolean flag(String name) {
      String value = text(name);
      if (value == null) {
        return false;
      }
      return switch (value.toLowerCase(Locale.ROOT)) {
        case "1", "true", "yes" -> true;
        case "0", "false", "no" -> false;
        default -> throw usage(name + ": must be 1 or 0 (true or false), got '" + value + "'");
      };
    }

    /** The variable read as its option would be; null when unset. */
    <T> T value(String name, java.util.function.Function<String, T> parse) {
      String value = text(name);
      if (value == null) {
        return null;
      }
      try {
        return parse.apply(value);
      } catch (IllegalArgumentException | TypeConversionException e) {
        throw usage(name + ": " + e.getMessage());
      }
    }
  }
}
