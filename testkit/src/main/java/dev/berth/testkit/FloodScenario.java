package dev.berth.testkit;

import java.util.List;
import java.util.Map;

/**
 * The flood both the flood fault test and the flood benchmark run: two principals, {@code fleet}
 * and {@code flooder}, and the per-principal caps that hold the flooder back. Constants only.
 */
public final class FloodScenario {
  public static final String FLEET_TOKEN = "flood-fleet-token-5d1e";
  public static final String FLOODER_TOKEN = "flood-flooder-token-9a0c";
  public static final int SESSION_CAP = 200;
  public static final int QUEUED_CAP = 20;
  public static final int CALL_RATE_CAP = 400;

  /** Sessions the flooder tries at once: far more than {@link #SESSION_CAP}. */
  public static final int SESSION_ATTEMPTS = 3000;

  /** Acquires the flooder keeps in flight, with no pause between them. */
  public static final int IN_FLIGHT = 64;

  /**
   * The fleet's pause between two Acquire/Release cycles of one worker: below the call-rate cap.
   */
  public static final long FLEET_PAUSE_MILLIS = 12;

  private FloodScenario() {}

  /**
   * The daemon's flags for the flood: both principals' tokens, the caps, a session TTL that
   * outlives the flood's pauses, RENDER slots for every acquire, and a host rate that lets the
   * flood queue up to its cap.
   */
  public static List<String> daemonFlags() {
    return List.of(
        "--auth.tokens",
        Bearer.tokensFlag(
            Map.of(
                "fleet", Map.entry(FLEET_TOKEN, "worker"),
                "flooder", Map.entry(FLOODER_TOKEN, "worker"))),
        "--caps.sessions_per_principal",
        Integer.toString(SESSION_CAP),
        "--caps.queued_per_principal",
        Integer.toString(QUEUED_CAP),
        "--caps.calls_per_second_per_principal",
        Integer.toString(CALL_RATE_CAP),
        "--session-ttl",
        "60s",
        "--render-limit",
        "10000",
        // The flooder's host gives 20 tokens a second, so its 5 s waits can queue about a hundred
        // deep behind each other: at the default 2/s the broker refuses at once every acquire
        // whose token the ten waiters ahead would use up, and the queue never reaches its cap.
        "--rate_limit.default_rate",
        "20");
  }
}
