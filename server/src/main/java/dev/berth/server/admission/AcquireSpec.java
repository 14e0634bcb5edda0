package dev.berth.server.admission;

import static java.util.Objects.requireNonNull;

import com.google.common.hash.Hashing;
import dev.berth.common.Durations;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * One acquire, validated: every field is within its documented bounds, and the host has been
 * extracted from the URL. Built only by {@link #validate}, so code that holds one need not check
 * again. As a {@link Request} it is a request of one item, itself.
 *
 * @param sessionId the session that will hold the lease
 * @param kind what is asked for
 * @param url the URL to render, or empty; one longer than {@link #KEPT_URL_LENGTH} characters is
 *     kept as its digest ({@link #keptUrl}), which is all the broker needs of it past its host
 * @param host the rate-limit key of {@code url}, or empty
 * @param module the WASM module name, or empty for the configured default
 * @param waitNanos how long the caller is willing to wait (0 = answer now)
 * @param requestId idempotency key, or empty
 * @param priority 0..9, higher first
 * @param memoryEstimateMb 0 for the kind's default
 */
public record AcquireSpec(
    String sessionId,
    ResourceKind kind,
    String url,
    String host,
    String module,
    long waitNanos,
    String requestId,
    int priority,
    int memoryEstimateMb)
    implements Request<Decision> {

  public static final int MAX_ID_LENGTH = 128;
  public static final int MAX_URL_LENGTH = 8192;
  public static final int MAX_PRIORITY = 9;
  public static final int MAX_MEMORY_ESTIMATE_MB = 1 << 20;
  public static final Duration MAX_WAIT = Duration.ofHours(1);

  /**
   * The longest URL a spec keeps as it came. Past its host (the rate-limit key, extracted first) a
   * URL serves only to tell a retry of a {@code request_id} from another request, and a session
   * remembers its last {@code session.request_ids_remembered} requests, bundles of eight items
   * among them: kept whole, URLs of up to {@link #MAX_URL_LENGTH} characters let one client's few
   * sessions fill the broker's heap (a 256 MiB daemon died of 20 sessions' bundles).
   */
  public static final int KEPT_URL_LENGTH = 128;

  private static final String DIGEST_PREFIX = "sha256:";

  public AcquireSpec {
    requireNonNull(sessionId);
    requireNonNull(kind);
    url = keptUrl(requireNonNull(url));
    requireNonNull(host);
    requireNonNull(module);
    requireNonNull(requestId);
  }

  /**
   * Validates raw request fields.
   *
   * @param kind null when the caller left it unspecified
   * @param wait null when absent
   * @throws BrokerException INVALID_ARGUMENT naming the first field that breaks its rule
   */
  public static AcquireSpec validate(
      String sessionId,
      ResourceKind kind,
      String url,
      String module,
      Duration wait,
      String requestId,
      long priority,
      long memoryEstimateMb) {
    requireId("session_id", sessionId, true);
    if (kind == null) {
      throw BrokerException.invalid("kind", "must be RENDER, PDF or WASM");
    }
    if (url.length() > MAX_URL_LENGTH) {
      throw BrokerException.invalid("url", "longer than " + MAX_URL_LENGTH + " characters");
    }
    String host = "";
    switch (kind) {
      case RENDER -> {
        if (url.isEmpty()) {
          throw BrokerException.invalid("url", "required for RENDER (its host is rate-limited)");
        }
        host = HostName.of(url, "url");
      }
      case PDF -> host = url.isEmpty() ? "" : HostName.of(url, "url");
      case WASM -> {
        if (!url.isEmpty()) {
          throw BrokerException.invalid("url", "must be empty for WASM");
        }
      }
    }
    if (!module.isEmpty()) {
      if (kind != ResourceKind.WASM) {
        throw BrokerException.invalid("module", "only WASM acquires name a module");
      }
      requireName("module", module);
    }
    long waitNanos = 0;
    if (wait != null) {
      if (wait.isNegative()) {
        throw BrokerException.invalid(
            "wait", "must not be negative, got " + Durations.format(wait));
      }
      if (wait.compareTo(MAX_WAIT) > 0) {
        throw BrokerException.invalid(
            "wait",
            "must be at most " + Durations.format(MAX_WAIT) + ", got " + Durations.format(wait));
      }
      waitNanos = wait.toNanos();
    }
    requireId("request_id", requestId, false);
    if (priority < 0 || priority > MAX_PRIORITY) {
      throw BrokerException.invalid("priority", "must be 0.." + MAX_PRIORITY + ", got " + priority);
    }
    if (memoryEstimateMb < 0 || memoryEstimateMb > MAX_MEMORY_ESTIMATE_MB) {
      throw BrokerException.invalid(
          "memory_estimate_mb",
          "must be 0.." + MAX_MEMORY_ESTIMATE_MB + ", got " + memoryEstimateMb);
    }
    return new AcquireSpec(
        sessionId,
        kind,
        url,
        host,
        module,
        waitNanos,
        requestId,
        (int) priority,
        (int) memoryEstimateMb);
  }

  /**
   * What a spec keeps of {@code url}: the URL itself when it has at most {@link #KEPT_URL_LENGTH}
   * characters, else {@code sha256:} and the hex SHA-256 of its UTF-8 bytes (71 characters).
   * Idempotent, so a URL carried in either form (a cluster's record, a restart's state file)
   * compares equal to the same URL asked again; no acquirable URL has the digest's form, which has
   * no {@code ://}.
   */
  public static String keptUrl(String url) {
    if (url.length() <= KEPT_URL_LENGTH) {
      return url;
    }
    return DIGEST_PREFIX + Hashing.sha256().hashString(url, StandardCharsets.UTF_8);
  }

  /** Checks an identifier field: printable ASCII, bounded length, present when required. */
  public static void requireId(String field, String value, boolean required) {
    if (value.isEmpty()) {
      if (required) {
        throw BrokerException.invalid(field, "required");
      }
      return;
    }
    if (value.length() > MAX_ID_LENGTH) {
      throw BrokerException.invalid(field, "longer than " + MAX_ID_LENGTH + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw BrokerException.invalid(field, "must be printable ASCII without spaces");
      }
    }
  }

  /** Checks a name: letters, digits, '.', '_' and '-', bounded length. */
  public static void requireName(String field, String value) {
    if (value.isEmpty() || value.length() > MAX_ID_LENGTH) {
      throw BrokerException.invalid(field, "must be 1.." + MAX_ID_LENGTH + " characters");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean ok = (Character.isLetterOrDigit(c) && c < 0x80) || c == '.' || c == '_' || c == '-';
      if (!ok) {
        throw BrokerException.invalid(field, "may hold only letters, digits, '.', '_' and '-'");
      }
    }
  }

  /** This request with a shorter wait, e.g. cut to the caller's deadline. */
  public AcquireSpec withWaitNanos(long nanos) {
    return new AcquireSpec(
        sessionId, kind, url, host, module, nanos, requestId, priority, memoryEstimateMb);
  }

  /** What must match when a request id is reused: the kind, URL and module. */
  @Override
  public boolean sameRequestAs(Request<?> other) {
    return other instanceof AcquireSpec o
        && kind == o.kind
        && url.equals(o.url)
        && module.equals(o.module);
  }

  @Override
  public int itemCount() {
    return 1;
  }

  @Override
  public AcquireSpec item(int i) {
    if (i != 0) {
      throw new IndexOutOfBoundsException(i);
    }
    return this;
  }

  @Override
  public String describe() {
    return kind + (url.isEmpty() ? "" : " " + url) + (module.isEmpty() ? "" : " " + module);
  }

  @Override
  public Decision granted(Lease[] leases, int heldItem) {
    return new Decision.Granted(leases[0], heldItem == 0);
  }

  @Override
  public Decision refused(int item, Decision.Refused refusal) {
    return refusal;
  }
}
