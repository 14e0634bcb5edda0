package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.config.Policy;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.time.FakeTimeSource;
import dev.berth.server.wasm.ModuleRegistry;
import dev.berth.testkit.RawBytes;
import io.grpc.CallOptions;
import io.grpc.ForwardingServerCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A malformed frame arrives on a session stream while another thread is writing a revoke to that
 * stream: the guard must end the service's side (which waits for the write under the outbound
 * queue's lock) before it closes the call, so no write ever meets a closed call (commit 8c7c49f).
 *
 * <p>Made exact with two threads and no timing: the writer stops inside its write, holding the
 * queue's lock, and goes on only when the inbound thread has either closed the call (the bug: the
 * write then meets a closed call) or is blocked on that lock (the fix: the stream ends after the
 * write). The in-process transport runs the inbound side on the test's thread.
 */
class RequestGuardRaceTest {
  private static final byte[] GARBAGE = {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x00, 0x07};

  /** A bound on each wait for the other thread; it never paces the test. */
  private static final long WAIT_SECONDS = 30;

  private final FakeTimeSource time = new FakeTimeSource();
  private final WriteStop stop = new WriteStop();
  private Broker broker;
  private BrokerServer server;
  private ManagedChannel channel;

  /**
   * Watches every OpenSession call from inside the server's interceptors: the call the guard and
   * the session stream both hold. When armed, the next revoke written waits inside the write.
   */
  private static final class WriteStop implements ServerInterceptor {
    final CountDownLatch writing = new CountDownLatch(1);
    final AtomicReference<String> outcome = new AtomicReference<>();
    volatile boolean armed;
    volatile boolean closeCalled;
    volatile Thread inbound;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(
        ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
      if (!call.getMethodDescriptor()
          .getFullMethodName()
          .equals(LeaseBrokerGrpc.getOpenSessionMethod().getFullMethodName())) {
        return next.startCall(call, headers);
      }
      return next.startCall(
          new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void sendMessage(R message) {
              if (armed && message instanceof SessionEvent e && e.hasRevoke()) {
                armed = false;
                writing.countDown();
                awaitCloseOrInboundBlockedOnTheQueue();
                if (closeCalled) {
                  outcome.set("written after the call was closed");
                  return; // grpc-java would throw IllegalStateException: call is closed
                }
                outcome.set("written before the call was closed");
              }
              super.sendMessage(message);
            }

            @Override
            public void close(Status status, Metadata trailers) {
              closeCalled = true;
              super.close(status, trailers);
            }
          },
          headers);
    }

    private void awaitCloseOrInboundBlockedOnTheQueue() {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
      while (!closeCalled && !blockedOnTheQueue(inbound)) {
        if (System.nanoTime() > deadline) {
          outcome.set("the inbound thread neither closed the call nor waited for the write");
          return;
        }
        Thread.onSpinWait();
      }
    }

    private static boolean blockedOnTheQueue(Thread thread) {
      ThreadInfo info = ManagementFactory.getThreadMXBean().getThreadInfo(thread.getId());
      return info != null
          && info.getThreadState() == Thread.State.BLOCKED
          && String.valueOf(info.getLockName()).startsWith(OutboundQueue.class.getName() + "@");
    }
  }

  @AfterEach
  void tearDown() throws InterruptedException {
    channel.shutdownNow();
    server.close();
    broker.close();
    channel.awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void malformedFrameWhileARevokeIsBeingWritten_theWriteEndsBeforeTheCallIsClosed()
      throws Exception {
    broker =
        new Broker(
            Policy.of(InProcessBroker.config().build()),
            time,
            1,
            () -> 2,
            LeaseIds.seeded(7),
            HeapProbe.NONE,
            ModuleRegistry.empty());
    String name = InProcessServerBuilder.generateName();
    server =
        new BrokerServer(
                broker,
                time,
                InProcessServerBuilder.forName(name).directExecutor().intercept(stop),
                null,
                BrokerServer.Options.DEFAULT)
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    RawBytes.Call worker =
        RawBytes.start(
            channel,
            RawBytes.of(LeaseBrokerGrpc.getOpenSessionMethod()),
            CallOptions.DEFAULT,
            List.of(hello(), acquire()));
    String lease = broker.leases().get(0).id();
    stop.inbound = Thread.currentThread();
    stop.armed = true;

    Thread writer =
        new Thread(() -> broker.revoke(lease, RevokeReason.ADMIN, Duration.ZERO), "writer");
    writer.setDaemon(true);
    writer.start();
    assertThat(stop.writing.await(WAIT_SECONDS, TimeUnit.SECONDS))
        .as("the revoke is being written")
        .isTrue();
    worker.call().sendMessage(GARBAGE); // the guard refuses it on this thread
    writer.join(TimeUnit.SECONDS.toMillis(WAIT_SECONDS));

    assertThat(writer.isAlive()).isFalse();
    assertThat(stop.outcome.get()).isEqualTo("written before the call was closed");
    Status closed = worker.closed().get(WAIT_SECONDS, TimeUnit.SECONDS);
    assertThat(closed.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  private static byte[] hello() {
    return SessionRequest.newBuilder()
        .setHello(Hello.newBuilder().setWorkerId("sloppy"))
        .build()
        .toByteArray();
  }

  private static byte[] acquire() {
    return InProcessBroker.pdfOnStream(1, Duration.ZERO, "").toByteArray();
  }
}
