// The example of docs/worker.md, from the first import on. QuickStartTest runs it and checks that
// the page shows it verbatim: edit both together.
package dev.berth.client.docs;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.Outcome;
import dev.berth.client.WorkerSession;
import java.time.Duration;
import java.util.List;

/** Renders pages under RENDER leases granted by a Berth broker. */
public final class QuickStartExample {
  private QuickStartExample() {}

  public static void main(String[] args) {
    try (BrokerClient client = BrokerClient.newBuilder().target("127.0.0.1:7433").build()) {
      int rendered = crawl(client, List.of("https://example.com/", "https://example.org/"));
      System.out.println("rendered " + rendered + " pages");
    }
  }

  /** Renders each URL under a RENDER lease; returns how many were rendered. */
  public static int crawl(BrokerClient client, List<String> urls) {
    try (WorkerSession session = client.openSession("crawler-17")) {
      session.onRevoked(r -> System.err.println("lost " + r.leaseId() + ": " + r.reason()));
      int rendered = 0;
      for (String url : urls) {
        AcquireResult result =
            session.acquireWithRetry(AcquireOptions.render(url), Duration.ofSeconds(30));
        if (result instanceof AcquireResult.Refused refused) {
          System.err.println("skipped " + url + ": " + refused.reason() + ", " + refused.detail());
          continue;
        }
        try (Lease lease = ((AcquireResult.Granted) result).lease()) {
          int status = render(url, lease);
          lease.recordOutcome(Outcome.http(status));
          rendered++;
        }
      }
      return rendered;
    }
  }

  /** Stands in for the real work: drive a browser, write the page with the fencing token. */
  private static int render(String url, Lease lease) {
    if (!lease.isValid()) {
      throw new IllegalStateException("lease lost before rendering " + url);
    }
    long token = lease.fencingToken(); // store it with what you write
    return token > 0 ? 200 : 500;
  }
}
