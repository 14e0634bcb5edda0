import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.BrokerClient;
import dev.berth.client.Lease;
import dev.berth.client.WorkerSession;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A worker for mixed-versions.sh, compiled against the SDK of the older build: holds N RENDER
 * leases for the whole run and, every two seconds, says whether each is still valid and takes one
 * fresh lease, printing whether its fencing token lies above every token it held before.
 */
public final class Holder {
  private Holder() {}

  public static void main(String[] args) throws Exception {
    int n = Integer.parseInt(args[1]);
    long end = System.nanoTime() + Duration.ofSeconds(Long.parseLong(args[2])).toNanos();
    try (BrokerClient client = BrokerClient.newBuilder().targets(args[0].split(",")).build();
        WorkerSession s = client.openSession("upgrade-holder")) {
      s.onRevoked(r -> System.out.println("REVOKED " + r.leaseId() + " " + r.reason()));
      List<Lease> held = new ArrayList<>();
      long max = 0;
      for (int i = 0; i < n; i++) {
        AcquireOptions render = AcquireOptions.render("https://h" + i + ".example/");
        Lease l = ((AcquireResult.Granted) s.acquireWithRetry(render, Duration.ofSeconds(30))).lease();
        held.add(l);
        max = Math.max(max, l.fencingToken());
        System.out.println("GRANT " + l.leaseId() + " token=" + l.fencingToken());
      }
      System.out.println("HOLDING " + n);
      for (int k = 0; System.nanoTime() < end; k++) {
        Thread.sleep(2000);
        long valid = held.stream().filter(Lease::isValid).count();
        System.out.println("TICK valid=" + valid + "/" + n + (valid < n ? " LOST" : ""));
        try {
          AcquireResult r = s.acquire(AcquireOptions.render("https://fresh" + k + ".example/"));
          if (r instanceof AcquireResult.Granted g) {
            long t = g.lease().fencingToken();
            System.out.println("FRESH token=" + t + (t > max ? " above" : " NOT-ABOVE " + max));
            max = Math.max(max, t);
            g.lease().close();
          }
        } catch (RuntimeException e) {
          System.out.println("FRESH failed " + e.getMessage()); // during a change of leader
        }
      }
    }
  }
}
