package dev.berth.server.admission;

import static java.util.Objects.requireNonNull;

import dev.berth.server.lease.Lease;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/** The answer to one acquire: a granted lease or a refusal. */
public sealed interface Decision permits Decision.Granted, Decision.Refused {

  /**
   * The acquire was granted this lease.
   *
   * @param alreadyHeld the session held it before this acquire: a WASM acquire asked again is
   *     answered with the instance the session has
   */
  record Granted(Lease lease, boolean alreadyHeld) implements Decision {
    public Granted {
      requireNonNull(lease, "lease");
    }

    /** A lease granted by this acquire. */
    public Granted(Lease lease) {
      this(lease, false);
    }

    /**
     * The lease this acquire took, which nobody else holds: what is given back when its caller is
     * gone. Empty when the session already held it.
     */
    public List<Lease> newlyGranted() {
      return alreadyHeld ? List.of() : List.of(lease);
    }
  }

  /**
   * The acquire was refused. The detail may be written late: a refusal decided under the broker's
   * lock carries the facts its sentence needs, captured then, and writes the sentence the first
   * time {@link #detail} is asked for — after the lock is released — so the lock is not held while
   * numbers are formatted. Immutable and thread-safe: the text depends only on captured facts, so
   * two threads that race to write it write the same.
   */
  public static final class Refused implements Decision {
    private final RefusalReason reason;
    private final long retryAfterNanos;
    private final String rule;
    private final Supplier<String> text;
    private String detail;

    /**
     * A refusal with its detail written.
     *
     * @param reason the rule family that decided
     * @param retryAfterNanos how long the client should wait before asking again (≥ 0)
     * @param detail a sentence naming the rule, for people
     * @param rule the rule that decided, for programs: the deciding setting's key (e.g. {@code
     *     pools.render.limit}, {@code jobs.recrawl.max.render}) or the check ({@code draining});
     *     {@link Admission} names every one
     */
    public Refused(RefusalReason reason, long retryAfterNanos, String detail, String rule) {
      this(reason, retryAfterNanos, null, requireNonNull(detail, "detail"), rule);
    }

    private Refused(
        RefusalReason reason,
        long retryAfterNanos,
        Supplier<String> text,
        String detail,
        String rule) {
      this.reason = requireNonNull(reason, "reason");
      this.rule = requireNonNull(rule, "rule");
      if (retryAfterNanos < 0) {
        throw new IllegalArgumentException("retryAfterNanos < 0");
      }
      this.retryAfterNanos = retryAfterNanos;
      this.text = text;
      this.detail = detail;
    }

    /**
     * A refusal whose detail {@code text} writes when first asked for. {@code text} must read only
     * facts captured when it was made (values, not the broker's live state): it runs later, on
     * whichever thread reads the detail first, without the broker's lock.
     */
    public static Refused deferred(
        RefusalReason reason, long retryAfterNanos, Supplier<String> text, String rule) {
      return new Refused(reason, retryAfterNanos, requireNonNull(text, "text"), null, rule);
    }

    /** The rule family that decided. */
    public RefusalReason reason() {
      return reason;
    }

    /** How long the client should wait before asking again (≥ 0). */
    public long retryAfterNanos() {
      return retryAfterNanos;
    }

    /** A sentence naming the rule, for people; written on the first call for a deferred one. */
    public String detail() {
      String written = detail;
      if (written == null) {
        // Racy but safe: every writer writes the same immutable String from immutable facts.
        written = requireNonNull(text.get(), "detail");
        detail = written;
      }
      return written;
    }

    /** The rule that decided, for programs (a setting's key or the check). */
    public String rule() {
      return rule;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Refused r
          && reason == r.reason
          && retryAfterNanos == r.retryAfterNanos
          && rule.equals(r.rule)
          && detail().equals(r.detail());
    }

    @Override
    public int hashCode() {
      return Objects.hash(reason, retryAfterNanos, detail(), rule);
    }

    @Override
    public String toString() {
      return "Refused[reason="
          + reason
          + ", retryAfterNanos="
          + retryAfterNanos
          + ", detail="
          + detail()
          + ", rule="
          + rule
          + "]";
    }
  }
}
