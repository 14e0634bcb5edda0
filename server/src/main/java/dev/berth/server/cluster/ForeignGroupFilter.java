package dev.berth.server.cluster;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.slf4j.LoggerFactory;
import org.slf4j.Marker;

/**
 * Turns Ratis's log lines about a Raft group a member does not have into {@link ForeignGroups}'s
 * one line per remote member and minute.
 *
 * <p>When a member runs with another {@code cluster.id}, its Raft group has another id, and every
 * vote request, append and heartbeat between it and the others is refused with a {@code
 * GroupMismatchException}. Ratis 3.2.2 logs each refusal as a WARN with a stack trace: the
 * receiving side in {@code GrpcServerProtocolService} ({@code "n1: Failed requestVote n3->n1#5"},
 * {@code "n3: Failed APPEND_ENTRIES request n2->n3#4-t2,…"}), the leader's side in {@code
 * GrpcLogAppender} ({@code "n2@group-…->n3-AppendLogResponseHandler: Failed appendEntries"}), and a
 * Ratis client in {@code OrderedAsync}. Ratis offers no hook for such a message (its server proxy
 * fails the lookup of the group before any code of ours runs), so its log is where the event can be
 * seen.
 *
 * <p>A logback turbo filter rather than a logger level: a level on those loggers would hide every
 * other failure they report too (a member down, a timed-out append), which an operator needs. This
 * filter drops only WARN and ERROR events of {@code org.apache.ratis} loggers whose throwable (or,
 * when Ratis prints it without a trace, whose message) is a {@code GroupMismatchException}; DEBUG
 * and TRACE ones pass, so an operator who turns Ratis's logging up still sees each. It reads the
 * members' names from Ratis's messages; a message it cannot parse is still dropped and reported
 * without them.
 *
 * <p>It also drops routine lines: Ratis's client ({@code OrderedAsync}) logs at ERROR each request
 * it sent to a member that is not the leader ({@code "Failed* … caused by NotLeaderException"}) or
 * is a leader not ready yet ({@code LeaderNotReadyException}, with a stack trace), and the next try
 * on the connection it closed after that ({@code AlreadyClosedException}), before it sends the
 * request again. A member asks the cluster to record its epoch floor as it starts, so a healthy
 * start printed that ERROR on the followers. A request whose retries all fail still reaches the
 * code that sent it, which logs it; other {@code Failed*} lines (a closed client, anything
 * unexpected) pass.
 *
 * <p>{@link #install()} adds it to logback's context from code, when the node starts, rather than
 * from {@code logback.xml}: a replaced logging configuration must not bring the flood back.
 */
final class ForeignGroupFilter extends TurboFilter {
  private static final String RATIS = "org.apache.ratis.";
  private static final String MISMATCH = GroupMismatchException.class.getName();

  /** How Ratis's server names a refused append (or heartbeat): only a leader sends one. */
  private static final String APPEND = ": Failed APPEND_ENTRIES request ";

  /** {@code GroupMismatchException}'s message: {@code "<member>: group-<id> not found."}. */
  private static final Pattern NOT_FOUND =
      Pattern.compile("(?:^|\\s)([^\\s:]+): (group-[0-9A-Fa-f]+) not found");

  /** The leader's appender: {@code "n2@group-…->n3-AppendLogResponseHandler"}. */
  private static final Pattern APPENDER = Pattern.compile("^([^\\s@:]+)@group-[0-9A-Fa-f]+->");

  /** A server request as Ratis prints it: {@code "n3->n1#5"}. */
  private static final Pattern REQUEST = Pattern.compile("\\s([^\\s>:]+)->[^\\s#]+#\\d");

  /** Ratis's ordered client, which logs a request sent to a member that is not the leader. */
  private static final String ORDERED_CLIENT = "org.apache.ratis.client.impl.OrderedAsync";

  /** How it logs one, the exception's simple name last: {@code "… caused by {}"}. */
  private static final String CAUSED_BY = ": Failed* {} due to {} caused by {}";

  private final ForeignGroups groups;

  ForeignGroupFilter(ForeignGroups groups) {
    this.groups = groups;
  }

  /** Adds the filter to logback's context, once; does nothing when logback is not the backend. */
  static void install() {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return;
    }
    synchronized (context) {
      for (TurboFilter f : context.getTurboFilterList()) {
        if (f instanceof ForeignGroupFilter) {
          return;
        }
      }
      ForeignGroupFilter filter = new ForeignGroupFilter(ForeignGroups.INSTANCE);
      filter.setName("berth-foreign-raft-groups");
      filter.setContext(context);
      filter.start();
      context.addTurboFilter(filter);
    }
  }

  @Override
  public FilterReply decide(
      Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (format == null
        || level == null
        || !level.isGreaterOrEqual(Level.WARN)
        || !logger.getName().startsWith(RATIS)) {
      return FilterReply.NEUTRAL;
    }
    if (isRetriedAtTheLeader(logger, format, params)) {
      return FilterReply.DENY;
    }
    String mismatch = mismatchMessage(format, t);
    if (mismatch == null) {
      return FilterReply.NEUTRAL;
    }
    Matcher m = NOT_FOUND.matcher(mismatch);
    if (m.find()) {
      groups.refused(m.group(1), m.group(2), sender(format), format.contains(APPEND));
    } else {
      groups.refused("?", "an unknown group", sender(format), false);
    }
    return FilterReply.DENY;
  }

  /**
   * Whether the event is the ordered client's line about a request it sends again: the member it
   * asked does not lead ({@code NotLeaderException}) or the connection was closed to be opened
   * again ({@code AlreadyClosedException}), both named last in the short form; or the member is a
   * leader not ready yet ({@code LeaderNotReadyException}), in the exception Ratis passes last in
   * the long form (logback hands a turbo filter that exception among the parameters). A request
   * that fails for good reaches the code that sent it, which logs it.
   */
  private static boolean isRetriedAtTheLeader(Logger logger, String format, Object[] params) {
    if (!logger.getName().equals(ORDERED_CLIENT)
        || !format.contains(": Failed* {}")
        || params == null
        || params.length == 0) {
      return false;
    }
    Object last = params[params.length - 1];
    if (format.endsWith(CAUSED_BY)) {
      // The two exceptions Ratis itself prints without a trace: a member that does not lead, and
      // the connection to a member that the client closed after a failure and opens again on the
      // next try (at an election, right after a LeaderNotReadyException).
      return "NotLeaderException".equals(last) || "AlreadyClosedException".equals(last);
    }
    for (Throwable c = last instanceof Throwable t ? t : null;
        c != null;
        c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof NotLeaderException || c instanceof LeaderNotReadyException) {
        return true;
      }
    }
    return false;
  }

  /** The {@code GroupMismatchException}'s message in {@code t} or {@code format}; null if none. */
  private static String mismatchMessage(String format, Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof GroupMismatchException) {
        return String.valueOf(c.getMessage());
      }
    }
    int at = format.indexOf(MISMATCH);
    return at < 0 ? null : format.substring(at + MISMATCH.length());
  }

  private static String sender(String format) {
    Matcher m = APPENDER.matcher(format);
    if (m.find()) {
      return m.group(1);
    }
    m = REQUEST.matcher(format);
    return m.find() ? m.group(1) : null;
  }
}
