package dev.berth.server.config;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.config.ConfigKey.Part;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.memory.MemoryConfig;
import dev.berth.server.performance.PerformanceConfig;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.settings.ConfigException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the configuration sources and applies what changed to the running broker: what SIGHUP
 * does, callable without a signal.
 *
 * <p>A reload applies the keys whose value in the sources changed since the last load; every other
 * key keeps its running value, so limits an operator changed with {@code UpdateLimits} survive a
 * reload that does not touch them. A changed key that cannot change live (e.g. {@code listen}) is
 * reported as needing a restart and keeps its running value. A part of the policy whose values did
 * not change keeps its running object, so e.g. the degradation statistics are not reset. When the
 * new configuration is invalid nothing is applied and the running configuration stays.
 *
 * <p>Thread-safe: reloads are serialised.
 */
public final class ConfigReloader {
  private static final Logger log = LoggerFactory.getLogger(ConfigReloader.class);

  /** What a reload applies to. */
  public interface Target {
    /** The policy in force now (it may differ from the last load through UpdateLimits). */
    Policy policy();

    /** Puts a new policy and daemon settings in force; must keep leases and sessions. */
    void apply(Policy policy, DaemonSettings daemon);

    /**
     * Runs {@code body} while no other change of the policy (an {@code UpdateLimits}) can run, so
     * that a reload's read of the running policy and its apply are one step. Runs it as is by
     * default.
     */
    default <T> T exclusive(Supplier<T> body) {
      return body.get();
    }

    /**
     * Told, after {@link #apply}, what a reload changed that operators watch for, in words ({@code
     * config reload: pools.render.limit 8 -> 12}); not called when nothing but tokens changed. Does
     * nothing by default.
     */
    default void changed(String detail) {}
  }

  /**
   * The result of one reload.
   *
   * @param applied whether a new configuration was put in force
   * @param changed the keys applied, as {@code key old -> new} (secrets such as token hashes left
   *     out: {@code auth.tokens added [a], removed [b] (2 tokens)})
   * @param needsRestart changed keys that were not applied because they need a restart
   * @param error why the reload was refused, or empty
   */
  public record Result(
      boolean applied, List<String> changed, List<String> needsRestart, String error) {
    public Result {
      changed = List.copyOf(changed);
      needsRestart = List.copyOf(needsRestart);
      requireNonNull(error, "error");
    }
  }

  private static final Origin RUNNING = new Origin(Origin.Kind.RUNNING, "");

  /** The keys of bearer tokens, whose changes a reload does not announce. */
  private static final String AUTH_PREFIX = "auth.";

  private final ConfigSources sources;
  private final Target target;

  /** The configuration the sources gave at the last successful load. */
  @GuardedBy("this")
  private BerthConfig loaded;

  /** The daemon settings in force. */
  @GuardedBy("this")
  private DaemonSettings daemon;

  public ConfigReloader(ConfigSources sources, BerthConfig initial, Target target) {
    this.sources = sources;
    this.target = target;
    this.loaded = initial;
    this.daemon = initial.daemon();
  }

  /** Reads the sources again and applies the changes; never throws for a bad configuration. */
  public synchronized Result reload() {
    String from = sources.file() == null ? "environment and flags" : sources.file().toString();
    BerthConfig next;
    try {
      next = sources.load();
    } catch (ConfigException e) {
      return refused(e, List.of());
    }
    return target.exclusive(() -> apply(next, from));
  }

  /** Builds the next configuration on the running policy and puts it in force. */
  private synchronized Result apply(BerthConfig next, String from) { // reentered from reload
    Policy runningPolicy = target.policy();
    BerthConfig running = new BerthConfig(runningPolicy, daemon, Map.of(), loaded.file());

    ConfigLoader.Values merged = new ConfigLoader.Values();
    List<String> changed = new ArrayList<>();
    List<String> needsRestart = new ArrayList<>();
    for (ConfigKey<?> key : ConfigKeys.all()) {
      merge(key, loaded, running, next, merged, changed, needsRestart);
    }

    BerthConfig built;
    try {
      built = ConfigLoader.build(merged, sources.file());
      refuseAuthOff(built, next);
    } catch (ConfigException e) {
      return refused(e, needsRestart);
    }
    Policy policy = reuseUnchanged(running, built);
    target.apply(policy, built.daemon());
    daemon = built.daemon();
    loaded = next;
    if (changed.isEmpty()) {
      log.info("config reloaded from {}: nothing to change", from);
    } else {
      log.info("config reloaded from {}: {}", from, String.join(", ", changed));
    }
    // Watchers see a reload's changes as they see an UpdateLimits; which tokens changed is for the
    // log only.
    List<String> announced = changed.stream().filter(c -> !c.startsWith(AUTH_PREFIX)).toList();
    if (!announced.isEmpty()) {
      target.changed("config reload: " + String.join(", ", announced));
    }
    return new Result(true, changed, needsRestart, "");
  }

