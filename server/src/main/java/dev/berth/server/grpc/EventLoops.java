package dev.berth.server.grpc;

import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A listener's own Netty event loops, for {@code transport.event_loops}: one thread accepting
 * connections and {@code n} running them, on epoll where Netty's native transport loads (as
 * grpc-netty's shared default would) and NIO elsewhere. grpc-netty takes groups it is given as
 * borrowed, so the server that made them closes them after it has terminated.
 */
final class EventLoops implements AutoCloseable {
  /** How the threads running connections are named: {@code berth-event-loop-<pool>-<n>}. */
  static final String THREAD_PREFIX = "berth-event-loop";

  /** How the thread accepting connections is named. */
  static final String ACCEPT_PREFIX = "berth-accept";

  private static final Logger log = LoggerFactory.getLogger(EventLoops.class);

  private final EventLoopGroup boss;
  private final EventLoopGroup workers;
  private final Class<? extends ServerChannel> channel;

  private EventLoops(
      EventLoopGroup boss, EventLoopGroup workers, Class<? extends ServerChannel> channel) {
    this.boss = boss;
    this.workers = workers;
    this.channel = channel;
  }

  /** One accepting thread and {@code n} event loops (n at least 1). */
  static EventLoops of(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("event loops must be at least 1, got " + n);
    }
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    return new EventLoops(
        new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory(ACCEPT_PREFIX, true), io),
        new MultiThreadIoEventLoopGroup(n, new DefaultThreadFactory(THREAD_PREFIX, true), io),
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class);
  }

  /** Runs {@code builder}'s listener on these loops. */
  void configure(NettyServerBuilder builder) {
    builder.bossEventLoopGroup(boss).workerEventLoopGroup(workers).channelType(channel);
  }

  /**
   * Stops the threads, waiting at most a few seconds for them to end: the server using them has
   * terminated (or never started), so no quiet period is needed.
   */
  @Override
  public void close() {
    Future<?> accepting = boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    Future<?> running = workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    if (!accepting.awaitUninterruptibly(5, TimeUnit.SECONDS)
        || !running.awaitUninterruptibly(5, TimeUnit.SECONDS)) {
      log.warn("the listener's event loops did not stop within 5 s");
    }
  }
}
