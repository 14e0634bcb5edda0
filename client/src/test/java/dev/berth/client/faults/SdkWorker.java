package dev.berth.client.faults;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.WorkerSession;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A worker process for fault tests, on the SDK: opens a session, acquires N RENDER leases, prints
 * {@code HELD <token>} for each and {@code READY <session>}, then reports what its SDK says: {@code
 * INVALID <token>} once a lease is no longer valid, {@code REVOKED <lease>} and {@code LOST
 * <session>} as the listeners are told.
 *
 * <p>Usage: {@code SdkWorker HOST:PORT N}
 */
public final class SdkWorker {
  private SdkWorker() {}

  public static void main(String[] args) throws Exception {
    BrokerClient client =
        BrokerClient.newBuilder()
            .target(args[0])
            .callDeadline(Duration.ofSeconds(3))
            .reconnectBackoff(Duration.ofMillis(100), Duration.ofMillis(500))
            .build();
    WorkerSession session = client.openSession("sdk-worker");
    session.onRevoked(r -> say("REVOKED " + r.leaseId() + " " + r.reason()));
    session.onSessionLost(l -> say("LOST " + l));
    List<Lease> leases = new ArrayList<>();
    for (int i = 0; i < Integer.parseInt(args[1]); i++) {
      AcquireResult result =
          session.acquire(AcquireOptions.render("https://site" + i + ".example/page"));
      if (!(result instanceof AcquireResult.Granted granted)) {
        say("REFUSED " + result);
        System.exit(5);
        return;
      }
      leases.add(granted.lease());
      say("HELD " + granted.lease().fencingToken());
    }
    say("READY " + session.sessionId());
    List<Lease> valid = new ArrayList<>(leases);
    while (true) {
      for (Lease lease : List.copyOf(valid)) {
        if (!lease.isValid()) {
          say("INVALID " + lease.fencingToken());
          valid.remove(lease);
        }
      }
      // Real time on purpose: this is a worker process of PausedWorkerIT, watching its leases lapse
      // on the real clock while the test pauses and resumes it.
      Thread.sleep(20);
    }
  }

  private static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
