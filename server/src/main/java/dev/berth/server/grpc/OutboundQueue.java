package dev.berth.server.grpc;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayDeque;
import java.util.function.BiPredicate;
import java.util.function.Consumer;
import java.util.function.IntFunction;

/**
 * The outbound side of one server stream, bounded and flow-controlled: a message is written at once
 * while the transport {@linkplain ServerCallStreamObserver#isReady() is ready} and nothing waits
 * before it, and queued otherwise; the queue drains when the transport becomes ready again. A peer
 * that stops reading, so that more than {@code maxPending} messages wait, has its call closed with
 * RESOURCE_EXHAUSTED instead of growing the broker's heap. The session streams and the watch
 * streams both write through one.
 *
 * <p>The queue owns the call's ready and cancel handlers; the owner hears how the stream ended,
 * once, through the {@code ended} callback, which runs outside the queue's lock.
 *
 * <p>Thread-safe: messages may be offered from any thread.
 *
 * @param <T> the message type
 */
final class OutboundQueue<T> {
  /** How a stream ended. */
  enum End {
    /** The owner closed it ({@link #close}). */
    CLOSED,
    /** The peer cancelled the call or went away. */
    CANCELLED,
    /** The peer fell more than the backlog limit behind; the call was closed RESOURCE_EXHAUSTED. */
    OVERFLOWED
  }

  private final ServerCallStreamObserver<T> out;
  private final int maxPending;
  private final BiPredicate<T, T> supersedes;
  private final IntFunction<String> overflow;
  private final Consumer<End> ended;

  // Sized for the usual case, nothing or one message waiting: the default 16 slots cost 64 bytes
  // more per open session stream (heap per idle session, docs/benchmarks.md G5); it grows as
  // needed.
  @GuardedBy("this")
  private final ArrayDeque<T> pending = new ArrayDeque<>(1);

  @GuardedBy("this")
  private boolean closed;

  /**
   * Takes over {@code out}'s ready and cancel handlers.
   *
   * @param maxPending the most messages that may wait for a peer that is not reading
   * @param supersedes whether a new message (second argument) replaces the newest waiting one
   *     (first argument), for messages where only the latest matters
   * @param overflow the description, for {@code maxPending}, of the RESOURCE_EXHAUSTED status that
   *     ends a stream whose peer stopped reading; made only then (a text kept per stream would be
   *     heap for every open session)
   * @param ended told once how the stream ended
   */
  OutboundQueue(
      ServerCallStreamObserver<T> out,
      int maxPending,
      BiPredicate<T, T> supersedes,
      IntFunction<String> overflow,
      Consumer<End> ended) {
    this.out = out;
    this.maxPending = maxPending;
    this.supersedes = supersedes;
    this.overflow = overflow;
    this.ended = ended;
    out.setOnReadyHandler(this::drain);
    out.setOnCancelHandler(this::cancelled);
  }

  /**
   * Writes {@code message} now when the transport is ready and nothing waits, else queues it; a
   * no-op once the stream has ended. A queue that grows past the limit ends the stream.
   */
  void offer(T message) {
    synchronized (this) {
      if (closed) {
        return;
      }
      if (pending.isEmpty() && out.isReady()) {
        out.onNext(message);
        return;
      }
      T newest = pending.peekLast();
      if (newest != null && supersedes.test(newest, message)) {
        pending.pollLast();
      }
      pending.add(message);
      if (pending.size() <= maxPending) {
        return;
      }
      end();
      out.onError(
          Status.RESOURCE_EXHAUSTED
              .withDescription(overflow.apply(maxPending))
              .asRuntimeException());
    }
    ended.accept(End.OVERFLOWED);
  }

  /**
   * Ends the stream: writes what the transport takes of the waiting messages, then completes it
   * ({@code status} OK) or fails it with {@code status}. Does nothing when it has ended already.
   *
   * @return whether this call ended the stream
   */
  boolean close(Status status) {
    return close(status, null);
  }

  /** As {@link #close(Status)}, failing the stream with {@code trailers} (null for none). */
  boolean close(Status status, Metadata trailers) {
    synchronized (this) {
      if (closed) {
        return false;
      }
      writeWhileReady();
      end();
      if (status.isOk()) {
        out.onCompleted();
      } else {
        out.onError(status.asRuntimeException(trailers));
      }
    }
    ended.accept(End.CLOSED);
    return true;
  }

  /** Messages waiting for the transport. */
  synchronized int pending() {
    return pending.size();
  }

  private synchronized void drain() {
    if (!closed) {
      writeWhileReady();
    }
  }

  private void cancelled() {
    synchronized (this) {
      if (closed) {
        return;
      }
      end();
    }
    ended.accept(End.CANCELLED);
  }

  @GuardedBy("this")
  private void writeWhileReady() {
    while (!pending.isEmpty() && out.isReady()) {
      out.onNext(pending.poll());
    }
  }

  @GuardedBy("this")
  private void end() {
    closed = true;
    pending.clear();
  }
}