  private static Result refused(ConfigException e, List<String> needsRestart) {
    log.error("config reload refused, keeping the running config: {}", e.getMessage());
    return new Result(false, List.of(), needsRestart, e.getMessage());
  }

  /**
   * Refuses a reload that would remove every token while some are in force: that turns
   * authentication off, which a file truncated by mistake must not do to a running broker.
   */
  @GuardedBy("this")
  private void refuseAuthOff(BerthConfig built, BerthConfig next) {
    if (!daemon.tokens().isEmpty() && built.daemon().tokens().isEmpty()) {
      ConfigKey<?> key = ConfigKeys.find(DaemonSettings.Keys.AUTH_TOKENS);
      throw next.origin(key)
          .attachTo(
              new ConfigException(
                  key.name(),
                  "a reload cannot remove every token, which would turn authentication off;"
                      + " keep at least one, or restart the daemon to run without"
                      + " authentication"));
    }
  }

  /**
   * Puts into {@code merged} the value {@code key} has after the reload: the running value when its
   * sources ({@code loaded} at the last load, {@code next} now) did not change or it cannot change
   * live (then it is reported as needing a restart, unless the new value is the running one), else
   * the new one (then it is reported as changed, unless the running value already equals it).
   */
  private static <T> void merge(
      ConfigKey<T> key,
      BerthConfig loaded,
      BerthConfig running,
      BerthConfig next,
      ConfigLoader.Values merged,
      List<String> changed,
      List<String> needsRestart) {
    String before = loaded.text(key);
    String after = next.text(key);
    T runningValue = running.value(key);
    if (before.equals(after)) {
      merged.put(key, runningValue, RUNNING);
    } else if (!key.live()) {
      // A file put back to the value in force (after a reload that could not apply a change)
      // changes nothing, and needs no restart.
      if (!running.text(key).equals(after)) {
        needsRestart.add(key.name());
        log.warn(
            "config reload: {} changed to {} but needs a restart; keeping {}",
            key.name(),
            key.forLog(next.value(key)),
            key.forLog(runningValue));
      }
      merged.put(key, runningValue, RUNNING);
    } else {
      if (!running.text(key).equals(after)) {
        changed.add(key.name() + " " + key.change(runningValue, next.value(key)));
      }
      merged.put(key, next.value(key), next.origin(key));
    }
  }

  /**
   * The built policy, with every part whose values equal the running part's replaced by the running
   * object itself, so unchanged parts are not re-initialised.
   */
  private static Policy reuseUnchanged(BerthConfig running, BerthConfig built) {
    Policy r = running.policy();
    Policy b = built.policy();
    BrokerConfig broker = same(Part.BROKER, running, built) ? r.broker() : b.broker();
    RateLimitConfig rateLimit =
        same(Part.RATE_LIMIT, running, built) ? r.rateLimit() : b.rateLimit();
    MemoryConfig memory = same(Part.MEMORY, running, built) ? r.memory() : b.memory();
    PerformanceConfig performance =
        same(Part.PERFORMANCE, running, built) ? r.performance() : b.performance();
    JobsConfig jobs = same(Part.JOBS, running, built) ? r.jobs() : b.jobs();
    // Caps are a small value; the built one is always right (it equals the running one when
    // unchanged).
    return new Policy(broker, rateLimit, memory, performance, b.caps(), jobs);
  }

  private static boolean same(Part part, BerthConfig a, BerthConfig b) {
    for (ConfigKey<?> key : ConfigKeys.all()) {
      if (key.part() == part && !a.text(key).equals(b.text(key))) {
        return false;
      }
    }
    return true;
  }
}
