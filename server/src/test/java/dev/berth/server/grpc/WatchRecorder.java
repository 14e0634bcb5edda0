package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.fail;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.WatchEventsRequest;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The operator end of one {@code WatchEvents} stream: records every event and the terminal status.
 * Opened with {@link #notReading} it asks for no events until the test calls {@link #request}, like
 * a watcher whose terminal is stuck.
 *
 * <p>Thread-safe.
 */
final class WatchRecorder implements ClientResponseObserver<WatchEventsRequest, BrokerEvent> {
  private static final long WAIT_SECONDS = 5;

  private final BlockingQueue<BrokerEvent> events = new LinkedBlockingQueue<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final boolean reads;
  private ClientCallStreamObserver<WatchEventsRequest> call;

  private WatchRecorder(boolean reads) {
    this.reads = reads;
  }

  /** A watcher that reads every event as it comes. */
  static WatchRecorder open(BrokerAdminGrpc.BrokerAdminStub stub, BrokerEventType... types) {
    return open(stub, request(types));
  }

  /** A watcher that reads everything, opened with {@code request} as it is. */
  static WatchRecorder open(BrokerAdminGrpc.BrokerAdminStub stub, WatchEventsRequest request) {
    WatchRecorder recorder = new WatchRecorder(true);
    stub.watchEvents(request, recorder);
    return recorder;
  }

  /** A watcher that reads nothing until {@link #request} is called. */
  static WatchRecorder notReading(BrokerAdminGrpc.BrokerAdminStub stub, BrokerEventType... types) {
    WatchRecorder recorder = new WatchRecorder(false);
    stub.watchEvents(request(types), recorder);
    return recorder;
  }

  private static WatchEventsRequest request(BrokerEventType... types) {
    return WatchEventsRequest.newBuilder().addAllTypes(List.of(types)).build();
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<WatchEventsRequest> requestStream) {
    call = requestStream;
    if (!reads) {
      requestStream.disableAutoRequestWithInitial(0);
    }
  }

  /** Lets {@code count} more events through to a watcher opened by {@link #notReading}. */
  void request(int count) {
    call.request(count);
  }

  /** Ends the watch from the client side, as Ctrl-C in {@code berth watch} does. */
  void cancel() {
    call.cancel("operator stopped watching", null);
  }

  /** The next event; fails when none comes. */
  BrokerEvent next() {
    try {
      BrokerEvent event = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (event == null) {
        fail("no broker event; stream status " + closed.getNow(null));
      }
      return event;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Every event received and not yet taken. */
  List<BrokerEvent> received() {
    List<BrokerEvent> out = new ArrayList<>();
    events.drainTo(out);
    return out;
  }

  /** The types of every event received and not yet taken. */
  List<BrokerEventType> receivedTypes() {
    return received().stream().map(BrokerEvent::getType).toList();
  }

  boolean isClosed() {
    return closed.isDone();
  }

  /** The status the stream ended with; fails when it does not end. */
  Status status() {
    try {
      return closed.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("watch stream still open", e);
    } catch (ExecutionException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void onNext(BrokerEvent event) {
    events.add(event);
  }

  @Override
  public void onError(Throwable t) {
    closed.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    closed.complete(Status.OK);
  }
}
