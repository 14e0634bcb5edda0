package dev.berth.server.grpc;

import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.WasmInstanceStats;
import dev.berth.server.broker.Broker;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.session.SessionChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

/**
 * One {@code OpenSession} stream: reads hello, heartbeats, acks and goodbye from the worker, and is
 * the {@link SessionChannel} through which the broker pushes to it.
 *
 * <p>Outbound events go through an {@link OutboundQueue}: when the transport is not ready they
 * queue, a newer heartbeat ack replaces an unsent older one, and a worker that stops reading
 * altogether (more than {@link Limits#maxPendingEvents} queued) has its stream closed
 * RESOURCE_EXHAUSTED rather than growing the broker's heap. The session itself survives that until
 * its TTL, like any dropped stream.
 *
 * <p>Thread-safe: inbound messages arrive serially from gRPC; pushes may come from any thread.
 */
final class SessionStream implements StreamObserver<SessionRequest>, SessionChannel {
  /** The largest memory figure a worker may report, in MB (2^30 MB = 1 PiB). */
  private static final long MAX_MEMORY_MB = 1L << 30;

  /**
   * Per-stream bounds.
   *
   * @param maxPendingEvents outbound events queued for a reader that is not reading
   */
  record Limits(int maxPendingEvents) {
    static final Limits DEFAULT = new Limits(256);
  }

  private final Broker broker;
  private final Protos protos;
  private final String principal;
  private final Consumer<SessionStream> onTerminated;
  private final OutboundQueue<SessionEvent> out;

  /** Set once hello succeeds; read by any thread. */
  private volatile String sessionId;

  // Heartbeat throttling; touched only by the inbound thread (gRPC delivers messages serially).
  private long minHeartbeatGapNanos;
  private long lastForwardedNanos;
  private long lastSeq = -1;
  private PressureLevel lastPressure = PressureLevel.NONE;
  private long lastUsedMb = -1;
  private long lastLimitMb = -1;
  private List<WasmInstanceStats> lastWasmStats = List.of();

  SessionStream(
      Broker broker,
      Protos protos,
      ServerCallStreamObserver<SessionEvent> out,
      String principal,
      Limits limits,
      Consumer<SessionStream> onTerminated) {
    this.broker = broker;
    this.protos = protos;
    this.principal = principal;
    this.onTerminated = onTerminated;
    this.out =
        new OutboundQueue<>(
            out,
            limits.maxPendingEvents(),
            // Only the newest ack matters to a worker that is behind.
            (queued, next) -> queued.hasHeartbeatAck() && next.hasHeartbeatAck(),
            "session stream not read: more than "
                + limits.maxPendingEvents()
                + " events pending; reconnect and resume the session",
            this::ended);
  }

  // ------------------------------------------------------------ inbound

  @Override
  public void onNext(SessionRequest request) {
    try {
      switch (request.getMsgCase()) {
        case HELLO -> hello(request.getHello());
        case HEARTBEAT -> heartbeat(request.getHeartbeat());
        case ACK -> broker.ack(requireSession("ack"), this, request.getAck().getCommandId());
        case GOODBYE -> broker.goodbye(requireSession("goodbye"), this);
        case ACQUIRE, RELEASE, ACQUIRE_BUNDLE ->
            throw BrokerException.invalid(
                "msg", "leases on the session stream are not served yet; use the unary calls");
        case MSG_NOT_SET -> throw BrokerException.invalid("msg", "empty SessionRequest");
      }
    } catch (RuntimeException e) {
      fail(Errors.toStatus(e));
    }
  }

  private void hello(Hello hello) {
    if (sessionId != null) {
      throw BrokerException.invalid("hello", "sent twice on one stream");
    }
    Broker.Opened opened = broker.open(Protos.helloSpec(hello), principal, this);
    sessionId = opened.sessionId();
    Duration heartbeat = broker.config().heartbeatInterval();
    minHeartbeatGapNanos = heartbeat.toNanos() / 4;
    lastForwardedNanos = protos.time().nanoTime() - minHeartbeatGapNanos; // forward the first
    send(Protos.opened(opened, heartbeat, broker.config().sessionTtl()));
  }

