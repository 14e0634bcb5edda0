package dev.berth.server.grpc;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.WatchEventsRequest;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.BrokerException;
import dev.berth.server.broker.BrokerListener;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.memory.PressureLevel;
import dev.berth.server.metrics.StreamDrops;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.time.TimeSource;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayDeque;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Fans broker events out to {@code WatchEvents} streams. Each watcher has a bounded queue that
 * drains as its transport becomes ready; a watcher that falls more than {@link #MAX_PENDING} events
 * behind is dropped with RESOURCE_EXHAUSTED, so a slow reader never grows the heap. With no
 * watchers, an event costs one volatile read.
 *
 * <p>Thread-safe.
 */
final class EventHub implements BrokerListener {
  static final int MAX_PENDING = 4096;

  private final TimeSource time;
  private final Protos protos;
  private final StreamDrops drops;
  private final CopyOnWriteArrayList<Watcher> watchers = new CopyOnWriteArrayList<>();

  EventHub(TimeSource time, Protos protos) {
    this(time, protos, StreamDrops.NONE);
  }

  /** As {@link #EventHub(TimeSource, Protos)}, counting dropped watchers in {@code drops}. */
  EventHub(TimeSource time, Protos protos, StreamDrops drops) {
    this.time = time;
    this.protos = protos;
    this.drops = drops;
  }

  /** Registers a watcher for the call's lifetime. */
  void watch(WatchEventsRequest request, StreamObserver<BrokerEvent> responses) {
    Set<BrokerEventType> types = EnumSet.noneOf(BrokerEventType.class);
    for (BrokerEventType type : request.getTypesList()) {
      if (type == BrokerEventType.BROKER_EVENT_TYPE_UNSPECIFIED
          || type == BrokerEventType.UNRECOGNIZED) {
        throw BrokerException.invalid("types", "must list known event types only");
      }
      types.add(type);
    }
    Watcher watcher =
        new Watcher((ServerCallStreamObserver<BrokerEvent>) responses, types, MAX_PENDING);
    watchers.add(watcher);
  }

  /** Watchers connected now. */
  int watchers() {
    return watchers.size();
  }

  /** Ends every watch stream, e.g. at shutdown. */
  void closeAll(Status status) {
    for (Watcher watcher : watchers) {
      watcher.close(status);
    }
  }

  private boolean quiet() {
    return watchers.isEmpty();
  }

  private void publish(BrokerEvent.Builder event) {
    BrokerEvent built = event.setAt(Protos.timestamp(time.wallTime())).build();
    for (Watcher watcher : watchers) {
      watcher.offer(built);
    }
  }

  @Override
  public void granted(Lease lease, String workerId) {
    if (quiet()) {
      return;
    }
    publish(
        BrokerEvent.newBuilder()
            .setType(BrokerEventType.BROKER_EVENT_TYPE_GRANTED)
            .setSessionId(lease.sessionId())
            .setWorkerId(workerId)
            .setLease(protos.lease(lease)));
  }

  @Override
  public void refused(AcquireSpec spec, Decision.Refused refusal) {
    if (quiet()) {
      return;
    }
    publish(
        BrokerEvent.newBuilder()
            .setType(BrokerEventType.BROKER_EVENT_TYPE_REFUSED)
            .setSessionId(spec.sessionId())
            .setRefusal(Protos.refusal(refusal))
            .setDetail(spec.kind() + (spec.host().isEmpty() ? "" : " " + spec.host())));
  }

  @Override
  public void ended(Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome) {
    if (quiet()) {
      return;
    }
    BrokerEventType type =
        switch (how) {
          case RELEASED, SESSION_CLOSED -> BrokerEventType.BROKER_EVENT_TYPE_RELEASED;
          case SESSION_EXPIRED, MAX_HOLD -> BrokerEventType.BROKER_EVENT_TYPE_EXPIRED;
          case REVOKED -> BrokerEventType.BROKER_EVENT_TYPE_REVOKED;
        };
    publish(
        BrokerEvent.newBuilder()
            .setType(type)
            .setSessionId(lease.sessionId())
            .setLease(protos.lease(lease))
            .setEndedBy(Protos.end(how))
            .setRevokeReason(Protos.revokeReason(revokeReason))
            .setDetail(outcome.error()));
  }

  @Override
  public void sessionOpened(String sessionId, String workerId, boolean resumed) {
    if (quiet()) {
      return;
    }
    publish(
        BrokerEvent.newBuilder()
            .setType(
                resumed
                    ? BrokerEventType.BROKER_EVENT_TYPE_SESSION_RESUMED
                    : BrokerEventType.BROKER_EVENT_TYPE_SESSION_OPENED)
            .setSessionId(sessionId)
            .setWorkerId(workerId));
  }

  @Override
  public void sessionEnded(String sessionId, String workerId, boolean expired) {
    if (quiet()) {
      return;
    }
    publish(
        BrokerEvent.newBuilder()
            .setType(
                expired
                    ? BrokerEventType.BROKER_EVENT_TYPE_SESSION_EXPIRED
                    : BrokerEventType.BROKER_EVENT_TYPE_SESSION_CLOSED)
            .setSessionId(sessionId)
            .setWorkerId(workerId));
  }

  @Override
  public void pressureChanged(PressureChange change) {
    if (quiet()) {
      return;
    }
    if (change.from() != change.to()) {
      publish(
          BrokerEvent.newBuilder()
              .setType(
                  change.to() == PressureLevel.NONE
                      ? BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_OFF
                      : BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_ON)
              .setPressure(Protos.pressure(change.to()))
              // The trigger names its source: "fleet 3500/4000 MB ..." or "broker heap ...".
              .setDetail(change.trigger()));
    }
    for (PressureChange.Worker worker : change.workers()) {
      publish(
          BrokerEvent.newBuilder()
              .setType(
                  worker.to() == PressureLevel.NONE
                      ? BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_OFF
                      : BrokerEventType.BROKER_EVENT_TYPE_PRESSURE_ON)
              .setSessionId(worker.sessionId())
              .setWorkerId(worker.workerId())
              .setPressure(Protos.pressure(worker.to()))
              .setDetail(worker.trigger()));
    }
  }

  @Override
  public void limitChanged(LimitChange change) {
    if (quiet()) {
      return;
    }
    publish(
        BrokerEvent.newBuilder()
            .setType(BrokerEventType.BROKER_EVENT_TYPE_LIMITS_UPDATED)
            .setDetail(
                change.kind()
                    + " effective limit "
                    + change.from()
                    + " -> "
                    + change.to()
                    + ": "
                    + change.reason()));
  }

  /** An operator changed limits. */
  void limitsUpdated(String detail) {
    if (quiet()) {
      return;
    }
    publish(
        BrokerEvent.newBuilder()
            .setType(BrokerEventType.BROKER_EVENT_TYPE_LIMITS_UPDATED)
            .setDetail(detail));
  }

  /** One watch stream with its own bounded, flow-controlled queue. */
  private final class Watcher {
    private final ServerCallStreamObserver<BrokerEvent> out;
    private final Set<BrokerEventType> types;
    private final int maxPending;

    @GuardedBy("this")
    private final ArrayDeque<BrokerEvent> pending = new ArrayDeque<>();

    @GuardedBy("this")
    private boolean closed;

    Watcher(ServerCallStreamObserver<BrokerEvent> out, Set<BrokerEventType> types, int maxPending) {
      this.out = out;
      this.types = types;
      this.maxPending = maxPending;
      out.setOnReadyHandler(this::flush);
      out.setOnCancelHandler(
          () -> {
            synchronized (this) {
              closed = true;
              pending.clear();
            }
            watchers.remove(this);
          });
    }

    void offer(BrokerEvent event) {
      if (!types.isEmpty() && !types.contains(event.getType())) {
        return;
      }
      boolean overflow;
      synchronized (this) {
        if (closed) {
          return;
        }
        if (pending.isEmpty() && out.isReady()) {
          out.onNext(event);
          return;
        }
        pending.add(event);
        overflow = pending.size() > maxPending;
      }
      if (overflow) {
        drops.dropped(StreamDrops.Stream.WATCH);
        close(
            Status.RESOURCE_EXHAUSTED.withDescription(
                "watcher too slow: more than " + maxPending + " events pending; dropped"));
      }
    }

    synchronized void flush() {
      while (!closed && !pending.isEmpty() && out.isReady()) {
        out.onNext(pending.poll());
      }
    }

    void close(Status status) {
      synchronized (this) {
        if (closed) {
          return;
        }
        closed = true;
        pending.clear();
        if (status.isOk()) {
          out.onCompleted();
        } else {
          out.onError(status.asRuntimeException());
        }
      }
      watchers.remove(this);
    }
  }
}
