package dev.berth.server.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;

/**
 * A server call's response side without a transport: the test decides when it is ready and when the
 * peer cancels, and reads what was written. Not thread-safe; for tests that drive it from one
 * thread.
 */
final class FakeServerCallStreamObserver<T> extends ServerCallStreamObserver<T> {
  final List<T> written = new ArrayList<>();
  private boolean ready = true;
  private Runnable onReady = () -> {};
  private Runnable onCancel = () -> {};
  private Status closedWith;
  private boolean cancelled;

  /** The transport stops taking messages (its buffer is full). */
  void stall() {
    ready = false;
  }

  /** The transport takes messages again and says so, as gRPC does, through the ready handler. */
  void becomeReady() {
    ready = true;
    onReady.run();
  }

  /** The transport takes messages again, before gRPC has run the ready handler. */
  void becomeReadyWithoutHandler() {
    ready = true;
  }

  /** The peer cancels the call. */
  void cancel() {
    cancelled = true;
    onCancel.run();
  }

  /** How the call ended: OK for completed, the error's status, or null while open. */
  Status closedWith() {
    return closedWith;
  }

  @Override
  public boolean isReady() {
    return ready && closedWith == null && !cancelled;
  }

  @Override
  public void setOnReadyHandler(Runnable handler) {
    onReady = handler;
  }

  @Override
  public void setOnCancelHandler(Runnable handler) {
    onCancel = handler;
  }

  @Override
  public boolean isCancelled() {
    return cancelled;
  }

  @Override
  public void onNext(T value) {
    if (closedWith != null) {
      throw new IllegalStateException("onNext after the call ended");
    }
    written.add(value);
  }

  @Override
  public void onError(Throwable t) {
    end(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    end(Status.OK);
  }

  private void end(Status status) {
    if (closedWith != null) {
      throw new IllegalStateException("call ended twice");
    }
    closedWith = status;
  }

  @Override
  public void setCompression(String compression) {}

  @Override
  public void disableAutoInboundFlowControl() {}

  @Override
  public void request(int count) {}

  @Override
  public void setMessageCompression(boolean enable) {}
}
