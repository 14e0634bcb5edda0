package dev.berth.server.e2e;

import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.AcquireResponse;
import dev.berth.proto.v1.Heartbeat;
import dev.berth.proto.v1.Hello;
import dev.berth.proto.v1.LeaseBrokerGrpc;
import dev.berth.proto.v1.ResourceKind;
import dev.berth.proto.v1.SessionEvent;
import dev.berth.proto.v1.SessionRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A worker process for end-to-end tests: opens a session, acquires N RENDER leases, prints {@code
 * HELD <token>} for each and {@code READY}, then heartbeats until killed.
 *
 * <p>Usage: {@code HoldingWorker HOST:PORT N}
 */
public final class HoldingWorker {
  private HoldingWorker() {}

  public static void main(String[] args) throws Exception {
    ManagedChannel channel = ManagedChannelBuilder.forTarget(args[0]).usePlaintext().build();
    int count = Integer.parseInt(args[1]);
    CompletableFuture<String> sessionId = new CompletableFuture<>();
    StreamObserver<SessionRequest> requests =
        LeaseBrokerGrpc.newStub(channel)
            .openSession(
                new StreamObserver<>() {
                  @Override
                  public void onNext(SessionEvent event) {
                    if (event.hasOpened()) {
                      sessionId.complete(event.getOpened().getSessionId());
                    }
                  }

                  @Override
                  public void onError(Throwable t) {
                    System.out.println("STREAM-ERROR " + t);
                    System.exit(3);
                  }

                  @Override
                  public void onCompleted() {
                    System.exit(4);
                  }
                });
    requests.onNext(
        SessionRequest.newBuilder()
            .setHello(Hello.newBuilder().setWorkerId("holding-worker"))
            .build());
    String session = sessionId.get(10, TimeUnit.SECONDS);
    LeaseBrokerGrpc.LeaseBrokerBlockingStub stub = LeaseBrokerGrpc.newBlockingStub(channel);
    for (int i = 0; i < count; i++) {
      AcquireResponse response =
          stub.acquire(
              AcquireRequest.newBuilder()
                  .setSessionId(session)
                  .setKind(ResourceKind.RESOURCE_KIND_RENDER)
                  .setUrl("https://site" + i + ".example/page")
                  .build());
      if (!response.hasGranted()) {
        System.out.println("REFUSED " + response.getRefused());
        System.exit(5);
      }
      System.out.println("HELD " + response.getGranted().getFencingToken());
    }
    System.out.println("READY " + session);
    System.out.flush();
    for (long seq = 1; ; seq++) {
      synchronized (requests) {
        requests.onNext(
            SessionRequest.newBuilder().setHeartbeat(Heartbeat.newBuilder().setSeq(seq)).build());
      }
      Thread.sleep(300);
    }
  }
}
