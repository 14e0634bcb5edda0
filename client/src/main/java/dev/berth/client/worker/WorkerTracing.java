package dev.berth.client.worker;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.List;
import java.util.Map;

/**
 * The reference worker's OpenTelemetry: off unless {@code --otlp-endpoint} or one of the standard
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT}, {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT} or {@code
 * OTEL_TRACES_EXPORTER} variables is set; then the SDK's autoconfiguration reads every standard
 * {@code OTEL_*} variable (sampler, headers, resource, ...), with OTLP over HTTP/protobuf, no
 * metrics or logs, and {@code service.name} {@code berth-worker} as defaults. Closing it sends the
 * spans still buffered. Not thread-safe to close twice concurrently; one per worker run.
 */
final class WorkerTracing implements AutoCloseable {
  /** The instrumentation scope of the worker's page spans. */
  static final String SCOPE = "dev.berth.worker";

  /** Any of these set turns the worker's tracing on. */
  static final List<String> SWITCHES =
      List.of(
          "OTEL_EXPORTER_OTLP_ENDPOINT",
          "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
          "OTEL_TRACES_EXPORTER");

  private final OpenTelemetrySdk sdk;

  private WorkerTracing(OpenTelemetrySdk sdk) {
    this.sdk = sdk;
  }

  /** Whether the worker traces with {@code endpoint} (the option, null when not given). */
  static boolean wanted(String endpoint, Map<String, String> env) {
    return endpoint != null || SWITCHES.stream().anyMatch(k -> !env.getOrDefault(k, "").isBlank());
  }

  /**
   * Tracing as the option and the environment say; off (a no-op instance) when neither asks.
   *
   * @param endpoint {@code --otlp-endpoint}, the OTLP/HTTP receiver's base URL; null when not given
   */
  static WorkerTracing start(String endpoint, Map<String, String> env) {
    if (!wanted(endpoint, env)) {
      return new WorkerTracing(null);
    }
    AutoConfiguredOpenTelemetrySdk configured =
        AutoConfiguredOpenTelemetrySdk.builder()
            .addPropertiesSupplier(
                () ->
                    Map.of(
                        "otel.service.name", "berth-worker",
                        "otel.exporter.otlp.protocol", "http/protobuf",
                        "otel.metrics.exporter", "none",
                        "otel.logs.exporter", "none"))
            .addPropertiesCustomizer(
                config ->
                    endpoint == null ? Map.of() : Map.of("otel.exporter.otlp.endpoint", endpoint))
            .disableShutdownHook() // the worker closes it once its session said goodbye
            .build();
    return new WorkerTracing(configured.getOpenTelemetrySdk());
  }

  /** The instance the SDK client and the page spans use; a no-op one when off. */
  OpenTelemetry openTelemetry() {
    return sdk == null ? OpenTelemetry.noop() : sdk;
  }

  boolean enabled() {
    return sdk != null;
  }

  @Override
  public void close() {
    if (sdk != null) {
      sdk.close();
    }
  }
}
