package dev.berth.server.admission;

import static java.util.Objects.requireNonNull;

import dev.berth.server.lease.Lease;

/** The answer to one acquire: a granted lease or a refusal. */
public sealed interface Decision permits Decision.Granted, Decision.Refused {

  /** The acquire was granted this lease. */
  record Granted(Lease lease) implements Decision {
    public Granted {
      requireNonNull(lease, "lease");
    }
  }

  /**
   * The acquire was refused.
   *
   * @param reason the rule family that decided
   * @param retryAfterNanos how long the client should wait before asking again (≥ 0)
   * @param detail a sentence naming the rule, for people
   * @param rule the rule that decided, for programs: the deciding setting's key (e.g. {@code
   *     pools.render.limit}, {@code jobs.recrawl.max.render}) or the check ({@code draining});
   *     {@link Admission} names every one
   */
  record Refused(RefusalReason reason, long retryAfterNanos, String detail, String rule)
      implements Decision {
    public Refused {
      requireNonNull(reason, "reason");
      requireNonNull(detail, "detail");
      requireNonNull(rule, "rule");
      if (retryAfterNanos < 0) {
        throw new IllegalArgumentException("retryAfterNanos < 0");
      }
    }
  }
}
