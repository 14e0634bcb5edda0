package dev.berth.server.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.UnknownFieldSet;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.AdminProto;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerProto;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.DrainBrokerRequest;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ListLeasesResponse;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.PoolLimit;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.PressureThresholds;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionInfo;
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
