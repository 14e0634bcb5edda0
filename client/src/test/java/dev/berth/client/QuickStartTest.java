package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.docs.QuickStartExample;
import dev.berth.server.lease.LeaseEnd;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Keeps the example of docs/worker.md true: it runs against a real (in-process) broker. */
class QuickStartTest {

  @Test
  void crawl_threeUrls_rendersEachAndReleasesWithOutcome() {
    try (TestBroker broker = new TestBroker();
        BrokerClient client = broker.client()) {

      int rendered =
          QuickStartExample.crawl(
              client,
              List.of("https://example.com/a", "https://example.com/b", "https://example.org/"));

      assertThat(rendered).isEqualTo(3);
      assertThat(broker.ended)
          .hasSize(3)
          .allSatisfy(
              e -> {
                assertThat(e.how()).isEqualTo(LeaseEnd.RELEASED);
                assertThat(e.outcome().httpStatus()).isEqualTo(200);
              });
      assertThat(broker.inUse(dev.berth.server.lease.ResourceKind.RENDER)).isZero();
      assertThat(broker.broker.sessionCount()).isZero();
    }
  }
}
