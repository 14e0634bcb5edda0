package dev.berth.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.client.AcquireOptions;
import dev.berth.client.AcquireResult;
import dev.berth.client.FakeTicker;
import dev.berth.client.Lease;
import dev.berth.client.ResourceKind;
import dev.berth.client.SafeMode;
import dev.berth.proto.v1.HeldLease;
import dev.berth.proto.v1.ReleaseRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * What a resume hello declares ({@link LeaseRegistry#declare}) while a safe-mode lease the broker
 * counts is being released: its release failed in transit and was queued for a retry, and the
 * closing thread has not yet let the lease go from the safe-mode leases. Both then name the lease,
 * and the hello must name it once (the broker refuses a hello that declares a lease twice). The
 * pause point is the release itself: the test's release queues the request as the session does on a
 * transient failure, and builds the hello's declaration right there, before it returns.
 */
class ResumeDeclarationTest {
  private final FakeTicker ticker = new FakeTicker();
  private final Listeners listeners = new Listeners();
  private final LeaseRegistry registry = new LeaseRegistry(listeners);
  private final SessionGeneration generation =
      new SessionGeneration("s-1", 1, Duration.ofSeconds(30).toNanos(), 0, 0);

  /** In the window: each source's declaration, then the hello's. */
  private final AtomicReference<List<HeldLease>> fromRegistry = new AtomicReference<>();

  private final AtomicReference<List<HeldLease>> fromLocal = new AtomicReference<>();
  private final AtomicReference<List<HeldLease>> hello = new AtomicReference<>();
  private final AtomicReference<LocalLeases> local = new AtomicReference<>();

  @Test
  void declare_countedLocalLeaseWhoseReleaseIsQueuedAsItCloses_namedOnce() {
    LocalLeases leases =
        localLeases(
            1,
            (lease, outcome, heldNanos) -> {
              // The session's release, failed in transit: queued, declared until answered.
              registry.queueRelease(
                  ReleaseRequest.newBuilder()
                      .setSessionId(lease.sessionId())
                      .setLeaseId(lease.leaseId())
                      .build(),
                  lease);
              // A resume hello built now, before the closing thread returns.
              fromRegistry.set(registry.held(generation));
              fromLocal.set(local.get().declare(generation, registry));
              hello.set(registry.declare(generation, local.get()));
            });
    local.set(leases);
    Lease lease = granted(leases.acquire(AcquireOptions.render("https://a.example/"), generation));
    // The broker counts it: declared on a resume and not in that resume's lost leases.
    assertThat(leases.declare(generation, registry)).extracting(HeldLease::getLeaseId).hasSize(1);
    leases.answered(generation, new HashSet<>(), registry);

    lease.close();

    String id = lease.leaseId();
    assertThat(fromRegistry.get()).extracting(HeldLease::getLeaseId).containsExactly(id);
    assertThat(fromLocal.get()).extracting(HeldLease::getLeaseId).containsExactly(id);
    assertThat(hello.get()).extracting(HeldLease::getLeaseId).containsExactly(id);
    // Once the closing thread has returned, the queued retry alone declares it.
    assertThat(leases.declare(generation, registry)).isEmpty();
    assertThat(registry.declare(generation, leases))
        .extracting(HeldLease::getLeaseId)
        .containsExactly(id);
  }

  @Test
  void declare_localLeases_eachOnceInGrantOrder_noneWithoutSafeMode() {
    LocalLeases leases = localLeases(2, (lease, outcome, heldNanos) -> {});
    List<String> ids = new ArrayList<>();
    for (String url : List.of("https://a.example/", "https://b.example/")) {
      ids.add(granted(leases.acquire(AcquireOptions.render(url), generation)).leaseId());
    }

    assertThat(registry.declare(generation, leases))
        .extracting(HeldLease::getLeaseId)
        .containsExactlyElementsOf(ids);
    assertThat(registry.declare(generation, null)).isEmpty();
  }

  /**
   * Safe-mode leases with a budget of {@code render} RENDER leases, released by {@code release}.
   */
  private LocalLeases localLeases(int render, LocalLeases.CountedRelease release) {
    SafeMode mode =
        SafeMode.newBuilder()
            .after(Duration.ofMillis(1))
            .budget(ResourceKind.RENDER, render)
            .build();
    return new LocalLeases(mode, ticker, listeners, release);
  }

  private static Lease granted(AcquireResult result) {
    assertThat(result).isInstanceOf(AcquireResult.Granted.class);
    return ((AcquireResult.Granted) result).lease();
  }
}
