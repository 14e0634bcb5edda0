package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.UnknownFieldSet;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.AdminProto;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerProto;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.CallError;
import dev.berth.proto.v1.DrainBrokerRequest;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ListLeasesResponse;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.PoolLimit;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.PressureThresholds;
import dev.berth.proto.v1.ReleaseRequest;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.proto.v1.StreamAcquire;
import dev.berth.proto.v1.StreamCancel;
import dev.berth.proto.v1.StreamRelease;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.testkit.DaemonProcess;
import dev.berth.testkit.RawBytes;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault test 7: a seeded generator throws malformed and extreme requests at every RPC of
 * LeaseBroker and BrokerAdmin on the real daemon — random field values (empty, huge, unicode,
 * negative, NaN, unknown enum numbers, ids of live and of unknown sessions and leases), messages
 * over the 256 KiB limit, garbage and corrupted bytes on the wire through a raw call, streams that
 * are half-closed early, cancelled, or given several requests where one is expected.
 *
 * <p>Every answer must be a status the API documents for bad input (never UNKNOWN or INTERNAL,
 * which would mean an unhandled exception), the daemon must keep serving, and the lease accounting
 * must hold: in-use counts equal the leases listed, and nothing stays held once the sessions are
 * gone.
 *
 * <p>{@code -Dberth.fuzz.seed=N} replays a run; {@code -Dberth.fuzz.tries=N} changes its length.
 */
class FuzzIT {
  private static final long SEED = Long.getLong("berth.fuzz.seed", 20261127L);
  private static final int TRIES = Integer.getInteger("berth.fuzz.tries", 1500);
  private static final long BUDGET_NANOS = TimeUnit.SECONDS.toNanos(45);

  /** What bad input may be answered with; the fuzzer's own cancels and deadlines aside. */
  private static final Set<Status.Code> PROPER =
      EnumSet.of(
          Status.Code.OK,
          Status.Code.INVALID_ARGUMENT,
          Status.Code.NOT_FOUND,
          Status.Code.FAILED_PRECONDITION,
          Status.Code.RESOURCE_EXHAUSTED,
          Status.Code.OUT_OF_RANGE,
          Status.Code.PERMISSION_DENIED,
          Status.Code.ALREADY_EXISTS,
          Status.Code.ABORTED);

  @TempDir Path dir;

  /**
   * One answer: which RPC, what was sent, and the status that ended the call. Not judged ({@code
   * endedByUs}): calls the fuzzer cancelled or let time out, and a second request on a call that
   * takes one, which grpc-java resets before the broker sees it.
   */
  record Answer(String method, String sent, Status status, boolean endedByUs) {}

