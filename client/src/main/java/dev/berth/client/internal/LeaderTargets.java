package dev.berth.client.internal;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The brokers a client may call and the one it calls now: one broker, or the members of a cluster,
 * of which only the leader serves. Calls go to the {@linkplain #current() current} member; a
 * follower's NOT_LEADER hint makes the member it names current ({@link #follow}), and a failure
 * without a hint moves on to the next member ({@link #failed}). The moves after failures go round
 * the members in turn, whatever hints did in between: after a leader dies, a survivor may name it
 * for a while, and a client that went back from the dead leader to that survivor each time would
 * never try the third member, which may be the new leader. One channel per member, made when first
 * used and shut down by {@link #close}.
 *
 * <p>Thread-safe: the sessions of a client share one, so that what one learns about the leader the
 * others use at once.
 */
public final class LeaderTargets implements AutoCloseable {
  /** Hints can name members not given; past this many the client stops adding them. */
  private static final int MAX_TARGETS = 64;

  private final Function<String, ManagedChannel> open;
  private final UnaryOperator<Channel> wrap;

  @GuardedBy("this")
  private final List<String> targets;

  @GuardedBy("this")
  private final Map<String, ManagedChannel> managed = new HashMap<>();

  @GuardedBy("this")
  private final Map<String, Channel> channels = new HashMap<>();

  @GuardedBy("this")
  private int current;

  /** The member the last move after a failure went to; the next such move goes on from it. */
  @GuardedBy("this")
  private int probe;

  @GuardedBy("this")
  private boolean closed;

  /**
   * @param targets the members, in the order to try them (at least one)
   * @param open makes the channel of a member, given its target
   * @param wrap adds what every call carries (credentials, trace context) to a channel
   */
  public LeaderTargets(
      List<String> targets, Function<String, ManagedChannel> open, UnaryOperator<Channel> wrap) {
    if (targets.isEmpty()) {
      throw new IllegalArgumentException("targets: at least one");
    }
    this.targets = new ArrayList<>(targets);
    this.open = open;
    this.wrap = wrap;
  }

  /**
   * {@code targets} with a lone plain {@code host:port} whose name resolves to several addresses
   * replaced by those addresses (each {@code ip:port}), so that each is tried as a cluster member;
   * anything else as given. {@code authorities} receives each address's name, which TLS checks.
   */
  public static List<String> expand(List<String> targets, Map<String, String> authorities) {
    if (targets.size() != 1) {
      return targets;
    }
    String target = targets.get(0);
    HostAndPort hostPort;
    try {
      hostPort = HostAndPort.fromString(target);
    } catch (IllegalArgumentException e) {
      return targets; // a gRPC target URI: gRPC resolves it
    }
    String host = hostPort.getHost();
    if (!hostPort.hasPort()
        || target.contains("/")
        || InetAddresses.isInetAddress(host)
        || host.toLowerCase(Locale.ROOT).equals("localhost")) {
      return targets;
    }
    InetAddress[] addresses;
    try {
      addresses = InetAddress.getAllByName(host);
    } catch (UnknownHostException e) {
      return targets; // gRPC reports it on the first call, as for one broker
    }
    if (addresses.length < 2) {
      return targets;
    }
    List<String> out = new ArrayList<>();
    for (InetAddress address : addresses) {
      String each = HostAndPort.fromParts(address.getHostAddress(), hostPort.getPort()).toString();
      if (!out.contains(each)) {
        out.add(each);
        authorities.put(each, hostPort.toString());
      }
    }
    return out;
  }

  /** The member calls go to now. */
  public synchronized String current() {
    return targets.get(current);
  }

  /** The channel to the current member. */
  public synchronized Channel channel() {
    return channel(targets.get(current));
  }

  /**
   * The channel to {@code target}.
   *
   * @throws IllegalStateException when closed
   */
  public synchronized Channel channel(String target) {
    if (closed) {
      throw new IllegalStateException("client is closed");
    }
    Channel channel = channels.get(target);
    if (channel == null) {
      ManagedChannel m = open.apply(target);
      managed.put(target, m);
      channel = wrap.apply(m);
      channels.put(target, channel);
    }
    return channel;
  }

  /**
   * As {@link #channel(String)}, for a call about to be made: a channel that cannot be made (its
   * TLS files unreadable, or a certificate that does not match its key halfway through a rotation)
   * is reported as the call's failure, UNAVAILABLE naming the member and why, so the caller moves
   * on to the next member after its back-off as for one that does not answer.
   *
   * @throws StatusRuntimeException UNAVAILABLE when the channel cannot be made
   * @throws IllegalStateException when closed
   */
  synchronized Channel channelForCall(String target) {
    if (closed) {
      throw new IllegalStateException("client is closed");
    }
    try {
      return channel(target);
    } catch (RuntimeException e) {
      throw Status.UNAVAILABLE
          .withDescription("cannot open a channel to " + target + ": " + e.getMessage())
          .withCause(e)
          .asRuntimeException();
    }
  }

  /** How many members are known: those given, and those hints named. */
  public synchronized int size() {
    return targets.size();
  }

  /** Every member known, in the order they are tried. */
  public synchronized List<String> all() {
    return List.copyOf(targets);
  }

  /**
   * A member answered NOT_LEADER naming {@code leader}: calls go there from now on. Returns whether
   * it could be followed (a name never seen past the bound of known members is not).
   */
  public synchronized boolean follow(String leader) {
    int at = targets.indexOf(leader);
    if (at < 0) {
      if (targets.size() >= MAX_TARGETS) {
        return false;
      }
      targets.add(leader);
      at = targets.size() - 1;
    }
    current = at;
    return true;
  }

  /**
   * A call to {@code target} failed without naming a leader (unreachable, or a member that knows
   * none): the next member is tried, unless another call has moved on from {@code target} already.
   */
  public void failed(String target) {
    failed(target, Set.of());
  }

  /**
   * As {@link #failed(String)}, going round the members in turn from the one the last such move
   * went to (not from {@code target}, which a hint may have made current), and past those in {@code
   * skip} while any other is left.
   */
  synchronized void failed(String target, Set<String> skip) {
    if (!targets.get(current).equals(target)) {
      return;
    }
    int n = targets.size();
    int next = -1;
    for (int i = 1; i <= n && next < 0; i++) {
      int at = (probe + i) % n;
      if (!targets.get(at).equals(target) && !skip.contains(targets.get(at))) {
        next = at;
      }
    }
    if (next < 0) {
      next = (probe + 1) % n;
      if (n > 1 && targets.get(next).equals(target)) {
        next = (next + 1) % n;
      }
    }
    probe = next;
    current = next;
  }

  /**
   * Routes the next attempt after a call to {@code target} failed with {@code error}, and says when
   * to make it, from what {@code search} learned since the caller last got through (updated here):
   *
   * <ul>
   *   <li>a NOT_LEADER refusal naming another member: go there, at once unless as many hints as
   *       there are members were followed already (a ping-pong during an election), then after a
   *       back-off from {@code backoff};
   *   <li>one naming a member that did not answer: the hint is stale (survivors name a dead leader
   *       until they elect another), so as for no leader known: the next member, after a back-off;
   *   <li>one naming {@code target} itself: it leads but is not ready yet (its new epoch is being
   *       committed): the same member again, after a back-off;
   *   <li>UNAVAILABLE without a hint while other members are known: {@code target} did not answer;
   *       the next member, after a back-off;
   *   <li>{@code -1} for any other error: it is not about where the call went, so another member
   *       would not help.
   * </ul>
   */
  long afterFailure(String target, Throwable error, LeaderSearch search, Backoff backoff) {
    java.util.Optional<String> hint = NotLeader.hint(error);
    if (hint.isPresent()) {
      String leader = hint.get();
      if (leader.equals(target)) {
        return backoff.nextDelayNanos();
      }
      if (!leader.isEmpty() && !search.isUnreachable(leader) && follow(leader)) {
        return search.followedHint() < size() ? 0 : backoff.nextDelayNanos();
      }
      failed(target, search.unreachable());
      return backoff.nextDelayNanos();
    }
    if (io.grpc.Status.fromThrowable(error).getCode() == io.grpc.Status.Code.UNAVAILABLE
        && size() > 1) {
      search.unreachable(target);
      failed(target, search.unreachable());
      return backoff.nextDelayNanos();
    }
    return -1;
  }

  /** Shuts every channel down, waiting at most {@code waitMillis} in all for calls to end. */
  public void close(long waitMillis) {
    List<ManagedChannel> all;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      all = List.copyOf(managed.values());
    }
    all.forEach(ManagedChannel::shutdown);
    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(waitMillis);
    try {
      for (ManagedChannel m : all) {
        if (!m.awaitTermination(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS)) {
          m.shutdownNow();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      all.forEach(ManagedChannel::shutdownNow);
    }
  }

  /** Shuts every channel down at once. */
  @Override
  public void close() {
    close(0);
  }
}
