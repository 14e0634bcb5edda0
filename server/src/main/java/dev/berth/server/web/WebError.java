package dev.berth.server.web;

/**
 * A request the dashboard refuses, with the HTTP status to answer and, when one field of the
 * request is at fault, its name. It is answered as JSON: {@code {"error": {"status": 400, "code":
 * "INVALID_ARGUMENT", "field": "lease_id", "message": "lease_id: required"}}}.
 */
final class WebError extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int status;
  private final String code;
  private final String field;

  WebError(int status, String code, String field, String message) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.field = field;
  }

  /** A field of the request is missing or wrong: 400, the message starting with the field. */
  static WebError invalid(String field, String rule) {
    return new WebError(400, "INVALID_ARGUMENT", field, field + ": " + rule);
  }

  static WebError unauthenticated(String message) {
    return new WebError(401, "UNAUTHENTICATED", "", message);
  }

  static WebError denied(String message) {
    return new WebError(403, "PERMISSION_DENIED", "", message);
  }

  static WebError notFound(String field, String message) {
    return new WebError(404, "NOT_FOUND", field, message);
  }

  int status() {
    return status;
  }

  String code() {
    return code;
  }

  /** The request field at fault; empty when the request as a whole is. */
  String field() {
    return field;
  }
}
