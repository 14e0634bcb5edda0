package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static dev.berth.server.grpc.InProcessBroker.failure;
import static dev.berth.server.grpc.InProcessBroker.proto;
import static dev.berth.server.grpc.InProcessBroker.request;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.DescriptorProtos.MethodDescriptorProto;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.SessionRequest;
import dev.berth.server.lease.ResourceKind;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.reflection.v1.ServiceResponse;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What {@link BrokerServer} serves besides LeaseBroker, and how it shuts down. */
class BrokerServerTest {
  private InProcessBroker b;

  @BeforeEach
  void setUp() {
    b = new InProcessBroker();
  }

  @AfterEach
  void tearDown() {
    b.close();
  }

  /** Records a server stream's messages and its end. */
  private static final class Recorder<T> implements StreamObserver<T> {
    final BlockingQueue<T> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();

    @Override
    public void onNext(T value) {
      messages.add(value);
    }

    @Override
    public void onError(Throwable t) {
      closed.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      closed.complete(Status.OK);
    }

    T next() throws InterruptedException {
      T value = messages.poll(5, TimeUnit.SECONDS);
      assertThat(value).as("a message").isNotNull();
      return value;
    }

    Status status() throws Exception {
      return closed.get(5, TimeUnit.SECONDS);
    }
  }

  private ServingStatus check(String service) {
    return HealthGrpc.newBlockingStub(b.channel)
        .check(HealthCheckRequest.newBuilder().setService(service).build())
        .getStatus();
  }

  // ------------------------------------------------------------ health

  @Test
  void healthCheck_overall_serving() {
    assertThat(check("")).isEqualTo(ServingStatus.SERVING);
  }

  @Test
  void healthCheck_leaseBroker_serving() {
    assertThat(check(LeaseBrokerGrpc.SERVICE_NAME)).isEqualTo(ServingStatus.SERVING);
    assertThat(LeaseBrokerGrpc.SERVICE_NAME).isEqualTo("berth.v1.LeaseBroker");
  }

  @Test
  void healthCheck_unknownService_notFound() {
    failure(Status.Code.NOT_FOUND, () -> check("berth.v1.NoSuchService"));
  }

  // ------------------------------------------------------------ reflection

  @Test
  void reflectionV1_listServices_includesLeaseBrokerAndHealth() throws Exception {
    Recorder<ServerReflectionResponse> responses = new Recorder<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(b.channel).serverReflectionInfo(responses);

    requests.onNext(ServerReflectionRequest.newBuilder().setListServices("*").build());
    ServerReflectionResponse response = responses.next();
    requests.onCompleted();

    assertThat(response.getListServicesResponse().getServiceList())
        .extracting(ServiceResponse::getName)
        .contains("berth.v1.LeaseBroker", "grpc.health.v1.Health");
    assertThat(responses.status().isOk()).isTrue();
  }

  @Test
  void reflectionV1_fileContainingLeaseBroker_describesItsMethods() throws Exception {
    Recorder<ServerReflectionResponse> responses = new Recorder<>();
    StreamObserver<ServerReflectionRequest> requests =
        ServerReflectionGrpc.newStub(b.channel).serverReflectionInfo(responses);

    requests.onNext(
        ServerReflectionRequest.newBuilder()
            .setFileContainingSymbol("berth.v1.LeaseBroker")
            .build());
    ServerReflectionResponse response = responses.next();
    requests.onCompleted();

    assertThat(response.hasFileDescriptorResponse()).as("descriptor: %s", response).isTrue();
    List<FileDescriptorProto> files = new ArrayList<>();
    for (ByteString bytes : response.getFileDescriptorResponse().getFileDescriptorProtoList()) {
      files.add(FileDescriptorProto.parseFrom(bytes));
    }
    assertThat(files)
        .flatExtracting(FileDescriptorProto::getServiceList)
        .filteredOn(s -> s.getName().equals("LeaseBroker"))
        .singleElement()
        .satisfies(
            s ->
                assertThat(s.getMethodList())
                    .extracting(MethodDescriptorProto::getName)
                    .contains("OpenSession", "Acquire", "Release", "GetModule"));
  }

  @Test
  @SuppressWarnings("deprecation")
  void reflectionV1alpha_listServices_includesLeaseBroker() throws Exception {
    Recorder<io.grpc.reflection.v1alpha.ServerReflectionResponse> responses = new Recorder<>();
    StreamObserver<io.grpc.reflection.v1alpha.ServerReflectionRequest> requests =
        io.grpc.reflection.v1alpha.ServerReflectionGrpc.newStub(b.channel)
            .serverReflectionInfo(responses);

    requests.onNext(
        io.grpc.reflection.v1alpha.ServerReflectionRequest.newBuilder()
            .setListServices("*")
            .build());
    io.grpc.reflection.v1alpha.ServerReflectionResponse response = responses.next();
    requests.onCompleted();

    assertThat(response.getListServicesResponse().getServiceList())
        .extracting(io.grpc.reflection.v1alpha.ServiceResponse::getName)
        .contains("berth.v1.LeaseBroker");
  }

