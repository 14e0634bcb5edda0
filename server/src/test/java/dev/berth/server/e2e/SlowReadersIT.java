package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.RevokeLeaseRequest;
import dev.berth.proto.v1.RevokeReason;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.WatchEventsRequest;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.ProcessProbe;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.NettyChannelBuilder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault test 8: the real daemon on a 96 MiB heap, a {@code WatchEvents} reader and a session reader
 * that never read (raw calls that never ask for a message, on channels with a small HTTP/2 window,
 * so the daemon's writes stall at the transport), while other workers make thousands of events a
 * second and the slow session is sent a revoke push for every lease it is granted. The daemon's
 * heap, read from outside with jcmd, stays bounded; both slow readers are dropped with
 * RESOURCE_EXHAUSTED; everyone else is served throughout.
 */
class SlowReadersIT {
  private static final int HEAP_MB = 96;
  private static final int SMALL_WINDOW = 16 * 1024;
  private static final long WATCHER_OVERFLOW_EVENTS = 40_000;

  @TempDir Path dir;

  /** A call that reads nothing until told to; remembers how it ended and what it got. */
  private static final class StalledCall<Q, R> extends ClientCall.Listener<R> {
    final ClientCall<Q, R> call;
    final AtomicInteger received = new AtomicInteger();
    final CompletableFuture<Status> closed = new CompletableFuture<>();

    StalledCall(ManagedChannel channel, io.grpc.MethodDescriptor<Q, R> method) {
      call = channel.newCall(method, CallOptions.DEFAULT);
      call.start(this, new Metadata()); // and no call.request(): nothing is read
    }

    @Override
    public void onMessage(R message) {
      received.incrementAndGet();
    }

    @Override
    public void onClose(Status status, Metadata trailers) {
      closed.complete(status);
    }

    /** Starts reading everything, as a reader that comes back; returns how the call ended. */
    Status drain() throws Exception {
      call.request(Integer.MAX_VALUE);
      return closed.get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  @Timeout(90)
  void slowWatcherAndSlowSession_smallHeap_heapBoundedBothDroppedOthersServed() throws Exception {
    try (DaemonProcess daemon =
        DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
            .jvmOptions("-Xmx" + HEAP_MB + "m")
            .flags("--session-ttl", "30s", "--render-limit", "5000")
            .start()) {
      ProcessProbe probe = new ProcessProbe(daemon.pid());
      ManagedChannel channel = daemon.channel();
      ManagedChannel slow =
          NettyChannelBuilder.forTarget(daemon.target())
              .usePlaintext()
              .flowControlWindow(SMALL_WINDOW)
              .build();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong events = new AtomicLong();
      List<Thread> load = new ArrayList<>();
      List<Throwable> failures = new ArrayList<>();
      List<LiveSession> workers = new ArrayList<>();
      try {
        StalledCall<WatchEventsRequest, BrokerEvent> watcher =
            new StalledCall<>(slow, BrokerAdminGrpc.getWatchEventsMethod());
        watcher.call.sendMessage(WatchEventsRequest.getDefaultInstance());
        watcher.call.halfClose();
        StalledCall<SessionRequest, SessionEvent> session =
            new StalledCall<>(slow, LeaseBrokerGrpc.getOpenSessionMethod());
        session.call.sendMessage(
            SessionRequest.newBuilder()
                .setHello(Hello.newBuilder().setWorkerId("slow-session"))
                .build());
        BrokerAdminGrpc.BrokerAdminBlockingStub admin = BrokerAdminGrpc.newBlockingStub(channel);
        String slowSession = awaitSession(admin, "slow-session");

        long baselineHeap = heapAfterGc(probe);
        for (int w = 0; w < 2; w++) {
          LiveSession worker = new LiveSession(channel, "busy-" + w);
          workers.add(worker);
          load.add(startLoad(channel, worker, stop, events, failures));
        }

        // Push a revoke to the slow session for every lease it gets, until it is dropped.
        LeaseBrokerGrpc.LeaseBrokerBlockingStub broker = LeaseBrokerGrpc.newBlockingStub(channel);
        long maxHeap = 0;
        int pushes = 0;
        long heartbeats = 0;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(45);
        // Enough events to overflow the watcher's window and queue many times over.
        while ((connected(admin, slowSession) || events.get() < WATCHER_OVERFLOW_EVENTS)
            && System.nanoTime() < deadline) {
          if (connected(admin, slowSession)) {
            // It still heartbeats (sending needs no reading), so only overflow can end it.
            session.call.sendMessage(
                SessionRequest.newBuilder()
                    .setHeartbeat(Heartbeat.newBuilder().setSeq(++heartbeats))
                    .build());
            for (int i = 0; i < 50; i++) {
              AcquireResponse granted =
                  broker.acquire(
                      AcquireRequest.newBuilder()
                          .setSessionId(slowSession)
                          .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                          .setUrl("https://slow" + pushes + ".example/")
                          .build());
              if (!granted.hasGranted()) {
                break; // the session was dropped meanwhile
              }
              admin.revokeLease(
                  RevokeLeaseRequest.newBuilder()
                      .setLeaseId(granted.getGranted().getLeaseId())
                      .setReason(RevokeReason.REVOKE_REASON_ADMIN)
                      .build());
              pushes++;
            }
          } else {
            Thread.sleep(200);
          }
          maxHeap = Math.max(maxHeap, probe.heapUsedBytes());
        }
        assertThat(connected(admin, slowSession))
            .as("slow session still connected after %d pushes", pushes)
            .isFalse();
        stop.set(true);
        for (Thread t : load) {
          t.join(10_000);
        }
        assertThat(failures).as("the busy workers were served throughout").isEmpty();
        long liveHeap = heapAfterGc(probe);

        Status watcherStatus = watcher.drain();
        Status sessionStatus = session.drain();
        System.out.printf(
            "SlowReadersIT: %d events generated, %d revoke pushes; watcher got %d events then %s;"
                + " session got %d events then %s; heap (of %d MiB): baseline %.1f MiB live,"
                + " max %.1f MiB used, after %.1f MiB live%n",
            events.get(),
            pushes,
            watcher.received.get(),
            watcherStatus,
            session.received.get(),
            sessionStatus,
            HEAP_MB,
            baselineHeap / 1048576.0,
            maxHeap / 1048576.0,
            liveHeap / 1048576.0);

        assertThat(watcherStatus.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(watcherStatus.getDescription()).contains("watcher too slow");
        assertThat((long) watcher.received.get()).isLessThan(events.get());
        assertThat(sessionStatus.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(sessionStatus.getDescription()).contains("session stream not read");
        assertThat(session.received.get()).isLessThan(pushes);
        // Bounded: what stays live after the readers are gone is near where it started, and the
        // daemon never came near its heap limit while they were stalled.
        assertThat(liveHeap).isLessThan(baselineHeap + 16L * 1048576);
        assertThat(maxHeap).isLessThan(HEAP_MB * 1048576L * 9 / 10);
        assertThat(daemon.logText()).doesNotContain("OutOfMemoryError");

        assertThat(
                HealthGrpc.newBlockingStub(channel)
                    .check(HealthCheckRequest.getDefaultInstance())
                    .getStatus())
            .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
        AcquireResponse after = workers.get(0).acquireRender("https://after.example/", 0);
        assertThat(after.hasGranted()).as("served after: %s", after).isTrue();
      } finally {
        stop.set(true);
        workers.forEach(LiveSession::close);
        slow.shutdownNow();
        channel.shutdownNow();
      }
    }
  }

  /** Acquire and release in a loop on {@code worker}'s session: two events per round. */
  private static Thread startLoad(
      ManagedChannel channel,
      LiveSession worker,
      AtomicBoolean stop,
      AtomicLong events,
      List<Throwable> failures) {
    Thread t =
        new Thread(
            () -> {
              LeaseBrokerGrpc.LeaseBrokerBlockingStub stub =
                  LeaseBrokerGrpc.newBlockingStub(channel);
              try {
                for (long i = 0; !stop.get(); i++) {
                  AcquireResponse granted =
                      stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                          .acquire(
                              AcquireRequest.newBuilder()
                                  .setSessionId(worker.id())
                                  .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                                  .setUrl("https://busy" + i + ".example/")
                                  .build());
                  if (!granted.hasGranted()) {
                    throw new AssertionError("refused: " + granted);
                  }
                  stub.withDeadlineAfter(10, TimeUnit.SECONDS)
                      .release(
                          ReleaseRequest.newBuilder()
                              .setSessionId(worker.id())
                              .setLeaseId(granted.getGranted().getLeaseId())
                              .build());
                  events.addAndGet(2);
                }
              } catch (Throwable e) {
                synchronized (failures) {
                  failures.add(e);
                }
              }
            },
            "busy-worker");
    t.start();
    return t;
  }

  private static long heapAfterGc(ProcessProbe probe) throws Exception {
    probe.gc();
    return probe.heapUsedBytes();
  }

  private static boolean connected(BrokerAdminGrpc.BrokerAdminBlockingStub admin, String id) {
    return admin
        .listSessions(ListSessionsRequest.newBuilder().setWorkerId("slow-session").build())
        .getSessionsList()
        .stream()
        .anyMatch(s -> s.getSessionId().equals(id) && s.getConnected());
  }

  private static String awaitSession(BrokerAdminGrpc.BrokerAdminBlockingStub admin, String worker)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (System.nanoTime() < deadline) {
      List<SessionInfo> sessions =
          admin
              .listSessions(ListSessionsRequest.newBuilder().setWorkerId(worker).build())
              .getSessionsList();
      if (!sessions.isEmpty()) {
        return sessions.get(0).getSessionId();
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no session of " + worker + " within 10 s");
  }

  /**
   * Clients that open connections to the metrics listener and send half a request head hold its
   * threads only until the head's time limit (10 s): a scrape that waits behind them is served.
   */
  @Test
  @Timeout(90)
  void halfRequestsOnTheMetricsListener_closedAfterTheHeadLimit_scrapeServed() throws Exception {
    int metricsPort = DaemonProcess.freePort();
    try (DaemonProcess daemon =
        DaemonProcess.newBuilder(dir.resolve("state"), dir.resolve("daemon.log"))
            .metricsListen("127.0.0.1:" + metricsPort)
            .start()) {
      assertThat(daemon.isAlive()).isTrue();
      List<java.net.Socket> stalled = new ArrayList<>();
      try {
        // More than the listener's threads (dashboard.max_streams + 4 = 12): every thread is
        // taken by a request whose head never ends, and the scrape waits in the queue.
        for (int i = 0; i < 14; i++) {
          java.net.Socket socket =
              new java.net.Socket(
                  java.net.InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), metricsPort);
          socket
              .getOutputStream()
              .write("GET /metrics HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
          stalled.add(socket);
        }
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        long start = System.nanoTime();
        java.net.http.HttpResponse<String> scrape =
            http.send(
                java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics"))
                    .timeout(java.time.Duration.ofSeconds(40))
                    .build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());

        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.body()).contains("berth_");
        assertThat(java.time.Duration.ofNanos(System.nanoTime() - start))
            .isLessThan(java.time.Duration.ofSeconds(30));
      } finally {
        for (java.net.Socket socket : stalled) {
          socket.close();
        }
      }
    }
  }
}
