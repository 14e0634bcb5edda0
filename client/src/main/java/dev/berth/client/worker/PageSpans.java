package dev.berth.client.worker;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import java.util.function.Supplier;

/**
 * The reference worker's spans: one per page attempt ({@code page}), with a child for each step
 * ({@code render}, {@code extract}, {@code pdf}); the SDK's acquire and release spans, made on the
 * same thread, land under the step that called them, so a slow page shows where its time went. With
 * a no-op tracer (tracing off) nothing is made. Thread-safe: each span is current on the thread
 * that runs its body.
 */
final class PageSpans {
  static final String PAGE = "page";
  static final String RENDER = "render";
  static final String EXTRACT = "extract";
  static final String PDF = "pdf";

  static final AttributeKey<String> URL = AttributeKey.stringKey("url.full");
  static final AttributeKey<String> HOST = AttributeKey.stringKey("server.address");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("berth.page.attempt");
  static final AttributeKey<Long> HTTP_STATUS = AttributeKey.longKey("http.response.status_code");

  private final Tracer tracer;

  PageSpans(Tracer tracer) {
    this.tracer = tracer;
  }

  /**
   * Runs one attempt at a page in a {@code page} span; {@code body} returns the page's error, empty
   * for none, and its HTTP status (0 for none) through {@code result}.
   */
  void page(String url, String host, int attempt, Supplier<PageResult> body) {
    Span span =
        tracer
            .spanBuilder(PAGE)
            .setAttribute(URL, url)
            .setAttribute(HOST, host)
            .setAttribute(ATTEMPT, (long) attempt)
            .startSpan();
    Scope scope = span.makeCurrent();
    try {
      PageResult result = body.get();
      if (result != null) {
        if (result.httpStatus != 0) {
          span.setAttribute(HTTP_STATUS, (long) result.httpStatus);
        }
        if (!result.error.isEmpty()) {
          span.setStatus(StatusCode.ERROR, result.error);
        }
      }
    } finally {
      scope.close();
      span.end();
    }
  }

  /** Runs one step of the current page in a child span named {@code name}. */
  <T> T step(String name, Supplier<T> body) {
    Span span = tracer.spanBuilder(name).startSpan();
    Scope scope = span.makeCurrent();
    try {
      return body.get();
    } catch (RuntimeException e) {
      span.recordException(e);
      span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
      throw e;
    } finally {
      scope.close();
      span.end();
    }
  }
}
