package dev.berth.client.worker;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Writes the worker's results under {@code --out}: {@code <name>.json} for each URL, and names its
 * PDF, where {@code name} is 16 hex digits of the URL's SHA-256. Each file is written whole to a
 * {@code .part} file and renamed, so a reader never sees half a result.
 *
 * <p>Thread-safe: render threads write results for different URLs at once.
 */
final class ResultWriter {
  private static final Gson GSON =
      new GsonBuilder().setPrettyPrinting().serializeNulls().disableHtmlEscaping().create();

  private final Path dir;

  ResultWriter(Path dir) {
    this.dir = dir;
  }

  /** Where the PDF of {@code url} goes. */
  Path pdf(String url) {
    return dir.resolve(name(url) + ".pdf");
  }

  /** A file next to {@code target} to write first and rename over it. */
  static Path partial(Path target) {
    return target.resolveSibling(target.getFileName() + ".part");
  }

  /**
   * Writes {@code result}; returns its file.
   *
   * @throws UncheckedIOException when the file cannot be written
   */
  Path write(PageResult result) {
    Path target = dir.resolve(name(result.url) + ".json");
    Path partial = partial(target);
    try {
      Files.writeString(partial, json(result), StandardCharsets.UTF_8);
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + target, e);
    }
    return target;
  }

  /** The JSON text of {@code result}: keys in a fixed order, absent facts as null. */
  static String json(PageResult r) {
    JsonObject json = new JsonObject();
    json.addProperty("url", r.url);
    json.addProperty("host", r.host);
    json.addProperty("worker_id", r.workerId);
    json.addProperty("ok", r.ok());
    json.addProperty("http_status", r.httpStatus);
    json.addProperty("error", r.error);
    PageFacts facts = r.facts;
    json.addProperty("title", facts == null ? null : facts.title());
    json.addProperty("links", facts == null ? null : facts.links());
    json.addProperty("words", facts == null ? null : facts.words());
    json.addProperty("images", facts == null ? null : facts.images());
    json.addProperty("truncated", facts != null && facts.truncated());
    json.addProperty("duration_ms", r.duration.toMillis());
    json.addProperty("attempts", r.attempts);
    json.addProperty("site_retry_after_ms", r.siteRetryAfter.toMillis());
    json.addProperty("pdf", r.pdf == null ? null : r.pdf.toString());
    json.addProperty("finished_at", r.finishedAt == null ? null : r.finishedAt.toString());
    JsonObject leases = new JsonObject();
    r.leases.forEach(
        (role, lease) -> {
          JsonObject l = new JsonObject();
          l.addProperty("lease_id", lease.leaseId());
          // Unsigned 64 bits, as text: JSON readers lose precision past 2^53.
          l.addProperty("fencing_token", Long.toUnsignedString(lease.fencingToken()));
          if (!lease.module().isEmpty()) {
            l.addProperty("module", lease.module());
            l.addProperty("module_digest", lease.moduleDigest());
          }
          leases.add(role, l);
        });
    json.add("leases", leases);
    return GSON.toJson(json) + "\n";
  }

  /** The file name stem of a URL's results: 16 hex digits of its SHA-256. */
  static String name(String url) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256").digest(url.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }
}
