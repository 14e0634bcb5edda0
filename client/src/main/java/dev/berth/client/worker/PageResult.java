package dev.berth.client.worker;

import dev.berth.client.Lease;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The result of one URL, which {@link ResultWriter} writes as {@code <out>/<name>.json}. Built up
 * while the page is worked on; not thread-safe (one render thread owns it).
 */
final class PageResult {
  /**
   * A lease the page was worked on under.
   *
   * @param module the WASM module's name; empty for other kinds
   * @param moduleDigest its SHA-256; empty for other kinds
   */
  record LeaseRecord(String leaseId, long fencingToken, String module, String moduleDigest) {}

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

  /** By role ({@code render}, {@code wasm}, {@code pdf}), in the order they were taken. */
  final Map<String, LeaseRecord> leases = new LinkedHashMap<>();

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
    leases.put(
        role,
        new LeaseRecord(
            lease.leaseId(), lease.fencingToken(), lease.module(), lease.moduleDigest()));
  }
}
