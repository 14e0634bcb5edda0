package dev.berth.client;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.docs.QuickStartExample;
import dev.berth.server.lease.LeaseEnd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Keeps the example of docs/worker.md true: it runs against a real (in-process) broker, and the
 * page shows it as it is.
 */
class QuickStartTest {

  @Test
  void workerDoc_showsTheExampleVerbatim() throws IOException {
    String source =
        Files.readString(Path.of("src/test/java/dev/berth/client/docs/QuickStartExample.java"));
    String doc = Files.readString(Path.of("../docs/worker.md"));
    int start = doc.indexOf("```java\n") + "```java\n".length();
    String shown = doc.substring(start, doc.indexOf("```", start));

    assertThat(shown).isEqualTo(source.substring(source.indexOf("\nimport ") + 1));
  }

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
