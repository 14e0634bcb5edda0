package dev.berth.server.grpc;

import static dev.berth.proto.v1.ResourceKind.RESOURCE_KIND_PDF;
import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.Lease;
import dev.berth.server.config.Policy;
import dev.berth.server.metrics.StreamDrops;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A watcher dropped for falling behind is counted, once, as a WATCH stream drop. */
class WatchDropsTest {
  private final List<StreamDrops.Stream> drops = new ArrayList<>();
  private final InProcessBroker b =
      new InProcessBroker(
          Policy.of(InProcessBroker.config().build()),
          BrokerServer.Options.DEFAULT.withDrops(
              stream -> {
                synchronized (drops) {
                  drops.add(stream);
                }
              }));

  @AfterEach
  void close() {
    b.close();
  }

  @Test
  void watcherThatDoesNotRead_isDroppedAndCountedOnce() {
    WatchRecorder slow = WatchRecorder.notReading(BrokerAdminGrpc.newStub(b.channel));
    String session = b.openSession("worker-1").sessionId();

    // Two events per pair: one past the bound drops the watcher, the rest find it gone.
    for (int i = 0; i < EventHub.MAX_PENDING / 2 + 2; i++) {
      Lease lease = b.grant(session, RESOURCE_KIND_PDF);
      b.release(session, lease.getLeaseId());
    }

    assertThat(slow.status().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(drops).containsExactly(StreamDrops.Stream.WATCH);
  }
}