  private void heartbeat(Heartbeat heartbeat) {
    String id = requireSession("heartbeat");
    if (heartbeat.getSeq() < 0 || heartbeat.getSeq() == Long.MAX_VALUE) {
      throw BrokerException.invalid("heartbeat.seq", "out of range");
    }
    requireMemory("heartbeat.memory_used_mb", heartbeat.getMemoryUsedMb());
    requireMemory("heartbeat.memory_limit_mb", heartbeat.getMemoryLimitMb());
    long now = protos.time().nanoTime();
    PressureLevel pressure;
    boolean nothingNew =
        heartbeat.getMemoryUsedMb() == lastUsedMb
            && heartbeat.getMemoryLimitMb() == lastLimitMb
            && heartbeat.getWasmStatsList().equals(lastWasmStats);
    if (nothingNew && now - lastForwardedNanos < minHeartbeatGapNanos) {
      // Faster than a quarter of the interval with nothing new to say: answered, but it costs
      // the broker nothing. A changed memory or WASM usage report always goes through.
      if (heartbeat.getSeq() <= lastSeq) {
        throw BrokerException.invalid(
            "heartbeat.seq", "must increase, got " + heartbeat.getSeq() + " after " + lastSeq);
      }
      pressure = lastPressure;
    } else {
      pressure =
          broker.heartbeat(
              id,
              this,
              heartbeat.getSeq(),
              heartbeat.getMemoryUsedMb(),
              heartbeat.getMemoryLimitMb(),
              Protos.wasmStats(heartbeat));
      lastForwardedNanos = now;
      lastPressure = pressure;
      lastUsedMb = heartbeat.getMemoryUsedMb();
      lastLimitMb = heartbeat.getMemoryLimitMb();
      lastWasmStats = heartbeat.getWasmStatsList();
    }
    lastSeq = heartbeat.getSeq();
    send(Protos.heartbeatAck(heartbeat.getSeq(), pressure));
  }

  private static void requireMemory(String field, long mb) {
    if (mb < 0 || mb > MAX_MEMORY_MB) {
      throw BrokerException.invalid(field, "must be 0.." + MAX_MEMORY_MB + " (1 PiB)");
    }
  }

  private String requireSession(String what) {
    String id = sessionId;
    if (id == null) {
      throw BrokerException.invalid(what, "the first message of a session stream must be hello");
    }
    return id;
  }

  @Override
  public void onError(Throwable t) {
    // The worker went away (cancelled, connection lost). The session outlives the stream.
    disconnected();
  }

  @Override
  public void onCompleted() {
    // Half-close without goodbye: the worker is done with this stream, not with its session.
    disconnected();
    out.close(Status.OK);
  }

  /**
   * The stream ended: a worker that went away or stopped reading keeps its session until the TTL,
   * detached; the stream is forgotten either way.
   */
  private void ended(OutboundQueue.End how) {
    if (how != OutboundQueue.End.CLOSED) {
      disconnected();
    }
    onTerminated.accept(this);
  }

  /** Ends the stream with {@code status} whatever its state, e.g. at shutdown. */
  void terminate(StatusRuntimeException error) {
    out.close(error.getStatus(), error.getTrailers());
  }

  private void disconnected() {
    String id = sessionId;
    if (id != null) {
      broker.detach(id, this);
    }
  }

  // ------------------------------------------------------------ outbound (SessionChannel)

  @Override
  public void revoke(long commandId, String leaseId, RevokeReason reason, long graceNanos) {
    send(Protos.revoke(commandId, leaseId, reason, graceNanos));
  }

  @Override
  public void cleanup(long commandId, long targetFreeMb, String reason) {
    send(Protos.cleanup(commandId, targetFreeMb, reason));
  }

  @Override
  public void drain(long commandId, Instant deadline) {
    send(Protos.drain(commandId, deadline));
  }

  @Override
  public void close(CloseReason why, String detail) {
    switch (why) {
      case GOODBYE -> out.close(Status.OK);
      case EXPIRED -> out.close(Status.NOT_FOUND.withDescription(detail));
      case REPLACED -> out.close(Status.ABORTED.withDescription(detail));
      case SHUTDOWN -> out.close(Status.UNAVAILABLE.withDescription(detail));
    }
  }

  /** Closes the stream for a protocol fault; the session itself is left to its TTL. */
  private void fail(StatusRuntimeException error) {
    disconnected();
    out.close(error.getStatus());
  }

  private void send(SessionEvent event) {
    out.offer(event);
  }
}
