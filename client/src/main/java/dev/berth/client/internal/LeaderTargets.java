package dev.berth.client.internal;

import com.google.common.net.HostAndPort;
import com.google.common.net.InetAddresses;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Channel;
import io.grpc.ManagedChannel;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * The brokers a client may call and the one it calls now: one broker, or the members of a cluster,
 * of which only the leader serves. Calls go to the {@linkplain #current() current} member; a
 * follower's NOT_LEADER hint makes the member it names current ({@link #follow}), and a failure
 * without a hint moves on to the next member ({@link #failed}). One channel per member, made when
 * first used and shut down by {@link #close}.
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
   * none): the next member is tried, unless another call has moved on from it already.
   */
  public synchronized void failed(String target) {
    if (targets.get(current).equals(target)) {
      current = (current + 1) % targets.size();
    }
  }

  /**
   * Routes the next attempt after a call to {@code target} failed with {@code error}, and says when
   * to make it: {@code 0} at once, to the leader a NOT_LEADER refusal named (unless {@code
   * hintsFollowed} hints in a row have led nowhere); a back-off from {@code backoff} when a member
   * knows no leader, or cannot be reached while others are known (the next member is tried then);
   * {@code -1} when the error is not about where the call went, so another member would not help.
   */
  long afterFailure(String target, Throwable error, int hintsFollowed, Backoff backoff) {
    java.util.Optional<String> hint = NotLeader.hint(error);
    if (hint.isPresent()) {
      String leader = hint.get();
      if (leader.isEmpty() || leader.equals(target) || !follow(leader)) {
        failed(target);
      } else if (hintsFollowed < size()) {
        return 0;
      }
      return backoff.nextDelayNanos();
    }
    if (io.grpc.Status.fromThrowable(error).getCode() == io.grpc.Status.Code.UNAVAILABLE
        && size() > 1) {
      failed(target);
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
