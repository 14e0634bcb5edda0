package dev.berth.server.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.berth.proto.v1.Ack;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResult;
import dev.berth.proto.v1.Goodbye;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.HeartbeatAck;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.Opened;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ReleaseResult;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamAcquire;
import dev.berth.proto.v1.StreamRelease;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The worker end of one {@code OpenSession} stream: sends requests and records every event and the
 * terminal status. With a direct-executor channel events arrive before {@code send} returns; the
 * short waits below only guard against a hand-off to another thread.
 *
 * <p>Thread-safe.
 */
final class SessionRecorder implements ClientResponseObserver<SessionRequest, SessionEvent> {
  private static final long WAIT_SECONDS = 5;

  private final BlockingQueue<SessionEvent> events = new LinkedBlockingQueue<>();
  private final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final boolean reads;
  private ClientCallStreamObserver<SessionRequest> requests;
  private volatile String sessionId;
  private volatile Throwable failure;

  private SessionRecorder(boolean reads) {
    this.reads = reads;
  }

  /** A stream that reads every event the broker sends. */
  static SessionRecorder open(LeaseBrokerGrpc.LeaseBrokerStub stub) {
    SessionRecorder recorder = new SessionRecorder(true);
    stub.openSession(recorder);
    return recorder;
  }

  /** A stream that reads nothing until the test calls {@link #request}, like a stuck worker. */
  static SessionRecorder openNotReading(LeaseBrokerGrpc.LeaseBrokerStub stub) {
    SessionRecorder recorder = new SessionRecorder(false);
    stub.openSession(recorder);
    return recorder;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<SessionRequest> requestStream) {
    requests = requestStream;
    if (!reads) {
      requestStream.disableAutoRequestWithInitial(0);
    }
  }

  /** Lets {@code count} more events through to a stream opened by {@link #openNotReading}. */
  void request(int count) {
    requests.request(count);
  }

  // ------------------------------------------------------------ worker -> broker

  void send(SessionRequest request) {
    requests.onNext(request);
  }

  /** Says hello and expects {@code opened}; remembers the session id. */
  Opened hello(String workerId) {
    return hello(Hello.newBuilder().setWorkerId(workerId));
  }

  /** Resumes {@code resumeSessionId}, declaring {@code held}; expects {@code opened}. */
  Opened resume(String workerId, String resumeSessionId, HeldLease... held) {
    Hello.Builder hello =
        Hello.newBuilder().setWorkerId(workerId).setResumeSessionId(resumeSessionId);
    for (HeldLease lease : held) {
      hello.addHeldLeases(lease);
    }
    return hello(hello);
  }

  Opened hello(Hello.Builder hello) {
    send(SessionRequest.newBuilder().setHello(hello).build());
    SessionEvent event = next();
    assertThat(event.hasOpened()).as("opened: %s", event).isTrue();
    sessionId = event.getOpened().getSessionId();
    return event.getOpened();
  }

  void sendHeartbeat(long seq) {
    send(SessionRequest.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSeq(seq)).build());
  }

  /** Heartbeats and expects the matching ack. */
  void heartbeat(long seq) {
    sendHeartbeat(seq);
    SessionEvent event = next();
    assertThat(event.hasHeartbeatAck()).as("heartbeat_ack: %s", event).isTrue();
    assertThat(event.getHeartbeatAck().getSeq()).isEqualTo(seq);
  }

  /** Heartbeats with a memory report and returns the matching ack. */
  HeartbeatAck heartbeat(long seq, long memoryUsedMb, long memoryLimitMb) {
    send(
        SessionRequest.newBuilder()
            .setHeartbeat(
                Heartbeat.newBuilder()
                    .setSeq(seq)
                    .setMemoryUsedMb(memoryUsedMb)
                    .setMemoryLimitMb(memoryLimitMb))
            .build());
    SessionEvent event = next();
    assertThat(event.hasHeartbeatAck()).as("heartbeat_ack: %s", event).isTrue();
    assertThat(event.getHeartbeatAck().getSeq()).isEqualTo(seq);
    return event.getHeartbeatAck();
  }

  /** Sends an acquire on the stream as call {@code callId}; its result comes with {@link #next}. */
  void sendAcquire(long callId, AcquireRequest.Builder request) {
    send(
        SessionRequest.newBuilder()
            .setAcquire(StreamAcquire.newBuilder().setCallId(callId).setRequest(request))
            .build());
  }

  /** Sends a release on the stream as call {@code callId}. */
  void sendRelease(long callId, ReleaseRequest.Builder request) {
    send(
        SessionRequest.newBuilder()
            .setRelease(StreamRelease.newBuilder().setCallId(callId).setRequest(request))
            .build());
  }

  /** The next event, which must be the result of a stream acquire. */
  AcquireResult nextAcquireResult() {
    SessionEvent event = next();
    assertThat(event.hasAcquireResult()).as("acquire_result: %s", event).isTrue();
    return event.getAcquireResult();
  }

  /** The next event, which must be the result of a stream release. */
  ReleaseResult nextReleaseResult() {
    SessionEvent event = next();
    assertThat(event.hasReleaseResult()).as("release_result: %s", event).isTrue();
    return event.getReleaseResult();
  }

  /** Acknowledges a pushed command. */
  void ack(long commandId) {
    send(SessionRequest.newBuilder().setAck(Ack.newBuilder().setCommandId(commandId)).build());
  }

  void goodbye() {
    send(SessionRequest.newBuilder().setGoodbye(Goodbye.getDefaultInstance()).build());
  }

  /** Half-closes the stream without goodbye: done with this stream, not with the session. */
  void halfClose() {
    requests.onCompleted();
  }

  /** Drops the stream as a dying worker would: the call is cancelled, the session is not told. */
  void cancel() {
    requests.cancel("worker dropped the stream", null);
  }

  // ------------------------------------------------------------ broker -> worker

  /** The session id from the last {@code opened}. */
  String sessionId() {
    return sessionId;
  }

  /** The next event; fails when none comes. */
  SessionEvent next() {
    try {
      SessionEvent event = events.poll(WAIT_SECONDS, TimeUnit.SECONDS);
      if (event == null) {
        fail("no session event; stream status " + closed.getNow(null));
      }
      return event;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  /** Events received and not yet taken by {@link #next}. */
  int pendingEvents() {
    return events.size();
  }

  boolean isClosed() {
    return closed.isDone();
  }

  /** The status the stream ended with (OK for a clean completion); fails when it does not end. */
  Status status() {
    try {
      return closed.get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("session stream still open", e);
    } catch (ExecutionException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  @Override
  public void onNext(SessionEvent event) {
    events.add(event);
  }

  /** What the stream failed with, trailers included, once {@link #status()} says it failed. */
  Throwable failure() {
    return failure;
  }

  @Override
  public void onError(Throwable t) {
    failure = t;
    closed.complete(Status.fromThrowable(t));
  }

  @Override
  public void onCompleted() {
    closed.complete(Status.OK);
  }
}
