package dev.berth.server.broker;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.BundleSpec;
import dev.berth.server.admission.Request;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.session.Session;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Carries request-id idempotency from one broker to the next: what each lease's request asked for
 * goes with the lease ({@link Fleet.Asked}, in the journal and in a handoff or state file), and the
 * broker that loads the leases remembers those requests as answered by them. A worker that retries
 * an acquire or bundle with the same request id after a failover, handoff or restart is then told
 * the leases it was granted, not granted again.
 *
 * <p>Not thread-safe: {@link #remember} runs under the broker's lock, like the commands that share
 * its {@link BrokerState}.
 */
final class CarriedRequests {
  private final BrokerState state;

  CarriedRequests(BrokerState state) {
    this.state = state;
  }

  /** What item {@code item} of {@code request} asked for. */
  static Fleet.Asked asked(Request<?> request, int item) {
    AcquireSpec spec = request.item(item);
    return new Fleet.Asked(
        request.requestId(), spec.url(), spec.module(), item, request.itemCount());
  }

  /**
   * What asked for each lease granted by a request the sessions still remember, by lease id. A
   * lease whose request was forgotten (the session's recent ids are bounded) or that no request
   * asked for is absent.
   */
  static Map<String, Fleet.Asked> of(Collection<Session> sessions) {
    Map<String, Fleet.Asked> asked = new HashMap<>();
    for (Session session : sessions) {
      session
          .recentRequests()
          .forEach(
              (requestId, entry) -> {
                List<Lease> leases = entry.grantedLeases();
                for (int i = 0; i < leases.size(); i++) {
                  // A WASM instance a session already held answers later requests too; the
                  // request that first took it keeps it.
                  asked.putIfAbsent(leases.get(i).id(), asked(entry.request(), i));
                }
              });
    }
    return asked;
  }

  /**
   * Remembers in each loaded lease's session the request that took it, answered by the leases now
   * loaded. A request is remembered only when every item's lease is here: its own, or, for the one
   * item a bundle may have answered with the WASM instance its session already held, that instance.
   * Call after the leases are loaded.
   *
   * @param defaultModule the module a WASM item asking for none was given
   * @return how many requests were remembered
   */
  @GuardedBy("state.lock")
  int remember(List<Fleet.LeaseEntry> entries, String defaultModule) {
    Map<String, Fleet.LeaseEntry[]> byRequest = new LinkedHashMap<>();
    for (Fleet.LeaseEntry e : entries) {
      Fleet.Asked a = e.asked();
      if (a.requestId().isEmpty() || a.items() < 1 || a.item() >= a.items()) {
        continue;
      }
      Lease loaded = state.leases.get(e.id());
      if (loaded == null || !loaded.sessionId().equals(e.sessionId())) {
        continue;
      }
      Fleet.LeaseEntry[] items =
          byRequest.computeIfAbsent(
              e.sessionId() + '\n' + a.requestId(), k -> new Fleet.LeaseEntry[a.items()]);
      if (items.length == a.items()) {
        items[a.item()] = e;
      }
    }
    int remembered = 0;
    for (Fleet.LeaseEntry[] items : byRequest.values()) {
      if (rememberOne(items, defaultModule)) {
        remembered++;
      }
    }
    return remembered;
  }

  @GuardedBy("state.lock")
  private boolean rememberOne(Fleet.LeaseEntry[] items, String defaultModule) {
    Fleet.LeaseEntry any = null;
    int missing = -1;
    for (int i = 0; i < items.length; i++) {
      if (items[i] != null) {
        any = items[i];
      } else if (missing >= 0) {
        return false; // two items without a lease: not a WASM instance the session held
      } else {
        missing = i;
      }
    }
    if (any == null) {
      return false;
    }
    String sessionId = any.sessionId();
    Session session = state.sessions.get(sessionId);
    if (session == null) {
      return false;
    }
    String requestId = any.asked().requestId();
    Lease[] leases = new Lease[items.length];
    int heldItem = -1;
    List<AcquireSpec> specs = new ArrayList<>(items.length);
    for (int i = 0; i < items.length; i++) {
      Fleet.LeaseEntry e = items[i];
      if (e == null) {
        Lease held = state.leases.firstOf(sessionId, ResourceKind.WASM);
        if (held == null || items.length == 1) {
          return false;
        }
        leases[i] = held;
        heldItem = i;
        String module = held.module().equals(defaultModule) ? "" : held.module();
        specs.add(spec(sessionId, ResourceKind.WASM, "", "", module, ""));
      } else {
        leases[i] = state.leases.get(e.id());
        String id = items.length == 1 ? requestId : "";
        specs.add(spec(sessionId, e.kind(), e.asked().url(), e.host(), e.asked().module(), id));
      }
    }
    Request<?> request =
        items.length == 1 ? specs.get(0) : new BundleSpec(sessionId, specs, 0, requestId, 0);
    if (session.recentRequests().get(requestId) == null) {
      answer(session, request, leases, heldItem);
    }
    return true;
  }

  private static <A> void answer(
      Session session, Request<A> request, Lease[] leases, int heldItem) {
    session
        .recentRequests()
        .remember(request.requestId(), request)
        .answered(request.granted(leases, heldItem));
  }

  private static AcquireSpec spec(
      String sessionId,
      ResourceKind kind,
      String url,
      String host,
      String module,
      String requestId) {
    return new AcquireSpec(sessionId, kind, url, host, module, 0, requestId, 0, 0);
  }
}
