package dev.berth.client.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.DrainRequest;
import dev.berth.client.Lease;
import dev.berth.client.RevokeReason;
import dev.berth.client.RevokedLease;
import dev.berth.client.WorkerSession;
import dev.berth.proto.v1.BrokerEvent;
import dev.berth.proto.v1.BrokerEventType;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.Explanation;
import dev.berth.proto.v1.LeaseInfo;
import dev.berth.proto.v1.ListLeasesResponse;
import dev.berth.proto.v1.ListSessionsResponse;
import dev.berth.proto.v1.ListWaitingResponse;
import dev.berth.proto.v1.PoolStatus;
import dev.berth.proto.v1.RefusalReason;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.RevokeLeaseResponse;
import dev.berth.proto.v1.SessionInfo;
import dev.berth.testkit.DaemonProcess;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code berth} CLI, run in-process through {@link Main#run}, against the real daemon on
 * loopback: each command's human and JSON output and its exit code, with sessions and leases made
 * by the SDK. The daemon runs with one PDF slot so that a single lease fills that pool.
 */
class CliDaemonIT {
  private static final Duration WAIT = Duration.ofSeconds(10);

  @TempDir static Path dir;
  private static DaemonProcess daemon;

  private final List<AutoCloseable> cleanup = new ArrayList<>();
  private BrokerClient client;

  /** What one CLI run printed, and its exit code. */
  record Run(int code, String out, String err) {}

  @BeforeAll
  static void startDaemon() throws Exception {
    daemon =
        DaemonProcess.start(dir.resolve("state"), dir.resolve("daemon.log"), "--pdf-limit", "1");
  }

  @AfterAll
  static void stopDaemon() throws Exception {
    if (daemon != null) {
      daemon.close();
    }
  }

  @AfterEach
  void closeClients() throws Exception {
    for (int i = cleanup.size() - 1; i >= 0; i--) {
      cleanup.get(i).close();
    }
    if (client != null) {
      client.close();
    }
  }

  private static Run berth(String... args) {
    List<String> argv = new ArrayList<>(List.of("--broker", daemon.target()));
    argv.addAll(List.of(args));
    return run(argv);
  }

  private static Run run(List<String> argv) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        Main.run(
            argv,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  private static <T extends Message.Builder> T parse(String json, T builder) {
    try {
      JsonFormat.parser().merge(json, builder);
      return builder;
    } catch (InvalidProtocolBufferException e) {
      throw new AssertionError(
          "not JSON of " + builder.getDescriptorForType().getFullName() + ":\n" + json, e);
    }
  }

  private WorkerSession session(String workerId) {
    if (client == null) {
      client = BrokerClient.newBuilder().target(daemon.target()).build();
    }
    WorkerSession session = client.openSession(workerId);
    cleanup.add(session);
    return session;
  }

  private Lease lease(WorkerSession session, AcquireOptions options) {
    AcquireResult result = session.acquire(options);
    assertThat(result.isGranted()).as("granted: %s", result).isTrue();
    Lease lease = ((AcquireResult.Granted) result).lease();
    cleanup.add(lease);
    return lease;
  }

  private static PoolStatus pool(BrokerStatus status, ResourceKind kind) {
    return status.getPoolsList().stream()
        .filter(p -> p.getKind() == kind)
        .findFirst()
        .orElseThrow();
  }

  private static BrokerStatus status() {
    Run run = berth("status", "--json");
    assertThat(run.code()).as(run.err()).isZero();
    return parse(run.out(), BrokerStatus.newBuilder()).build();
  }

  // ------------------------------------------------------------ status

  @Test
  void clusterCommands_onALoneBroker_sayItIsNotAClusterExit1() {
    Run status = berth("cluster", "status");
    Run transfer = berth("cluster", "transfer", "--to", "n2");

    assertThat(status.code()).isEqualTo(ExitCode.BROKER_ERROR);
    assertThat(status.err()).contains("is not a cluster member");
    assertThat(transfer.code()).isEqualTo(ExitCode.BROKER_ERROR);
    assertThat(transfer.err()).startsWith("berth: FAILED_PRECONDITION: not a cluster");
  }

  @Test
  void status_table_headerPoolsAndTotals() {
    Run run = berth("status");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("broker       " + daemon.target())
        .contains("epoch ")
        .contains("draining     no")
        .containsPattern("KIND +LIMIT +EFFECTIVE +IN_USE +QUEUED +REASON")
        .containsPattern("RENDER +8 +8 ")
        .containsPattern("PDF +1 +1 ")
        .contains("sessions     ")
        .contains("pressure     NONE")
        .contains("degradation  0.00")
        .contains("totals       ");
    assertThat(run.err()).isEmpty();
  }

  @Test
  void status_json_parsesAsBrokerStatus() {
    BrokerStatus status = status();

    assertThat(status.getBrokerEpoch()).isPositive();
    assertThat(status.getPoolsList())
        .extracting(PoolStatus::getKind)
        .containsExactly(
            ResourceKind.RESOURCE_KIND_RENDER,
            ResourceKind.RESOURCE_KIND_PDF,
            ResourceKind.RESOURCE_KIND_WASM);
    assertThat(status.getVersion()).isNotEmpty();
  }

  // ------------------------------------------------------------ listings

  @Test
  void sessionsAndLeases_listWhatTheSdkHolds() {
    WorkerSession worker = session("cli-it-lister");
    Lease lease = lease(worker, AcquireOptions.render("https://list.example.com/page"));

    Run sessions = berth("sessions", "--worker", "cli-it-lister");
    Run leases = berth("leases", "--session", worker.sessionId());
    Run leasesJson = berth("--json", "leases", "--host", "list.example.com");
    Run sessionsJson = berth("sessions", "--json", "--worker", "cli-it-lister");

    assertThat(sessions.code()).as(sessions.err()).isZero();
    assertThat(sessions.out())
        .contains(worker.sessionId())
        .contains("cli-it-lister")
        .contains("connected")
        .contains("1 session");
    assertThat(leases.code()).as(leases.err()).isZero();
    assertThat(leases.out())
        .contains(lease.leaseId())
        .contains("RENDER")
        .contains("list.example.com")
        .contains(Long.toUnsignedString(lease.fencingToken()));
    assertThat(parse(leasesJson.out(), ListLeasesResponse.newBuilder()).getLeasesList())
        .extracting(LeaseInfo::getWorkerId, i -> i.getLease().getLeaseId())
        .containsExactly(org.assertj.core.groups.Tuple.tuple("cli-it-lister", lease.leaseId()));
    assertThat(parse(sessionsJson.out(), ListSessionsResponse.newBuilder()).getSessionsList())
        .extracting(SessionInfo::getSessionId, SessionInfo::getLeases)
        .containsExactly(org.assertj.core.groups.Tuple.tuple(worker.sessionId(), 1));
  }

  @Test
  void waiting_pdfPoolFull_listsTheWaitingAcquireAndItsRule() throws Exception {
    WorkerSession holder = session("cli-it-pdf-holder");
    Lease held = lease(holder, AcquireOptions.pdf());
    WorkerSession asker = session("cli-it-pdf-waiter");
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<AcquireResult> waiting =
          pool.submit(
              () ->
                  asker.acquire(
                      AcquireOptions.newBuilder(dev.berth.client.ResourceKind.PDF)
                          .maxWait(Duration.ofSeconds(30))
                          .build()));
      long deadline = System.nanoTime() + WAIT.toNanos();
      ListWaitingResponse list;
      do {
        Run json = berth("waiting", "--json", "--kind", "pdf");
        assertThat(json.code()).as(json.err()).isZero();
        list = parse(json.out(), ListWaitingResponse.newBuilder()).build();
        if (list.getTotal() == 0) {
          Thread.sleep(20); // the acquire may not have reached the broker yet
        }
      } while (list.getTotal() == 0 && System.nanoTime() < deadline);
      Run human = berth("waiting");

      assertThat(list.getWaitingList())
          .singleElement()
          .satisfies(
              w -> {
                assertThat(w.getWorkerId()).isEqualTo("cli-it-pdf-waiter");
                assertThat(w.getHeldBy().getReason())
                    .isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
              });
      assertThat(human.code()).as(human.err()).isZero();
      assertThat(human.out())
          .contains("cli-it-pdf-waiter")
          .contains("EXHAUSTED: pool PDF 1/1 in use, 1 queued")
          .contains("1 of 1 waiting");
      held.close();
      AcquireResult granted = waiting.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(granted.isGranted()).as("granted: %s", granted).isTrue();
      ((AcquireResult.Granted) granted).lease().close();
      assertThat(berth("waiting").out()).contains("nothing waiting");
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void leases_badKind_exit2WithoutCallingTheBroker() {
    Run run = berth("leases", "--kind", "gpu");

    assertThat(run.code()).isEqualTo(ExitCode.USAGE);
    assertThat(run.err()).contains("render, pdf, wasm");
  }

  // ------------------------------------------------------------ interventions

  @Test
  void revoke_heldLease_holderToldAdminAndCapacityFree() throws Exception {
    WorkerSession worker = session("cli-it-revoke");
    Lease lease = lease(worker, AcquireOptions.pdf());
    CompletableFuture<RevokedLease> revoked = new CompletableFuture<>();
    lease.onRevoked(revoked::complete);

    Run run = berth("revoke", lease.leaseId(), "--grace", "2s");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("revoked lease " + lease.leaseId()).contains("ADMIN");
    RevokedLease told = revoked.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(told.reason()).isEqualTo(RevokeReason.ADMIN);
    assertThat(told.grace()).isEqualTo(Duration.ofSeconds(2));
    assertThat(pool(status(), ResourceKind.RESOURCE_KIND_PDF).getInUse()).isZero();

    Run again = berth("--json", "revoke", lease.leaseId());
    assertThat(again.code()).isZero();
    assertThat(parse(again.out(), RevokeLeaseResponse.newBuilder()).getRevoked()).isFalse();
  }

  @Test
  void revoke_unknownLease_exit1NamingNotFound() {
    Run run = berth("revoke", "00000000000000000000000000000000");

    assertThat(run.code()).isEqualTo(ExitCode.BROKER_ERROR);
    assertThat(run.err()).startsWith("berth: NOT_FOUND: lease_id:");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void drainSession_workerToldAndExplainSaysDraining() throws Exception {
    WorkerSession worker = session("cli-it-drain");
    CompletableFuture<DrainRequest> drained = new CompletableFuture<>();
    worker.onDrain(drained::complete);

    Run run = berth("drain", worker.sessionId(), "--deadline", "30s");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("draining session " + worker.sessionId());
    drained.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    Run explain = berth("explain", "--kind", "wasm", "--session", worker.sessionId());
    assertThat(explain.code()).isEqualTo(ExitCode.WOULD_REFUSE);
    assertThat(explain.out()).contains("refused DRAINING");
  }

  @Test
  void drainSession_unknown_exit1() {
    Run run = berth("drain", "feedfacefeedfacefeedfacefeedface");

    assertThat(run.code()).isEqualTo(ExitCode.BROKER_ERROR);
    assertThat(run.err()).startsWith("berth: NOT_FOUND: session_id:");
  }

  @Test
  void drainBroker_thenResume_statusFollows() {
    try {
      Run drain = berth("drain", "--deadline", "1m");
      assertThat(drain.code()).as(drain.err()).isZero();
      assertThat(drain.out()).contains("draining the broker").contains("berth drain --resume");
      assertThat(status().getDraining()).isTrue();
      assertThat(berth("status").out()).contains("draining     YES");
    } finally {
      Run resume = berth("drain", "--resume");
      assertThat(resume.code()).as(resume.err()).isZero();
      assertThat(resume.out()).contains("drain lifted");
    }
    assertThat(status().getDraining()).isFalse();
  }

  @Test
  void explain_poolFull_exit4WithTheRuleAndNothingGranted() {
    WorkerSession holder = session("cli-it-holder");
    lease(holder, AcquireOptions.pdf());
    WorkerSession asker = session("cli-it-asker");
    long grantsBefore = status().getTotals().getGrants();

    Run run = berth("explain", "--kind", "pdf", "--session", asker.sessionId());
    Run json = berth("explain", "--json", "--kind", "pdf", "--session", asker.sessionId());

    assertThat(run.code()).as(run.err()).isEqualTo(ExitCode.WOULD_REFUSE);
    assertThat(run.out())
        .contains("would grant  no: refused EXHAUSTED")
        .contains("decided by   pool PDF 1/1 in use")
        .containsPattern("pool PDF +FAIL");
    assertThat(json.code()).isEqualTo(ExitCode.WOULD_REFUSE);
    Explanation explanation = parse(json.out(), Explanation.newBuilder()).build();
    assertThat(explanation.getRefusal().getReason())
        .isEqualTo(RefusalReason.REFUSAL_REASON_EXHAUSTED);
    assertThat(status().getTotals().getGrants()).isEqualTo(grantsBefore);
  }

  @Test
  void explain_freeCapacity_exit0() {
    WorkerSession asker = session("cli-it-explain");

    Run run =
        berth(
            "explain",
            "--kind",
            "render",
            "--url",
            "https://free.example.com/",
            "--session",
            asker.sessionId());

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out()).contains("would grant  yes").containsPattern("host rate +pass");
  }

  @Test
  void explain_unknownSession_exit1() {
    Run run = berth("explain", "--kind", "pdf", "--session", "nobody");

    assertThat(run.code()).isEqualTo(ExitCode.BROKER_ERROR);
    assertThat(run.err()).startsWith("berth: NOT_FOUND: session_id:");
  }

  @Test
  void limitsSet_poolHostAndPressure_appliedLive() {
    Run run =
        berth(
            "limits",
            "set",
            "--wasm",
            "32",
            "--host",
            "slow.example.com=0.5/1",
            "--pressure-on",
            "0.9",
            "--pressure-off",
            "0.8");

    assertThat(run.code()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("limits updated: WASM limit 32, host slow.example.com 0.5/s burst 1")
        .containsPattern("WASM +32 +32");
    assertThat(pool(status(), ResourceKind.RESOURCE_KIND_WASM).getLimit()).isEqualTo(32);
    WorkerSession worker = session("cli-it-limits");
    lease(worker, AcquireOptions.render("https://slow.example.com/1"));
    Run explain =
        berth(
            "explain",
            "--kind",
            "render",
            "--url",
            "https://slow.example.com/2",
            "--session",
            worker.sessionId());
    assertThat(explain.code()).isEqualTo(ExitCode.WOULD_REFUSE);
    assertThat(explain.out()).contains("RATE_LIMITED");
  }

  @Test
  void limitsSet_invalidValue_exit1NamingTheKey() {
    Run run =
        berth("limits", "set", "--render", "2", "--pressure-on", "0.8", "--pressure-off", "0.9");

    assertThat(run.code()).isEqualTo(ExitCode.BROKER_ERROR);
    assertThat(run.err()).startsWith("berth: INVALID_ARGUMENT: memory.pressure_off: must be below");
    assertThat(pool(status(), ResourceKind.RESOURCE_KIND_RENDER).getLimit()).isEqualTo(8);
  }

  // ------------------------------------------------------------ watch

  @Test
  void watch_countWithTypeFilter_printsThatManyEventsAndStops() throws Exception {
    WorkerSession worker = session("cli-it-watch");
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<Run> watching =
          pool.submit(() -> berth("watch", "--json", "--type", "granted", "--count", "2"));
      long deadline = System.nanoTime() + WAIT.toNanos();
      int i = 0;
      while (!watching.isDone() && System.nanoTime() < deadline) {
        // The watch may not be registered yet: keep granting until it has seen two.
        AcquireResult result =
            worker.acquire(AcquireOptions.render("https://w" + i++ + ".example.com/"));
        if (result instanceof AcquireResult.Granted granted) {
          granted.lease().close();
        }
        Thread.sleep(50);
      }
      Run run = watching.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertThat(run.code()).as(run.err()).isZero();
      List<String> lines = run.out().lines().toList();
      assertThat(lines).hasSize(2);
      for (String line : lines) {
        BrokerEvent event = parse(line, BrokerEvent.newBuilder()).build();
        assertThat(event.getType()).isEqualTo(BrokerEventType.BROKER_EVENT_TYPE_GRANTED);
        assertThat(event.getWorkerId()).isEqualTo("cli-it-watch");
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void watch_human_oneLinePerEvent() throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<Run> watching =
          pool.submit(() -> berth("watch", "--type", "session_opened", "--count", "1"));
      long deadline = System.nanoTime() + WAIT.toNanos();
      int i = 0;
      while (!watching.isDone() && System.nanoTime() < deadline) {
        session("cli-it-opener-" + i++);
        Thread.sleep(50);
      }
      Run run = watching.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertThat(run.code()).as(run.err()).isZero();
      assertThat(run.out().lines().toList())
          .singleElement()
          .asString()
          .contains("SESSION_OPENED")
          .contains("worker=cli-it-opener-");
      assertThat(run.err()).contains("watching events at " + daemon.target());
    } finally {
      pool.shutdownNow();
    }
  }

  // ------------------------------------------------------------ unreachable

  @Test
  void unreachableBroker_exit3WithHowToStartIt() throws Exception {
    String target = "127.0.0.1:" + DaemonProcess.freePort();

    Run run = run(List.of("--broker", target, "status"));

    assertThat(run.code()).isEqualTo(ExitCode.UNREACHABLE);
    assertThat(run.err())
        .isEqualTo(
            "berth: cannot reach the broker at "
                + target
                + " (connection refused); is it running? start it with bin/berth serve\n");
    assertThat(run.out()).isEmpty();
  }
}