  // ------------------------------------------------------------ shutdown

  @Test
  void shutdown_openSessionStreams_closedUnavailableWithoutWaitingOutGrace() {
    SessionRecorder first = b.openSession("worker-1");
    SessionRecorder second = b.openSession("worker-2");
    b.grant(first.sessionId(), RESOURCE_KIND_PDF);

    long started = System.nanoTime();
    b.shutdownServer(Duration.ofSeconds(30));
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

    assertThat(first.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(second.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(tookMillis).as("shutdown waited for streams that never end").isLessThan(10_000);
    assertThat(b.broker.inUse(ResourceKind.PDF))
        .as("leases survive for the workers to re-declare")
        .isEqualTo(1);
  }

  @Test
  void shutdown_streamBeforeHello_closedUnavailableWithoutWaitingOutGrace() {
    SessionRecorder stream = b.openStream();
    Duration grace = Duration.ofSeconds(3);

    long started = System.nanoTime();
    b.shutdownServer(grace);
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

    assertThat(stream.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(tookMillis).as("shutdown waited out its grace").isLessThan(grace.toMillis());
  }

  @Test
  void shutdown_waitingAcquire_failsUnavailable_notRefusedDraining() {
    String session = b.openSession("worker-1").sessionId();
    b.grant(session, RESOURCE_KIND_PDF);
    b.grant(session, RESOURCE_KIND_PDF);
    ListenableFuture<AcquireResponse> waiting =
        b.future.acquire(
            request(session, RESOURCE_KIND_PDF).setWait(proto(Duration.ofSeconds(10))).build());
    assertThat(waiting.isDone()).isFalse();

    long started = System.nanoTime();
    b.shutdownServer(Duration.ofSeconds(30));

    // A restart is not a drain: told UNAVAILABLE, the worker asks the restarted broker again.
    Status status = failure(Status.Code.UNAVAILABLE, waiting);
    assertThat(status.getDescription()).contains("shutting down");
    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started))
        .as("answered at once, not after the grace")
        .isLessThan(10_000);
  }

  @Test
  void shutdown_healthWatcher_seesNotServingBeforeServerStops() throws Exception {
    Recorder<HealthCheckResponse> watch = new Recorder<>();
    HealthGrpc.newStub(b.channel)
        .watch(
            HealthCheckRequest.newBuilder().setService(LeaseBrokerGrpc.SERVICE_NAME).build(),
            watch);
    assertThat(watch.next().getStatus()).isEqualTo(ServingStatus.SERVING);
    SessionRecorder stream = b.openSession("worker-1");

    // No grace: the watch never ends by itself, so the server cancels it once health has spoken.
    b.shutdownServer(Duration.ZERO);

    assertThat(watch.next().getStatus()).isEqualTo(ServingStatus.NOT_SERVING);
    assertThat(watch.status().isOk()).isFalse();
    assertThat(stream.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void shutdown_thenAcquire_unavailable() {
    String session = b.openSession("worker-1").sessionId();

    b.shutdownServer(Duration.ofSeconds(5));

    failure(Status.Code.UNAVAILABLE, () -> b.acquire(request(session, RESOURCE_KIND_PDF)));
  }

  @Test
  void shutdown_brokerShutDownFirst_acquireAndOpenUnavailable() {
    String session = b.openSession("worker-1").sessionId();

    b.broker.shutdown();

    Status acquire =
        failure(Status.Code.UNAVAILABLE, () -> b.acquire(request(session, RESOURCE_KIND_PDF)));
    assertThat(acquire.getDescription()).contains("shutting down");
    SessionRecorder stream = b.openStream();
    stream.send(
        SessionRequest.newBuilder().setHello(Hello.newBuilder().setWorkerId("worker-2")).build());
    assertThat(stream.status().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void shutdown_calledTwice_noWarning() {
    Logger grpcHealth = Logger.getLogger("io.grpc.protobuf.services.HealthServiceImpl");
    List<LogRecord> records = new CopyOnWriteArrayList<>();
    Handler handler =
        new Handler() {
          @Override
          public void publish(LogRecord record) {
            records.add(record);
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        };
    grpcHealth.addHandler(handler);
    try {
      b.shutdownServer(Duration.ofSeconds(5));
      b.server.close(); // try-with-resources after an explicit shutdown, as a daemon would
    } finally {
      grpcHealth.removeHandler(handler);
    }

    assertThat(records)
        .as("grpc health log: %s", records.stream().map(LogRecord::getMessage).toList())
        .extracting(LogRecord::getLevel)
        .doesNotContain(Level.WARNING);
  }
}