  @Test
  @Timeout(90)
  void malformedAndExtremeRequests_everyRpc_properCodesOnly_daemonServes_accountingHolds()
      throws Exception {
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"),
            dir.resolve("daemon.log"),
            "--session-ttl",
            "2s",
            "--heartbeat-interval",
            "500ms",
            "--sweep-interval",
            "100ms",
            "--render-limit",
            "8",
            "--pdf-limit",
            "2")) {
      ManagedChannel channel = daemon.channel();
      BrokerAdminGrpc.BrokerAdminBlockingStub admin = BrokerAdminGrpc.newBlockingStub(channel);
      List<String> liveIds = new CopyOnWriteArrayList<>();
      List<Answer> answers = new ArrayList<>();
      List<MethodDescriptor> methods = new ArrayList<>();
      long started = System.nanoTime();
      try (LiveSession holder = new LiveSession(channel, "fuzz-holder")) {
        AcquireResponse held = holder.acquireRender("https://held.example/", 0);
        liveIds.add(holder.id());
        liveIds.add(held.getGranted().getLeaseId());
        Random random = new Random(SEED);
        RequestFuzzer fuzzer = new RequestFuzzer(random, () -> liveIds);
        for (ServiceDescriptor service :
            List.of(
                BrokerProto.getDescriptor().findServiceByName("LeaseBroker"),
                AdminProto.getDescriptor().findServiceByName("BrokerAdmin"))) {
          methods.addAll(service.getMethods());
        }
        for (int i = 0; i < TRIES && System.nanoTime() - started < BUDGET_NANOS; i++) {
          // Every RPC in turn, so each gets its share whatever the budget cuts.
          MethodDescriptor method = methods.get(i % methods.size());
          answers.add(tryOnce(channel, method, fuzzer, random));
        }
      }
      double seconds = (System.nanoTime() - started) / 1e9;

      Map<String, Long> codes =
          answers.stream()
              .collect(
                  Collectors.groupingBy(
                      a -> (a.endedByUs() ? "not judged: " : "") + a.status().getCode().name(),
                      TreeMap::new,
                      Collectors.counting()));
      System.out.printf(
          "FuzzIT: seed %d, %d tries over %d RPCs in %.1f s; codes %s%n",
          SEED,
          answers.size(),
          answers.stream().map(Answer::method).distinct().count(),
          seconds,
          codes);
      List<Answer> improper =
          answers.stream()
              .filter(a -> !a.endedByUs() && !PROPER.contains(a.status().getCode()))
              .toList();
      assertThat(improper)
          .as("answers with improper codes (seed %d); daemon log:%n%s", SEED, daemon.logTail(80))
          .isEmpty();
      assertThat(answers.stream().map(Answer::method).distinct().count())
          .as("every RPC of both services was tried")
          .isEqualTo(methods.size());
      assertThat(daemon.logText())
          .as("no failure of the broker's own, and no log line per oversized message")
          .doesNotContain("unexpected failure")
          .doesNotContain("Exception processing message");

      // Undo what valid admin requests among the noise may have changed, then check the daemon.
      admin.drainBroker(DrainBrokerRequest.newBuilder().setResume(true).build());
      admin.updateLimits(
          UpdateLimitsRequest.newBuilder()
              .addPools(
                  PoolLimit.newBuilder().setKind(ResourceKind.RESOURCE_KIND_RENDER).setLimit(8))
              .addPools(PoolLimit.newBuilder().setKind(ResourceKind.RESOURCE_KIND_PDF).setLimit(2))
              .setPressure(PressureThresholds.newBuilder().setOn(0.9).setOff(0.8))
              .build());
      assertThat(
              HealthGrpc.newBlockingStub(channel)
                  .withDeadlineAfter(5, TimeUnit.SECONDS)
                  .check(HealthCheckRequest.getDefaultInstance())
                  .getStatus())
          .isEqualTo(HealthCheckResponse.ServingStatus.SERVING);

      // The fuzz sessions end within their TTL; then a normal worker is served as ever.
      awaitNoSessions(admin);
      try (LiveSession normal = new LiveSession(channel, "after-fuzz")) {
        AcquireResponse granted = normal.acquireRender("https://sanity.berth.test/", 5_000);
        assertThat(granted.hasGranted())
            .as("a normal acquire after the fuzz: %s", granted)
            .isTrue();
        assertAccountingMatchesLeases(admin, 1);
        normal.release(granted.getGranted().getLeaseId());
        assertAccountingMatchesLeases(admin, 0);
      } finally {
        channel.shutdownNow();
      }
    }
  }

  /**
   * Calls on the session stream: fuzzed acquire and release requests, huge and reused call_ids, an
   * acquire naming another session. Each is answered by its call_id with a proper code and leaves
   * the stream open; a duplicate call_id in flight and a call before hello close the stream with
   * INVALID_ARGUMENT; the accounting holds afterwards.
   */
  @Test
  @Timeout(90)
  void streamCalls_fuzzedHugeDuplicateAndBeforeHello_properCodesOnly_accountingHolds()
      throws Exception {
    try (DaemonProcess daemon =
        DaemonProcess.start(
            dir.resolve("state"),
            dir.resolve("daemon.log"),
            "--session-ttl",
            "2s",
            "--heartbeat-interval",
            "500ms",
            "--sweep-interval",
            "100ms",
            "--render-limit",
            "1",
            "--pdf-limit",
            "2")) {
      ManagedChannel channel = daemon.channel();
      BrokerAdminGrpc.BrokerAdminBlockingStub admin = BrokerAdminGrpc.newBlockingStub(channel);
      Random random = new Random(SEED);
      try (LiveSession other = new LiveSession(channel, "fuzz-other")) {
        RequestFuzzer fuzzer = new RequestFuzzer(random, () -> List.of(other.id()));

        // A call before hello ends the stream, naming the rule.
        RawStream early = RawStream.open(channel);
        early.send(streamAcquire(1, render("")));
        assertThat(early.ended(5))
            .satisfies(st -> assertThat(st.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT))
            .satisfies(st -> assertThat(st.getDescription()).contains("hello"));

        RawStream stream = RawStream.open(channel);
        stream.send(
            SessionRequest.newBuilder()
                .setHello(Hello.newBuilder().setWorkerId("fuzz-stream"))
                .build());
        assertThat(stream.next(5).hasOpened()).isTrue();

        // Fuzzed requests under extreme call_ids: every one answered by its id, properly.
        for (int i = 0; i < 300; i++) {
          // Heartbeats keep the session (its TTL is 2 s); their acks are skipped below.
          stream.send(
              SessionRequest.newBuilder()
                  .setHeartbeat(Heartbeat.newBuilder().setSeq(i + 1))
                  .build());
          long id = i % 3 == 0 ? -1L - i : i % 3 == 1 ? Long.MAX_VALUE - i : random.nextLong();
          // A cancel of a call this stream never made is left alone: no answer, the stream goes on.
          stream.send(cancel(random.nextLong()));
          if (random.nextBoolean()) {
            AcquireRequest fuzzed =
                AcquireRequest.parseFrom(
                    fuzzer.message(AcquireRequest.getDescriptor()).toByteString());
            // No waiting in the queue: the answers come now, and the stream stays in flight-free.
            stream.send(streamAcquire(id, fuzzed.toBuilder().clearWait().build()));
          } else {
            ReleaseRequest fuzzed =
                ReleaseRequest.parseFrom(
                    fuzzer.message(ReleaseRequest.getDescriptor()).toByteString());
            stream.send(
                SessionRequest.newBuilder()
                    .setRelease(StreamRelease.newBuilder().setCallId(id).setRequest(fuzzed))
                    .build());
          }
          SessionEvent answer = stream.nextResult(5);
          long answeredId =
              answer.hasAcquireResult()
                  ? answer.getAcquireResult().getCallId()
                  : answer.getReleaseResult().getCallId();
          assertThat(answeredId).as("answer to call %s", Long.toUnsignedString(id)).isEqualTo(id);
          CallError error =
              answer.hasAcquireResult()
                  ? answer.getAcquireResult().getError()
                  : answer.getReleaseResult().getError();
          assertThat(PROPER)
              .as("code of %s", answer)
              .contains(Status.fromCodeValue(error.getCode()).getCode());
          stream.send(cancel(id)); // answered already: changes nothing, answers nothing
          if (answer.hasAcquireResult() && answer.getAcquireResult().getResponse().hasGranted()) {
            stream.send(
                SessionRequest.newBuilder()
                    .setRelease(
                        StreamRelease.newBuilder()
                            .setCallId(id)
                            .setRequest(
                                ReleaseRequest.newBuilder()
                                    .setLeaseId(
                                        answer
                                            .getAcquireResult()
                                            .getResponse()
                                            .getGranted()
                                            .getLeaseId())))
                    .build());
            // A repeated request_id answers with a lease already released: released is false.
            assertThat(stream.nextResult(5).getReleaseResult().hasResponse()).isTrue();
          }
        }

        // Another session's id is refused for this call only; the stream carries on.
        stream.send(streamAcquire(7, render(other.id())));
        SessionEvent refused = stream.nextResult(5);
        assertThat(refused.getAcquireResult().getError().getCode())
            .isEqualTo(Status.Code.INVALID_ARGUMENT.value());
        assertThat(refused.getAcquireResult().getError().getMessage()).contains("session_id");

        // A call_id still in flight, used again, ends the stream.
        stream.send(streamAcquire(8, render("")));
        assertThat(stream.nextResult(5).getAcquireResult().getResponse().hasGranted()).isTrue();
        AcquireRequest.Builder waiting = render("").toBuilder();
        waiting.getWaitBuilder().setSeconds(30);
        stream.send(streamAcquire(9, waiting.build())); // the pool (1) is full: it waits
        stream.send(streamAcquire(9, waiting.build()));
        Status ended = stream.ended(5);
        assertThat(ended.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(ended.getDescription()).contains("call_id");
      }

      // The stream sessions end within their TTL, their leases and waits with them.
      awaitNoSessions(admin);
      assertThat(daemon.logText()).doesNotContain("unexpected failure");
    }
  }

  private static AcquireRequest render(String sessionId) {
    return AcquireRequest.newBuilder()
        .setSessionId(sessionId)
        .setKind(ResourceKind.RESOURCE_KIND_RENDER)
        .setUrl("https://stream.fuzz.example/")
        .build();
  }

  private static SessionRequest cancel(long callId) {
    return SessionRequest.newBuilder()
        .setCancel(StreamCancel.newBuilder().setCallId(callId))
        .build();
  }

  private static SessionRequest streamAcquire(long callId, AcquireRequest request) {
    return SessionRequest.newBuilder()
        .setAcquire(StreamAcquire.newBuilder().setCallId(callId).setRequest(request))
        .build();
  }

  /** An OpenSession stream driven by hand: what is sent, and a queue of what comes back. */
  private static final class RawStream implements StreamObserver<SessionEvent> {
    private final java.util.concurrent.BlockingQueue<SessionEvent> events =
        new java.util.concurrent.LinkedBlockingQueue<>();
    private final CompletableFuture<Status> end = new CompletableFuture<>();
    private StreamObserver<SessionRequest> requests;

    static RawStream open(ManagedChannel channel) {
      RawStream s = new RawStream();
      s.requests = LeaseBrokerGrpc.newStub(channel).openSession(s);
      return s;
    }

    void send(SessionRequest request) {
      requests.onNext(request);
    }

    SessionEvent next(int seconds) throws InterruptedException {
      SessionEvent event = events.poll(seconds, TimeUnit.SECONDS);
      if (event == null) {
        throw new AssertionError(
            "no event within " + seconds + " s; stream ended: " + end.getNow(null));
      }
      return event;
    }

    /** The next acquire or release result, skipping heartbeat acks and pushes. */
    SessionEvent nextResult(int seconds) throws InterruptedException {
      while (true) {
        SessionEvent event = next(seconds);
        if (event.hasAcquireResult() || event.hasReleaseResult()) {
          return event;
        }
      }
    }

    Status ended(int seconds) throws Exception {
      return end.get(seconds, TimeUnit.SECONDS);
    }

    @Override
    public void onNext(SessionEvent event) {
      events.add(event);
    }

    @Override
    public void onError(Throwable t) {
      end.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      end.complete(Status.OK);
    }
  }

  /** One RPC call with fuzzed content and a fuzzed ending; never waits more than ~2 s. */
  private static Answer tryOnce(
      ManagedChannel channel, MethodDescriptor method, RequestFuzzer fuzzer, Random random)
      throws InterruptedException {
    boolean clientStreams = method.isClientStreaming();
    String fullName = method.getService().getFullName() + "/" + method.getName();
    io.grpc.MethodDescriptor<byte[], byte[]> raw = RawBytes.of(fullName, type(method));
    List<byte[]> messages = new ArrayList<>();
    String sent;
    int mode = random.nextInt(20);
    if (mode < 12) {
      int n = clientStreams ? 1 + random.nextInt(4) : 1;
      for (int i = 0; i < n; i++) {
        messages.add(fuzzer.message(method.getInputType()).toByteArray());
      }
      sent = n + " fuzzed message(s)";
    } else if (mode < 14) {
      messages.add(fuzzer.bytes(1 + random.nextInt(2000)));
      sent = "garbage bytes";
    } else if (mode < 16) {
      messages.add(fuzzer.corrupt(fuzzer.message(method.getInputType()).toByteArray()));
      sent = "corrupted message";
    } else if (mode < 17) {
      DynamicMessage big =
          fuzzer.message(method.getInputType()).toBuilder()
              .setUnknownFields(
                  UnknownFieldSet.newBuilder()
                      .addField(
                          9999,
                          UnknownFieldSet.Field.newBuilder()
                              .addLengthDelimited(ByteString.copyFrom(fuzzer.bytes(300 * 1024)))
                              .build())
                      .build())
              .build();
      messages.add(big.toByteArray());
      sent = "message over 256 KiB";
    } else if (mode < 18) {
      sent = "no message, half-closed";
    } else if (mode < 19) {
      messages.add(fuzzer.message(method.getInputType()).toByteArray());
      messages.add(fuzzer.message(method.getInputType()).toByteArray());
      sent = "two messages";
    } else {
      messages.add(fuzzer.message(method.getInputType()).toByteArray());
      sent = "message, then cancelled";
    }
    boolean cancel = sent.endsWith("cancelled") || (clientStreams && random.nextInt(4) == 0);
    boolean halfClose = !cancel;

    RawBytes.Call started =
        RawBytes.start(
            channel, raw, CallOptions.DEFAULT.withDeadlineAfter(2, TimeUnit.SECONDS), messages);
    ClientCall<byte[], byte[]> call = started.call();
    CompletableFuture<Status> closed = started.closed();
    boolean endedByUs = false;
    if (halfClose) {
      call.halfClose();
    }
    if (cancel) {
      Thread.sleep(random.nextInt(50));
      call.cancel("fuzzer cancels", null);
      endedByUs = true;
    }
    Status status;
    try {
      // Streams (sessions, watches) stay open until ended; 300 ms shows how they answered.
      long wait = method.isServerStreaming() ? 300 : 2_500;
      status = closed.get(wait, TimeUnit.MILLISECONDS);
    } catch (TimeoutException stillOpen) {
      call.cancel("fuzzer ends the open stream", null);
      endedByUs = true;
      status = closed.join();
    } catch (java.util.concurrent.ExecutionException e) {
      throw new AssertionError(e);
    }
    if (status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
      endedByUs = true; // an Acquire told to wait longer than the fuzzer's deadline
    }
    if (status.getCode() == Status.Code.CANCELLED && !clientStreams && messages.size() > 1) {
      endedByUs = true; // grpc-java resets a call that takes one request and gets two
    }
    if (endedByUs
        && status.getCode() != Status.Code.CANCELLED
        && status.getCode() != Status.Code.DEADLINE_EXCEEDED) {
      endedByUs = false; // the server answered before the cancel took effect: judge its answer
    }
    return new Answer(fullName, sent, status, endedByUs);
  }

  private static io.grpc.MethodDescriptor.MethodType type(MethodDescriptor method) {
    if (method.isClientStreaming()) {
      return method.isServerStreaming()
          ? io.grpc.MethodDescriptor.MethodType.BIDI_STREAMING
          : io.grpc.MethodDescriptor.MethodType.CLIENT_STREAMING;
    }
    return method.isServerStreaming()
        ? io.grpc.MethodDescriptor.MethodType.SERVER_STREAMING
        : io.grpc.MethodDescriptor.MethodType.UNARY;
  }

  private static void awaitNoSessions(BrokerAdminGrpc.BrokerAdminBlockingStub admin)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (true) {
      List<SessionInfo> sessions =
          admin.listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList();
      if (sessions.isEmpty()) {
        break;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("sessions left 15 s after the fuzz: " + sessions);
      }
      Thread.sleep(100);
    }
    assertAccountingMatchesLeases(admin, 0);
  }

  /** In-use per pool equals the leases listed of that kind; none queued; {@code total} held. */
  private static void assertAccountingMatchesLeases(
      BrokerAdminGrpc.BrokerAdminBlockingStub admin, int total) {
    BrokerStatus status = admin.getStatus(GetStatusRequest.getDefaultInstance());
    List<LeaseInfo> leases = new ArrayList<>();
    String page = "";
    do {
      ListLeasesResponse response =
          admin.listLeases(
              ListLeasesRequest.newBuilder().setPageSize(1000).setPageToken(page).build());
      leases.addAll(response.getLeasesList());
      page = response.getNextPageToken();
    } while (!page.isEmpty());
    for (PoolStatus pool : status.getPoolsList()) {
      long listed = leases.stream().filter(l -> l.getLease().getKind() == pool.getKind()).count();
      assertThat((long) pool.getInUse()).as("in use of %s", pool.getKind()).isEqualTo(listed);
      assertThat(pool.getQueued()).as("queued in %s", pool.getKind()).isZero();
    }
    assertThat(leases).hasSize(total);
  }
}
