package dev.berth.client;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/**
 * The broker's answer to an acquire: a {@link Granted} lease, or a {@link Refused} with the reason
 * and when trying again makes sense. Refusals are ordinary answers, not exceptions.
 *
 * <pre>{@code
 * AcquireResult result = session.acquire(AcquireOptions.render(url));
 * if (result instanceof AcquireResult.Granted granted) {
 *   try (Lease lease = granted.lease()) {
 *     ...
 *   }
 * } else if (result instanceof AcquireResult.Refused refused) {
 *   log(refused.reason() + ", retry in " + refused.retryAfter());
 * }
 * }</pre>
 *
 * <p>A granted lease holds capacity until it is closed: always close it (try-with-resources), or it
 * stays taken until its max hold or its session ends.
 */
public sealed interface AcquireResult permits AcquireResult.Granted, AcquireResult.Refused {

  /** True for a {@link Granted}. */
  boolean isGranted();

  /** The broker granted {@code lease}; close it when done. */
  record Granted(Lease lease) implements AcquireResult {
    public Granted {
      requireNonNull(lease, "lease");
    }

    @Override
    public boolean isGranted() {
      return true;
    }
  }

  /**
   * The broker said no.
   *
   * @param reason why
   * @param retryAfter how long to wait before asking again
   * @param detail a sentence naming the rule that decided, e.g. {@code pool RENDER 8/8 in use, 3
   *     queued}
   */
  record Refused(RefusalReason reason, Duration retryAfter, String detail)
      implements AcquireResult {
    public Refused {
      requireNonNull(reason, "reason");
      requireNonNull(retryAfter, "retryAfter");
      requireNonNull(detail, "detail");
    }

    @Override
    public boolean isGranted() {
      return false;
    }
  }
}
