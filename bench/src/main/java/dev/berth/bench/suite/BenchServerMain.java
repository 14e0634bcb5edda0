package dev.berth.bench.suite;

import ch.qos.logback.classic.Level;
import dev.berth.bench.proto.PingGrpc;
import dev.berth.bench.proto.PingRequest;
import dev.berth.bench.proto.PingResponse;
import dev.berth.proto.v1.HeartbeatAck;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.Daemon;
import dev.berth.server.config.BerthConfig;
import dev.berth.server.config.ConfigSources;
import dev.berth.server.config.Flag;
import io.grpc.Server;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server under test, run by the suite as its own process so its CPU time and heap are its own:
 *
 * <ul>
 *   <li>{@code berth --key value ...}: the real daemon ({@link Daemon}, configured from the flags
 *       as {@code berth serve} is) with the no-op {@code Ping} service on the same listener;
 *   <li>{@code bare}: a plain grpc-java server holding {@code OpenSession} streams that only answer
 *       hello and heartbeats (the G5 baseline), plus {@code Ping}.
 * </ul>
 *
 * <p>It prints {@code PORT n} once listening, then reads commands from stdin: {@code heap} runs a
 * full GC and prints {@code HEAP bytes} (heap in use after it). EOF on stdin stops it.
 */
public final class BenchServerMain {
  private BenchServerMain() {}

  public static void main(String[] args) throws Exception {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME))
        .setLevel(Level.WARN);
    if (args.length == 0 || !(args[0].equals("berth") || args[0].equals("bare"))) {
      System.err.println("usage: BenchServerMain berth [--key value ...] | bare");
      System.exit(2);
    }
    Runnable stop;
    int port;
    if (args[0].equals("berth")) {
      List<Flag> flags = new ArrayList<>();
      for (int i = 1; i + 1 < args.length; i += 2) {
        if (!args[i].startsWith("--")) {
          throw new IllegalArgumentException("expected --key, got " + args[i]);
        }
        flags.add(new Flag(args[i], args[i + 1]));
      }
      ConfigSources sources = ConfigSources.of(null, Map::of, flags);
      BerthConfig config = sources.load();
      Daemon daemon =
          Daemon.start(
              config,
              sources,
              settings -> {},
              options ->
                  options.withExtraServices(List.of(new PingService(), ShapedPing::service)));
      port = daemon.port();
      stop = daemon::close;
    } else {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
              .maxConcurrentCallsPerConnection(Integer.MAX_VALUE)
              .addService(new PingService())
              .addService(new BareSessions())
              .build()
              .start();
      port = server.getPort();
      stop = server::shutdownNow;
    }
    System.out.println("PORT " + port);
    System.out.flush();
    commands();
    stop.run();
    System.exit(0);
  }

  private static void commands() throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.trim().equals("heap")) {
        System.out.println("HEAP " + heapAfterFullGc());
        System.out.flush();
      }
    }
  }

  /**
   * Heap in use after full collections. {@code System.gc()} is a full, stop-the-world collection
   * under G1 (as {@code jcmd GC.run} is); twice, so objects freed by finalization-like cleaners in
   * the first are gone in the second.
   */
  static long heapAfterFullGc() {
    System.gc();
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** The baseline RPC: answers at once with an empty message. */
  static final class PingService extends PingGrpc.PingImplBase {
    private static final PingResponse PONG = PingResponse.getDefaultInstance();

    @Override
    public void ping(PingRequest request, StreamObserver<PingResponse> response) {
      response.onNext(PONG);
      response.onCompleted();
    }
  }

  /**
   * The least a server can do per session stream: answer hello with an id and each heartbeat with
   * an ack. What Berth's per-session memory is compared with.
   */
  static final class BareSessions extends LeaseBrokerGrpc.LeaseBrokerImplBase {
    private final AtomicLong ids = new AtomicLong();

    @Override
    public StreamObserver<SessionRequest> openSession(StreamObserver<SessionEvent> events) {
      return new StreamObserver<>() {
        @Override
        public void onNext(SessionRequest request) {
          switch (request.getMsgCase()) {
            case HELLO ->
                events.onNext(
                    SessionEvent.newBuilder()
                        .setOpened(Opened.newBuilder().setSessionId("s-" + ids.incrementAndGet()))
                        .build());
            case HEARTBEAT ->
                events.onNext(
                    SessionEvent.newBuilder()
                        .setHeartbeatAck(
                            HeartbeatAck.newBuilder().setSeq(request.getHeartbeat().getSeq()))
                        .build());
            default -> {}
          }
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {
          events.onCompleted();
        }
      };
    }
  }
}
