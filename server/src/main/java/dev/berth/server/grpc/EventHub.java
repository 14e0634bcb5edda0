package dev.berth.server.grpc;

import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.WatchEventsRequest;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.Decision;
import dev.berth.server.broker.BrokerListener;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.LeaseEnd;
import dev.berth.server.lease.Outcome;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.PressureChange;
import dev.berth.server.metrics.StreamDrops;
import dev.berth.server.performance.LimitChange;
import dev.berth.server.time.TimeSource;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Fans broker events out to {@code WatchEvents} streams. Each watcher has a bounded {@link
 * OutboundQueue} that drains as its transport becomes ready; a watcher that falls more than {@link
 * #MAX_PENDING} events behind is dropped with RESOURCE_EXHAUSTED, so a slow reader never grows the
 * heap. With no watchers, an event costs one volatile read.
 *
 * <p>Thread-safe.
 */
final class EventHub implements BrokerListener {
  static final int MAX_PENDING = 4096;

  /**
   * Watch streams at once. Every event is copied to every watcher on the broker's event path, and
   * each may hold {@link #MAX_PENDING} events: a leaked {@code berth watch} or {@code top} per
   * operator is fine, thousands are not.
   */
  static final int MAX_WATCHERS = 64;

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
    for (int i = 0; i < request.getTypesCount(); i++) {
      BrokerEventType type = request.getTypes(i);
      if (type == BrokerEventType.BROKER_EVENT_TYPE_UNSPECIFIED
          || type == BrokerEventType.UNRECOGNIZED) {
        throw BrokerException.invalid(
            "types",
            "must list known event types only; entry "
                + i
                + " is "
                + (type == BrokerEventType.UNRECOGNIZED
                    ? "the unknown value " + request.getTypesValue(i)
                    : type.name()));
      }
      types.add(type);
    }
    synchronized (this) {
      if (watchers.size() >= MAX_WATCHERS) {
        throw new BrokerException(
            BrokerException.Code.RESOURCE_EXHAUSTED,
            "too many watchers: "
                + MAX_WATCHERS
                + " WatchEvents streams are open on this broker; close one (a forgotten berth"
                + " watch or top) and try again");
      }
      Watcher watcher =
          new Watcher((ServerCallStreamObserver<BrokerEvent>) responses, types, MAX_PENDING);
      watchers.add(watcher);
    }
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
  public void granted(Lease lease, String workerId, String job) {
    if (!quiet()) {
      publish(protos.granted(lease, workerId).setJob(job));
    }
  }

  @Override
  public void readmitted(Lease lease, String workerId, String job) {
    if (!quiet()) {
      publish(protos.readmitted(lease, workerId).setJob(job));
    }
  }

  @Override
  public void refused(AcquireSpec spec, Decision.Refused refusal, String job) {
    if (!quiet()) {
      publish(Protos.refused(spec, refusal).setJob(job));
    }
  }

  @Override
  public void ended(
      Lease lease, LeaseEnd how, RevokeReason revokeReason, Outcome outcome, String job) {
    if (!quiet()) {
      publish(protos.ended(lease, how, revokeReason, outcome).setJob(job));
    }
  }

  @Override
  public void sessionOpened(String sessionId, String workerId, boolean resumed, String job) {
    if (!quiet()) {
      publish(Protos.sessionOpened(sessionId, workerId, resumed).setJob(job));
    }
  }

  @Override
  public void sessionEnded(String sessionId, String workerId, boolean expired, String job) {
    if (!quiet()) {
      publish(Protos.sessionEnded(sessionId, workerId, expired).setJob(job));
    }
  }

  @Override
  public void pressureChanged(PressureChange change) {
    if (quiet()) {
      return;
    }
    if (change.from() != change.to()) {
      publish(Protos.pressure(change.to(), change.trigger()));
    }
    for (PressureChange.Worker worker : change.workers()) {
      publish(
          Protos.pressure(worker.to(), worker.trigger())
              .setSessionId(worker.sessionId())
              .setWorkerId(worker.workerId()));
    }
  }

  @Override
  public void limitChanged(LimitChange change) {
    if (!quiet()) {
      publish(Protos.limitChanged(change));
    }
  }

  @Override
  public void leadershipChanged(boolean leads, long epoch, String detail) {
    if (!quiet()) {
      publish(Protos.leaderChanged(detail));
    }
  }

  /** An operator changed limits (an {@code UpdateLimits} call or a reload). */
  @Override
  public void limitsUpdated(String detail) {
    if (!quiet()) {
      publish(Protos.limitsUpdated(detail));
    }
  }

  /** An operator drained a session ({@code sessionId}) or the broker (empty), or resumed it. */
  void drained(String sessionId, String detail) {
    if (!quiet()) {
      publish(
          BrokerEvent.newBuilder()
              .setType(dev.berth.proto.v1.BrokerEventType.BROKER_EVENT_TYPE_DRAIN)
              .setSessionId(sessionId)
              .setDetail(detail));
    }
  }

  /** One watch stream with its own bounded, flow-controlled queue. */
  private final class Watcher {
    private final Set<BrokerEventType> types;
    private final OutboundQueue<BrokerEvent> out;

    Watcher(ServerCallStreamObserver<BrokerEvent> out, Set<BrokerEventType> types, int maxPending) {
      this.types = types;
      this.out =
          new OutboundQueue<>(
              out,
              maxPending,
              (queued, next) -> false, // every event counts
              max -> "watcher too slow: more than " + max + " events pending; dropped",
              how -> {
                watchers.remove(this);
                if (how == OutboundQueue.End.OVERFLOWED) {
                  drops.dropped(StreamDrops.Stream.WATCH);
                }
              });
    }

    void offer(BrokerEvent event) {
      if (types.isEmpty() || types.contains(event.getType())) {
        out.offer(event);
      }
    }

    void close(Status status) {
      out.close(status);
    }
  }
}
