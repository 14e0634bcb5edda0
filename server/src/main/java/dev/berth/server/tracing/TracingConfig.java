package dev.berth.server.tracing;

import static java.util.Objects.requireNonNull;

import dev.berth.server.settings.ConfigException;
import dev.berth.server.settings.WebUrls;
import java.net.URI;
import java.util.Optional;

/**
 * The daemon's trace settings ({@code tracing.*}): where spans are sent over OTLP, what share of
 * traces is kept, and the service name they carry. Off (no endpoint) by default, and then the
 * daemon makes no span at all. Immutable; the constructor fails fast with a {@link ConfigException}
 * naming the key.
 *
 * @param otlpEndpoint the OTLP/HTTP receiver, e.g. {@code http://127.0.0.1:4318}; empty: tracing is
 *     off
 * @param sampleRatio the share of new traces kept, 0..1; a trace a worker started keeps the
 *     worker's decision
 * @param serviceName {@code service.name} of every span
 */
public record TracingConfig(Optional<URI> otlpEndpoint, double sampleRatio, String serviceName) {
  /**
   * The names of the tracing keys, written once: the configuration loader defines the keys with
   * them and every validation error names its key with them.
   */
  public static final class Keys {
    public static final String OTLP_ENDPOINT = "tracing.otlp.endpoint";
    public static final String SAMPLE_RATIO = "tracing.sample_ratio";
    public static final String SERVICE_NAME = "tracing.service_name";

    private Keys() {}
  }

  /** The path OTLP/HTTP receivers take spans at, added to an endpoint given without a path. */
  public static final String TRACES_PATH = "/v1/traces";

  public static final String DEFAULT_SERVICE_NAME = "berth";

  /** Tracing off: no endpoint, every trace kept once an endpoint is set, service "berth". */
  public static final TracingConfig OFF =
      new TracingConfig(Optional.empty(), 1.0, DEFAULT_SERVICE_NAME);

  private static final int MAX_SERVICE_NAME = 128;

  public TracingConfig {
    requireNonNull(otlpEndpoint, "otlpEndpoint");
    requireNonNull(serviceName, "serviceName");
    otlpEndpoint.ifPresent(uri -> endpoint(Keys.OTLP_ENDPOINT, uri.toString()));
    if (!(sampleRatio >= 0 && sampleRatio <= 1)) {
      throw new ConfigException(Keys.SAMPLE_RATIO, "must be 0..1, got " + sampleRatio);
    }
    if (serviceName.isBlank()
        || serviceName.length() > MAX_SERVICE_NAME
        || !serviceName.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
      throw new ConfigException(
          Keys.SERVICE_NAME,
          "must be 1.."
              + MAX_SERVICE_NAME
              + " printable ASCII characters without spaces, got '"
              + serviceName
              + "'");
    }
  }

  /** Whether spans are made and sent. */
  public boolean enabled() {
    return otlpEndpoint.isPresent();
  }

  /**
   * The URL spans are POSTed to: the endpoint with {@link #TRACES_PATH} added when it has no path
   * (as {@code OTEL_EXPORTER_OTLP_ENDPOINT} is read), else the endpoint as given.
   *
   * @throws IllegalStateException when tracing is off
   */
  public String tracesUrl() {
    URI uri = otlpEndpoint.orElseThrow(() -> new IllegalStateException("tracing is off"));
    String path = uri.getRawPath();
    if (path == null || path.isEmpty() || path.equals("/")) {
      String base = uri.toString();
      return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + TRACES_PATH;
    }
    return uri.toString();
  }

  /**
   * Reads an OTLP/HTTP endpoint: an absolute {@code http} or {@code https} URL with a host, no
   * credentials, query or fragment.
   *
   * @throws ConfigException naming {@code key} and the rule broken
   */
  public static URI endpoint(String key, String text) {
    return WebUrls.parse(key, text, "http://127.0.0.1:4318");
  }
}
