package dev.berth.client.worker;

import dev.berth.client.Lease;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The result of one URL, written as {@code <out>/<name>.json}. Built up while the page is worked
 * on; not thread-safe (one render thread owns it).
 */
final class PageResult {
  final String url;
  final String host;
  final String workerId;
  int attempts;
  int httpStatus;
  Duration siteRetryAfter = Duration.ZERO;
  String error = "";
  PageFacts facts;
  Path pdf;
  Duration duration = Duration.ZERO;
  Instant finishedAt;
  final Map<String, Object> leases = new LinkedHashMap<>();

  PageResult(String url, String host, String workerId) {
    this.url = url;
    this.host = host;
    this.workerId = workerId;
  }

  boolean ok() {
    return error.isEmpty() && facts != null;
  }

  /** Records a lease the page was worked on under, with its fencing token. */
  void lease(String role, Lease lease) {
    Map<String, Object> l = new LinkedHashMap<>();
    l.put("lease_id", lease.leaseId());
    l.put("fencing_token", Long.toUnsignedString(lease.fencingToken()));
    if (!lease.module().isEmpty()) {
      l.put("module", lease.module());
      l.put("module_digest", lease.moduleDigest());
    }
    leases.put(role, l);
  }

  Map<String, Object> toJson() {
    Map<String, Object> json = new LinkedHashMap<>();
    json.put("url", url);
    json.put("host", host);
    json.put("worker_id", workerId);
    json.put("ok", ok());
    json.put("http_status", httpStatus);
    json.put("error", error);
    json.put("title", facts == null ? null : facts.title());
    json.put("links", facts == null ? null : facts.links());
    json.put("words", facts == null ? null : facts.words());
    json.put("images", facts == null ? null : facts.images());
    json.put("truncated", facts != null && facts.truncated());
    json.put("duration_ms", duration.toMillis());
    json.put("attempts", attempts);
    json.put("site_retry_after_ms", siteRetryAfter.toMillis());
    json.put("pdf", pdf == null ? null : pdf.toString());
    json.put("finished_at", finishedAt == null ? null : finishedAt.toString());
    json.put("leases", leases);
    return json;
  }
}
