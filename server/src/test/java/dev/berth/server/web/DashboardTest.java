package dev.berth.server.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.RecordingAcquireCallback;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.Fleet;
import dev.berth.server.broker.LeaseIds;
import dev.berth.server.broker.ReplicaFleets;
import dev.berth.server.broker.Statuses;
import dev.berth.server.broker.Views;
import dev.berth.server.cluster.ClusterRole;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.config.BrokerConfig;
import dev.berth.server.config.Policy;
import dev.berth.server.http.HttpListener;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.Lease;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.metrics.StreamDrops;
import dev.berth.server.ratelimit.RateLimitConfig;
import dev.berth.server.replication.AdminReads;
import dev.berth.server.replication.ServingRole;
import dev.berth.server.security.Role;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.session.HelloSpec;
import dev.berth.server.session.RecordingSessionChannel;
import dev.berth.server.time.FakeTimeSource;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The dashboard's HTTP side over a real loopback listener, with a real broker on a fake clock: who
 * may read and act, every action and its errors, and the live stream. Ticks run when the test
 * advances the clock, on the test's thread; streams are written by the listener's threads.
 */
class DashboardTest {
  private static final String PRINCIPAL = "anonymous";
  private static final String ADMIN = "admin-secret";
  private static final String WORKER = "worker-secret";

  private final FakeTimeSource time = new FakeTimeSource();
  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Map<StreamDrops.Stream, Integer> drops = new EnumMap<>(StreamDrops.Stream.class);
  private final List<AutoCloseable> open = new ArrayList<>();
  private Broker broker;
  private Dashboard dashboard;

  /** The broker's place: serving unless a test makes it a follower. */
  private volatile boolean serving = true;

  /** The follower's replica of the leader's state; null for a member that has none. */
  private volatile Fleet replica;

  /** This node's view of its cluster; empty unless a test makes it a member. */
  private volatile Optional<ClusterStatus> clusterStatus = Optional.empty();

  private final ServingRole role =
      new ServingRole() {
        @Override
        public boolean serving() {
          return serving;
        }

        @Override
        public String leaderApi() {
          return "10.0.0.2:7433";
        }

        @Override
        public Optional<ClusterStatus> cluster() {
          return clusterStatus;
        }

        @Override
        public void onChange(Runnable listener) {}

        @Override
        public Optional<Fleet> replicaWhileNotServing() {
          return serving || replica == null ? Optional.empty() : Optional.of(replica);
        }

        @Override
        public long replicaVersion() {
          return replicaVersion;
        }
      };

  /** What the replica applied last, as {@link ServingRole#replicaVersion}; a test moves it. */
  private volatile long replicaVersion;

  private HttpListener web;

  /** The crawl jobs the broker's policy configures; a test sets them before it starts. */
  private JobsConfig jobs = JobsConfig.defaults();

  private void start(TokenRegistry tokens, boolean loopback, int maxStreams) {
    Policy policy =
        Policy.of(BrokerConfig.newBuilder().limit(ResourceKind.RENDER, 2).build())
            .withRateLimit(RateLimitConfig.newBuilder().defaultRate(100).defaultBurst(100).build())
            .withJobs(jobs);
    broker = new Broker(policy, time, 1, () -> 2, LeaseIds.seeded(7), HeapProbe.NONE);
    dashboard =
        Dashboard.start(
            broker,
            time,
            HeapProbe.NONE,
            new WebAccess(tokens, loopback),
            ClusterView.of(role), // standalone until a test makes it a member
            role,
            maxStreams,
            stream -> {
              synchronized (drops) {
                drops.merge(stream, 1, Integer::sum);
              }
            });
    web =
        HttpListener.start(
            "metrics.listen",
            InetSocketAddress.createUnresolved("127.0.0.1", 0),
            Optional.empty(),
            maxStreams + 2,
            Map.of("/", dashboard));
  }

  private void startOpen() {
    start(TokenRegistry.of(List.of()), true, 2);
  }

  private static TokenRegistry tokens() {
    return TokenRegistry.of(
        List.of(
            new TokenRegistry.Entry("ops", Set.of(Role.ADMIN), TokenRegistry.hash(ADMIN)),
            new TokenRegistry.Entry("crawler", Set.of(Role.WORKER), TokenRegistry.hash(WORKER))));
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : open) {
      c.close();
    }
    if (dashboard != null) {
      dashboard.close();
      web.close();
      broker.close();
    }
  }

  // ---------------------------------------------------------------- helpers

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + web.port() + path);
  }

  private HttpResponse<String> get(String path, String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(10));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String body, String... headers) throws Exception {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(uri(path))
            .timeout(Duration.ofSeconds(10))
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      b.headers(headers);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> postJson(String path, String body) throws Exception {
    return post(path, body, "Content-Type", "application/json");
  }

  private static JsonObject json(HttpResponse<String> response) {
    return JsonParser.parseString(response.body()).getAsJsonObject();
  }

  private static JsonObject error(HttpResponse<String> response) {
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
    return json(response).getAsJsonObject("error");
  }

  private static JsonObject pool(JsonObject snapshot, String kind) {
    for (var p : snapshot.getAsJsonArray("pools")) {
      if (p.getAsJsonObject().get("kind").getAsString().equals(kind)) {
        return p.getAsJsonObject();
      }
    }
    throw new AssertionError("no pool " + kind + " in " + snapshot);
  }

  private String openSession(RecordingSessionChannel channel) {
    return broker
        .open(
            HelloSpec.validate("w1", Map.of("job", "nightly"), 0, "", List.of()),
            PRINCIPAL,
            channel)
        .sessionId();
  }

  /** Opens a session of worker {@code worker} whose hello names job {@code job}. */
  private String openSessionOfJob(String worker, String job) {
    return broker
        .open(
            HelloSpec.validate(worker, Map.of(), 0, "", List.of(), job),
            PRINCIPAL,
            new RecordingSessionChannel())
        .sessionId();
  }

  private Lease acquire(String session) {
    return acquire(session, "https://example.com/a");
  }

  private Lease acquire(String session, String url) {
    RecordingAcquireCallback callback = new RecordingAcquireCallback();
    broker.acquire(
        AcquireSpec.validate(session, ResourceKind.RENDER, url, "", null, "", 0, 0),
        PRINCIPAL,
        callback);
    return callback.granted();
  }

  /** Reads a stream's frames on a thread of its own, so the test can wait with a timeout. */
  private static final class Frames implements AutoCloseable {
    final BlockingQueue<String[]> frames = new LinkedBlockingQueue<>();
    final InputStream body;
    final Thread reader;

    Frames(InputStream body) {
      this.body = body;
      this.reader =
          new Thread(
              () -> {
                try (BufferedReader in =
                    new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                  String event = "";
                  String line;
                  while ((line = in.readLine()) != null) {
                    if (line.startsWith("event: ")) {
                      event = line.substring(7);
                    } else if (line.startsWith("data: ")) {
                      frames.add(new String[] {event, line.substring(6)});
                    }
                  }
                  frames.add(new String[] {"end", ""});
                } catch (java.io.IOException e) {
                  frames.add(new String[] {"end", e.toString()});
                }
              },
              "sse-reader");
      reader.setDaemon(true);
      reader.start();
    }

    /** The next frame named {@code event}, skipping others; fails after 10 s. */
    JsonObject next(String event) throws InterruptedException {
      return nextData(event).getAsJsonObject();
    }

    /** The data of the next frame named {@code event}. */
    com.google.gson.JsonElement nextData(String event) throws InterruptedException {
      while (true) {
        String[] f = frames.poll(10, TimeUnit.SECONDS);
        assertThat(f).as("a '%s' frame within 10 s", event).isNotNull();
        assertThat(f[0]).as("stream ended: %s", f[1]).isNotEqualTo("end");
        if (f[0].equals(event)) {
          return JsonParser.parseString(f[1]);
        }
      }
    }

    @Override
    public void close() throws java.io.IOException {
      body.close();
    }
  }

  private Frames stream(String... headers) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri("/api/stream"));
    if (headers.length > 0) {
      b.headers(headers);
    }
    HttpResponse<InputStream> response =
        http.send(b.GET().build(), HttpResponse.BodyHandlers.ofInputStream());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
    Frames frames = new Frames(response.body());
    open.add(frames);
    return frames;
  }

  // ---------------------------------------------------------------- page and assets

  @Test
  void page_isServedWithAContentSecurityPolicy_andItsAssetsFromTheJar() throws Exception {
    startOpen();

    HttpResponse<String> page = get("/");
    HttpResponse<String> uplot = get("/vendor/uPlot.iife.min.js");
    HttpResponse<String> script = get("/dashboard.js");

    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("<title>Berth</title>", "vendor/uPlot.iife.min.js");
    assertThat(page.headers().firstValue("Content-Security-Policy"))
        .hasValueSatisfying(csp -> assertThat(csp).contains("script-src 'self'"));
    assertThat(uplot.statusCode()).isEqualTo(200);
    assertThat(uplot.body()).contains("uPlot");
    assertThat(uplot.headers().firstValue("Content-Type"))
        .hasValue("text/javascript; charset=utf-8");
    assertThat(script.body()).contains("/api/stream");
  }

  @Test
  void unknownPath_is404Json_namingThePath() throws Exception {
    startOpen();

    HttpResponse<String> response = get("/api/nope");

    assertThat(response.statusCode()).isEqualTo(404);
    assertThat(error(response).get("field").getAsString()).isEqualTo("path");
    assertThat(error(response).get("message").getAsString()).contains("/api/nope");
  }

  // ---------------------------------------------------------------- reading

  @Test
  void state_withoutTokens_onLoopback_isOpenAndOffersActions() throws Exception {
    startOpen();
    String session = openSession(new RecordingSessionChannel());
    acquire(session);

    HttpResponse<String> response = get("/api/state");

    assertThat(response.statusCode()).isEqualTo(200);
    JsonObject state = json(response);
    assertThat(state.getAsJsonObject("access").get("auth").getAsBoolean()).isFalse();
    assertThat(state.getAsJsonObject("access").get("actions").getAsBoolean()).isTrue();
    JsonObject snapshot = state.getAsJsonObject("snapshot");
    assertThat(pool(snapshot, "render").get("in_use").getAsInt()).isEqualTo(1);
    assertThat(pool(snapshot, "render").get("limit").getAsInt()).isEqualTo(2);
    JsonObject s = snapshot.getAsJsonArray("sessions").get(0).getAsJsonObject();
    // Its "job" label is no job: it names none, and its principal's is not configured.
    assertThat(s.get("job").getAsString()).isEqualTo("default");
    assertThat(s.getAsJsonObject("labels").get("job").getAsString()).isEqualTo("nightly");
    assertThat(s.getAsJsonArray("leases")).hasSize(1);
    assertThat(snapshot.getAsJsonObject("cluster").get("clustered").getAsBoolean()).isFalse();
    assertThat(state.getAsJsonArray("events").toString()).contains("session_opened", "granted");
    assertThat(state.getAsJsonArray("history")).isNotEmpty();
  }

  /**
   * An operator's change of limits (an UpdateLimits call or a reload, which the broker announces)
   * shows in the feed as watchers see it, not only degradation's.
   */
  @Test
  void state_afterAnOperatorChangedLimits_theFeedShowsIt() throws Exception {
    startOpen();

    broker.limitsUpdated("config reload: pools.render.limit 2 -> 4");

    JsonObject last = lastEvent(json(get("/api/state")));
    assertThat(last.get("type").getAsString()).isEqualTo("limits_updated");
    assertThat(last.get("detail").getAsString())
        .isEqualTo("config reload: pools.render.limit 2 -> 4");
  }

  private static JsonObject lastEvent(JsonObject state) {
    com.google.gson.JsonArray events = state.getAsJsonArray("events");
    return events.get(events.size() - 1).getAsJsonObject();
  }

  @Test
  void state_withTokens_needsAnAdminBearer() throws Exception {
    start(tokens(), true, 2);

    HttpResponse<String> none = get("/api/state");
    HttpResponse<String> unknown = get("/api/state", "Authorization", "Bearer nope");
    HttpResponse<String> worker = get("/api/state", "Authorization", "Bearer " + WORKER);
    HttpResponse<String> admin = get("/api/state", "Authorization", "Bearer " + ADMIN);

    assertThat(none.statusCode()).isEqualTo(401);
    assertThat(none.headers().firstValue("WWW-Authenticate")).hasValue("Bearer realm=\"berth\"");
    assertThat(error(none).get("message").getAsString()).contains("Authorization: Bearer");
    assertThat(unknown.statusCode()).isEqualTo(401);
    assertThat(worker.statusCode()).isEqualTo(403);
    assertThat(error(worker).get("message").getAsString()).contains("'crawler'", "admin role");
    assertThat(admin.statusCode()).isEqualTo(200);
    assertThat(json(admin).getAsJsonObject("access").get("principal").getAsString())
        .isEqualTo("ops");
    assertThat(none.body() + unknown.body() + worker.body()).doesNotContain(WORKER, ADMIN);
  }

  @Test
  void stateAndStream_withTokens_aBadQueryWithoutATokenIs401_likeTheLeaseFinder() throws Exception {
    start(tokens(), true, 2);

    assertThat(get("/api/state?x=1").statusCode()).isEqualTo(401);
    assertThat(get("/api/stream?x=1").statusCode()).isEqualTo(401);
    assertThat(get("/api/leases?x=1").statusCode()).isEqualTo(401);
    assertThat(get("/api/state?x=1", "Authorization", "Bearer " + ADMIN).statusCode())
        .isEqualTo(400);
  }

  @Test
  void replaceTokens_appliesToTheNextRequest() throws Exception {
    start(TokenRegistry.of(List.of()), true, 2);
    assertThat(get("/api/state").statusCode()).isEqualTo(200);

    dashboard.replaceTokens(tokens());

    assertThat(get("/api/state").statusCode()).isEqualTo(401);
  }

  @Test
  void read_onLoopback_namingAForeignHost_isRefused() throws Exception {
    startOpen();

    String answer = rawGet("/api/state", "rebound.example.com:" + web.port());

    assertThat(answer).startsWith("HTTP/1.1 403").contains("\"field\":\"Host\"");
  }

  /** The JDK client will not send a Host header of our choosing, so this one speaks HTTP itself. */
  private String rawGet(String path, String host) throws Exception {
    try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), web.port())) {
      socket.setSoTimeout(10_000);
      OutputStream out = socket.getOutputStream();
      out.write(
          ("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  // ---------------------------------------------------------------- actions

  @Test
  void revoke_heldLease_endsItAndPushesTheRevokeToItsSession() throws Exception {
    startOpen();
    RecordingSessionChannel channel = new RecordingSessionChannel();
    Lease lease = acquire(openSession(channel));

    HttpResponse<String> response =
        postJson("/api/leases/revoke", "{\"lease_id\": \"" + lease.id() + "\"}");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(json(response).get("revoked").getAsBoolean()).isTrue();
    assertThat(broker.inUse(ResourceKind.RENDER)).isZero();
    assertThat(channel.revokes()).hasSize(1);
    assertThat(channel.revokes().get(0).leaseId()).isEqualTo(lease.id());
    assertThat(channel.revokes().get(0).reason()).isEqualTo(RevokeReason.ADMIN);
  }

  @Test
  void actions_areRefused_byGet_withoutJson_andWithBadFields() throws Exception {
    startOpen();

    HttpResponse<String> byGet = get("/api/leases/revoke?lease_id=x");
    HttpResponse<String> form =
        post(
            "/api/leases/revoke",
            "lease_id=x",
            "Content-Type",
            "application/x-www-form-urlencoded");
    HttpResponse<String> missing = postJson("/api/leases/revoke", "{}");
    HttpResponse<String> unknownField = postJson("/api/leases/revoke", "{\"lease\": \"x\"}");
    HttpResponse<String> notJson = postJson("/api/leases/revoke", "{lease_id");
    HttpResponse<String> wrongType = postJson("/api/broker/drain", "{\"resume\": \"yes\"}");
    HttpResponse<String> noResume = postJson("/api/broker/drain", "{}");
    HttpResponse<String> nullResume = postJson("/api/broker/drain", "{\"resume\": null}");
    HttpResponse<String> twice =
        postJson("/api/broker/drain", "{\"resume\": false, \"resume\": true}");
    HttpResponse<String> badReason =
        postJson("/api/leases/revoke", "{\"lease_id\": \"x\", \"reason\": \"because\"}");
    HttpResponse<String> badDeadline =
        postJson("/api/sessions/drain", "{\"session_id\": \"s\", \"deadline\": \"soon\"}");
    HttpResponse<String> unknownLease = postJson("/api/leases/revoke", "{\"lease_id\": \"x\"}");
    HttpResponse<String> huge =
        postJson("/api/leases/revoke", "{\"lease_id\": \"" + "x".repeat(20_000) + "\"}");

    for (HttpResponse<String> r : List.of(noResume, nullResume)) {
      assertThat(r.statusCode()).isEqualTo(400);
      assertThat(error(r).get("message").getAsString())
          .isEqualTo("resume: required: false drains the broker, true lifts a drain");
    }
    assertThat(twice.statusCode()).isEqualTo(400);
    assertThat(error(twice).get("message").getAsString())
        .isEqualTo("resume: given twice; give each field once");
    assertThat(broker.status().draining()).isFalse();
    assertThat(byGet.statusCode()).isEqualTo(405);
    assertThat(byGet.headers().firstValue("Allow")).hasValue("POST");
    assertThat(error(byGet).get("message").getAsString()).contains("POST only");
    assertThat(form.statusCode()).isEqualTo(415);
    assertThat(error(form).get("field").getAsString()).isEqualTo("Content-Type");
    assertThat(missing.statusCode()).isEqualTo(400);
    assertThat(error(missing).get("field").getAsString()).isEqualTo("lease_id");
    assertThat(error(missing).get("message").getAsString()).isEqualTo("lease_id: required");
    assertThat(error(unknownField).get("field").getAsString()).isEqualTo("lease");
    assertThat(error(notJson).get("field").getAsString()).isEqualTo("body");
    assertThat(error(wrongType).get("field").getAsString()).isEqualTo("resume");
    assertThat(error(badReason).get("field").getAsString()).isEqualTo("reason");
    assertThat(error(badDeadline).get("field").getAsString()).isEqualTo("deadline");
    assertThat(unknownLease.statusCode()).isEqualTo(404);
    assertThat(error(unknownLease).get("field").getAsString()).isEqualTo("lease_id");
    assertThat(huge.statusCode()).isEqualTo(413);
    assertThat(broker.status().draining()).isFalse();
  }

  @Test
  void actions_withoutTokens_onANonLoopbackListener_areReadOnly() throws Exception {
    start(TokenRegistry.of(List.of()), false, 2);
    Lease lease = acquire(openSession(new RecordingSessionChannel()));

    HttpResponse<String> state = get("/api/state");
    HttpResponse<String> revoke =
        postJson("/api/leases/revoke", "{\"lease_id\": \"" + lease.id() + "\"}");

    assertThat(json(state).getAsJsonObject("access").get("actions").getAsBoolean()).isFalse();
    assertThat(revoke.statusCode()).isEqualTo(403);
    assertThat(error(revoke).get("message").getAsString()).contains("read-only");
    assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void actions_fromAnotherOrigin_areRefused() throws Exception {
    startOpen();
    Lease lease = acquire(openSession(new RecordingSessionChannel()));

    HttpResponse<String> revoke =
        post(
            "/api/leases/revoke",
            "{\"lease_id\": \"" + lease.id() + "\"}",
            "Content-Type",
            "application/json",
            "Origin",
            "https://evil.example");

    assertThat(revoke.statusCode()).isEqualTo(403);
    assertThat(error(revoke).get("field").getAsString()).isEqualTo("Origin");
    assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(1);
  }

  @Test
  void actions_withTokens_needAnAdminBearer() throws Exception {
    start(tokens(), false, 2);
    Lease lease = acquire(openSession(new RecordingSessionChannel()));
    String body = "{\"lease_id\": \"" + lease.id() + "\"}";

    HttpResponse<String> worker =
        post(
            "/api/leases/revoke",
            body,
            "Content-Type",
            "application/json",
            "Authorization",
            "Bearer " + WORKER);
    assertThat(worker.statusCode()).isEqualTo(403);
    assertThat(broker.inUse(ResourceKind.RENDER)).isEqualTo(1);

    HttpResponse<String> admin =
        post(
            "/api/leases/revoke",
            body,
            "Content-Type",
            "application/json",
            "Authorization",
            "Bearer " + ADMIN);
    assertThat(admin.statusCode()).isEqualTo(200);
    assertThat(broker.inUse(ResourceKind.RENDER)).isZero();
  }

  @Test
  void drainSession_andDrainBroker_changeTheBroker_andShowInTheFeed() throws Exception {
    startOpen();
    RecordingSessionChannel channel = new RecordingSessionChannel();
    String session = openSession(channel);
    acquire(session);

    HttpResponse<String> drained =
        postJson("/api/sessions/drain", "{\"session_id\": \"" + session + "\"}");
    HttpResponse<String> unknown = postJson("/api/sessions/drain", "{\"session_id\": \"nope\"}");
    HttpResponse<String> brokerDrain = postJson("/api/broker/drain", "{\"resume\": false}");

    assertThat(drained.statusCode()).isEqualTo(200);
    assertThat(json(drained).get("leases_held").getAsInt()).isEqualTo(1);
    assertThat(channel.drains()).isNotEmpty();
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(error(unknown).get("field").getAsString()).isEqualTo("session_id");
    assertThat(json(brokerDrain).get("draining").getAsBoolean()).isTrue();
    assertThat(broker.status().draining()).isTrue();

    HttpResponse<String> resumed = postJson("/api/broker/drain", "{\"resume\": true}");
    assertThat(json(resumed).get("draining").getAsBoolean()).isFalse();
    assertThat(broker.status().draining()).isFalse();
    assertThat(get("/api/state").body()).contains("broker drained from the dashboard");
  }

  @Test
  void actionsOnAFollower_refused503NamingTheLeader_andChangeNothing() throws Exception {
    startOpen();
    String session = openSession(new RecordingSessionChannel());
    serving = false;

    HttpResponse<String> brokerDrain = postJson("/api/broker/drain", "{\"resume\": false}");
    HttpResponse<String> sessionDrain =
        postJson("/api/sessions/drain", "{\"session_id\": \"" + session + "\"}");

    assertThat(brokerDrain.statusCode()).isEqualTo(503);
    assertThat(error(brokerDrain).get("code").getAsString()).isEqualTo("NOT_LEADER");
    assertThat(brokerDrain.body()).contains("10.0.0.2:7433");
    assertThat(sessionDrain.statusCode()).isEqualTo(503);
    assertThat(broker.status().draining()).isFalse();
  }

  // ---------------------------------------------------------------- a follower's view

  /** n2, a follower of n1 at 10.0.0.2:7433, whose replica applied 38 of the 41 n1 committed. */
  private void becomeFollowerOfN1(Fleet fleet) {
    becomeFollowerOfN1(fleet, "");
  }

  /** As {@link #becomeFollowerOfN1(Fleet)}, n1's dashboard configured at {@code n1Dashboard}. */
  private void becomeFollowerOfN1(Fleet fleet, String n1Dashboard) {
    replica = fleet;
    clusterStatus =
        Optional.of(
            new ClusterStatus(
                "n2",
                ClusterRole.FOLLOWER,
                7,
                "n1",
                "10.0.0.2:7433",
                3,
                false,
                40,
                38,
                0,
                List.of(
                    new ClusterStatus.Member(
                        "n1", "10.0.0.2:7433", 41, -1, n1Dashboard, java.util.Optional.empty()),
                    new ClusterStatus.Member("n2", "10.0.0.3:7433", 40, 2))));
    serving = false;
  }

  /** A replica of {@code sessions} sessions holding {@code leasesEach} render leases each. */
  private Fleet fleet(int sessions, int leasesEach) {
    long now = time.wallTime().toEpochMilli();
    List<Fleet.SessionEntry> s = new ArrayList<>();
    List<Fleet.LeaseEntry> l = new ArrayList<>();
    long token = 0;
    for (int i = 0; i < sessions; i++) {
      String id = String.format(java.util.Locale.ROOT, "s-%04d", i);
      s.add(
          new Fleet.SessionEntry(
              id, "w-" + i, "p", Map.of("job", "crawl"), 0, "crawl", now - 60_000));
      for (int j = 0; j < leasesEach; j++) {
        token++;
        l.add(
            new Fleet.LeaseEntry(
                "l-" + token,
                id,
                ResourceKind.RENDER,
                token,
                "h" + j + ".example",
                "",
                "",
                0,
                Fleet.Asked.NONE,
                now - 1_000,
                60_000));
      }
    }
    return new Fleet(s, l, List.of());
  }

  @Test
  void state_onAFollower_showsItsReplicaOfTheLeadersState_markedWithTheLeaderAndItsLag()
      throws Exception {
    startOpen();
    becomeFollowerOfN1(fleet(2, 2));

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    JsonObject view = snapshot.getAsJsonObject("view");
    assertThat(view.get("source").getAsString()).isEqualTo("replica");
    assertThat(view.get("node").getAsString()).isEqualTo("n2");
    assertThat(view.get("role").getAsString()).isEqualTo("follower");
    assertThat(view.get("leader_id").getAsString()).isEqualTo("n1");
    assertThat(view.get("leader_api").getAsString()).isEqualTo("10.0.0.2:7433");
    assertThat(view.get("applied_index").getAsLong()).isEqualTo(38);
    assertThat(view.get("leader_commit_index").getAsLong()).isEqualTo(41);
    assertThat(view.get("behind").getAsLong()).isEqualTo(3);
    assertThat(pool(snapshot, "render").get("in_use").getAsInt()).isEqualTo(4);
    assertThat(snapshot.getAsJsonArray("sessions")).hasSize(2);
    JsonObject first = snapshot.getAsJsonArray("sessions").get(0).getAsJsonObject();
    assertThat(first.get("worker").getAsString()).isEqualTo("w-0");
    // It asked for crawl, which this node's jobs (the leader's) do not configure.
    assertThat(first.get("job").getAsString()).isEqualTo("default");
    assertThat(first.getAsJsonArray("leases")).hasSize(2);
    assertThat(snapshot.get("leases_total").getAsInt()).isEqualTo(4);
  }

  @Test
  void state_onAFollower_showsWaitsAsUnknown_andLinksToTheLeadersDashboard() throws Exception {
    startOpen();
    becomeFollowerOfN1(fleet(1, 1));

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    // The replica carries no queues: its pools' waits are unknown, not 0.
    JsonObject view = snapshot.getAsJsonObject("view");
    assertThat(view.get("waits_known").getAsBoolean()).isFalse();
    assertThat(view.get("leader_dashboard").getAsString())
        .isEqualTo("http://10.0.0.2:" + web.port() + "/");
    assertThat(view.get("leader_dashboard_configured").getAsBoolean()).as("a guess").isFalse();
    assertThat(pool(snapshot, "render").get("in_use").getAsInt()).isEqualTo(1);
    assertThat(pool(snapshot, "render").get("waiting").isJsonNull()).isTrue();
  }

  @Test
  void state_onAFollower_leadersDashboardConfigured_linksToItRatherThanTheGuess_andListsIt()
      throws Exception {
    startOpen();
    becomeFollowerOfN1(fleet(1, 1), "https://dash-n1.example:8443/");

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    assertThat(snapshot.getAsJsonObject("view").get("leader_dashboard").getAsString())
        .isEqualTo("https://dash-n1.example:8443/");
    assertThat(snapshot.getAsJsonObject("view").get("leader_dashboard_configured").getAsBoolean())
        .isTrue();
    // The members table links it too; n2 (this node) has none configured.
    var members = snapshot.getAsJsonObject("cluster").getAsJsonArray("members");
    assertThat(members.get(0).getAsJsonObject().get("dashboard").getAsString())
        .isEqualTo("https://dash-n1.example:8443/");
    assertThat(members.get(1).getAsJsonObject().get("dashboard").getAsString()).isEmpty();
  }

  @Test
  void state_onAMemberWithNoReplica_showsWaitsAsUnknown() throws Exception {
    startOpen();
    serving = false;

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    assertThat(snapshot.getAsJsonObject("view").get("waits_known").getAsBoolean()).isFalse();
    assertThat(pool(snapshot, "render").get("waiting").isJsonNull()).isTrue();
  }

  @Test
  void state_onTheLeader_countsItsWaits_andLinksNowhere() throws Exception {
    startOpen();
    String session = openSession(new RecordingSessionChannel());
    acquire(session);
    acquire(session);
    // The pool of 2 is full: a third acquire with a wait queues.
    broker.acquire(
        AcquireSpec.validate(
            session,
            ResourceKind.RENDER,
            "https://example.com/c",
            "",
            Duration.ofMinutes(1),
            "",
            0,
            0),
        PRINCIPAL,
        new RecordingAcquireCallback());

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    assertThat(snapshot.getAsJsonObject("view").get("waits_known").getAsBoolean()).isTrue();
    assertThat(snapshot.getAsJsonObject("view").get("leader_dashboard").getAsString()).isEmpty();
    assertThat(pool(snapshot, "render").get("waiting").getAsInt()).isEqualTo(1);
  }

  @Test
  void history_onAFollower_recordsTheReplicasPoolsInUse_andItsWaitsAsUnknown() throws Exception {
    startOpen();
    becomeFollowerOfN1(fleet(1, 2));

    time.advance(Dashboard.SAMPLE_PERIOD);

    var history = json(get("/api/state")).getAsJsonArray("history");
    JsonObject first = history.get(0).getAsJsonObject();
    JsonObject last = history.get(history.size() - 1).getAsJsonObject();
    assertThat(last.getAsJsonObject("pools").getAsJsonArray("render").get(0).getAsInt())
        .isEqualTo(2);
    // Sampled as the leader (at start): waits known; as a follower: unknown, not 0.
    assertThat(first.getAsJsonObject("pools").getAsJsonArray("render").get(3).getAsInt()).isZero();
    assertThat(last.getAsJsonObject("pools").getAsJsonArray("render").get(3).isJsonNull()).isTrue();
  }

  @Test
  void state_onAMemberThatDoesNotServe_withoutAReplica_saysSo_ratherThanItsOwnBroker()
      throws Exception {
    startOpen();
    acquire(openSession(new RecordingSessionChannel()));
    serving = false;

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    assertThat(snapshot.getAsJsonObject("view").get("source").getAsString()).isEqualTo("none");
    assertThat(snapshot.getAsJsonArray("sessions")).isEmpty();
    assertThat(snapshot.get("leases_total").getAsInt()).isZero();
  }

  @Test
  void state_onTheLeader_isItsOwnBroker() throws Exception {
    startOpen();
    acquire(openSession(new RecordingSessionChannel()));

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    assertThat(snapshot.getAsJsonObject("view").get("source").getAsString()).isEqualTo("broker");
    assertThat(snapshot.get("leases_total").getAsInt()).isEqualTo(1);
    assertThat(snapshot.get("leases_shown").getAsInt()).isEqualTo(1);
  }

  @Test
  void page_marksAFollowersReplica_andKeepsActionsForTheLeader() throws Exception {
    startOpen();

    String script = get("/dashboard.js").body();
    String page = get("/").body();

    assertThat(page)
        .contains(
            "id=\"view-banner\"", "id=\"leases-line\"", "id=\"find-form\"", "id=\"waits-line\"");
    assertThat(script).contains("Follower\\'s replica", "view.source === 'broker'", "/api/leases?");
    // Waits the replica does not know are said to be the leader's, with a link there, never 0.
    assertThat(script)
        .contains(
            "Waiting acquires are known to the leader only",
            "href: view.leader_dashboard",
            "p.waiting === null ? 'unknown'");
  }

  // ---------------------------------------------------------------- more leases than shown

  @Test
  void snapshot_withMoreLeasesThanItLists_saysHowManyOfHowMany() throws Exception {
    startOpen();
    // 300 sessions of 4 leases: 200 sessions are listed, with 800 leases; 1,200 are live.
    becomeFollowerOfN1(fleet(300, 4));

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    assertThat(snapshot.getAsJsonArray("sessions")).hasSize(DashboardJson.SESSIONS_SHOWN);
    assertThat(snapshot.get("leases_total").getAsInt()).isEqualTo(1200);
    assertThat(snapshot.get("leases_shown").getAsInt()).isEqualTo(800);
    JsonObject last =
        snapshot.getAsJsonArray("sessions").get(DashboardJson.SESSIONS_SHOWN - 1).getAsJsonObject();
    assertThat(last.get("lease_count").getAsInt()).isEqualTo(4);
    assertThat(last.getAsJsonArray("leases")).hasSize(4);
  }

  @Test
  void snapshot_listsAtMostLeasesShown_theOldestOfTheSessionsShown() throws Exception {
    startOpen();
    becomeFollowerOfN1(fleet(100, 12));

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    assertThat(snapshot.get("leases_total").getAsInt()).isEqualTo(1200);
    assertThat(snapshot.get("leases_shown").getAsInt()).isEqualTo(DashboardJson.LEASES_SHOWN);
    JsonObject last = snapshot.getAsJsonArray("sessions").get(99).getAsJsonObject();
    assertThat(last.get("lease_count").getAsInt()).isEqualTo(12);
    assertThat(last.getAsJsonArray("leases")).isEmpty();
  }

  @Test
  void findLeases_filtersBySessionKindAndHost_andPagesInGrantOrder() throws Exception {
    startOpen();
    becomeFollowerOfN1(fleet(300, 4));

    JsonObject first = json(get("/api/leases?limit=500"));
    JsonObject second =
        json(get("/api/leases?limit=1000&after=" + first.get("next_after").getAsString()));
    JsonObject bySession = json(get("/api/leases?session_id=s-0250"));
    JsonObject byHost = json(get("/api/leases?host=H3.example&worker=w-7"));
    JsonObject byKind = json(get("/api/leases?kind=pdf"));

    assertThat(first.get("source").getAsString()).isEqualTo("replica");
    assertThat(first.getAsJsonArray("leases")).hasSize(500);
    assertThat(first.get("next_after").getAsString()).startsWith("500:");
    assertThat(second.getAsJsonArray("leases")).hasSize(700);
    assertThat(second.get("next_after").getAsString()).isEmpty();
    assertThat(
            second
                .getAsJsonArray("leases")
                .get(0)
                .getAsJsonObject()
                .get("fencing_token")
                .getAsLong())
        .isEqualTo(501);
    assertThat(bySession.getAsJsonArray("leases")).hasSize(4);
    JsonObject found = bySession.getAsJsonArray("leases").get(0).getAsJsonObject();
    assertThat(found.get("session_id").getAsString()).isEqualTo("s-0250");
    assertThat(found.get("worker").getAsString()).isEqualTo("w-250");
    assertThat(byHost.getAsJsonArray("leases")).hasSize(1);
    assertThat(byKind.getAsJsonArray("leases")).isEmpty();
  }

  @Test
  void findLeases_onTheLeader_readsItsBroker() throws Exception {
    startOpen();
    String session = openSession(new RecordingSessionChannel());
    Lease lease = acquire(session);

    JsonObject found = json(get("/api/leases?session_id=" + session + "&kind=render"));

    assertThat(found.get("source").getAsString()).isEqualTo("broker");
    assertThat(found.getAsJsonArray("leases")).hasSize(1);
    assertThat(found.getAsJsonArray("leases").get(0).getAsJsonObject().get("id").getAsString())
        .isEqualTo(lease.id());
  }

  /** The sessions of a snapshot by worker: the job each runs as. */
  private Map<String, String> jobsByWorker() throws Exception {
    Map<String, String> jobs = new java.util.TreeMap<>();
    for (var e : json(get("/api/state")).getAsJsonObject("snapshot").getAsJsonArray("sessions")) {
      JsonObject o = e.getAsJsonObject();
      jobs.put(o.get("worker").getAsString(), o.get("job").getAsString());
    }
    return jobs;
  }

  @Test
  void state_sessions_showTheJobEachRunsAs_notItsJobLabel() throws Exception {
    jobs = JobsConfig.newBuilder().job("nightly").job("recrawl").build();
    startOpen();
    openSessionOfJob("w1", "nightly");
    broker.open(
        HelloSpec.validate("w2", Map.of("job", "eu-recrawl"), 0, "", List.of(), "recrawl"),
        PRINCIPAL,
        new RecordingSessionChannel());
    // A "job" label names no job: this one names none, so it runs as its principal's, default.
    broker.open(
        HelloSpec.validate("w3", Map.of("job", "nightly"), 0, "", List.of()),
        PRINCIPAL,
        new RecordingSessionChannel());
    openSessionOfJob("w4", "adhoc"); // not configured: runs as default

    assertThat(jobsByWorker())
        .isEqualTo(Map.of("w1", "nightly", "w2", "recrawl", "w3", "default", "w4", "default"));
  }

  @Test
  void state_onAFollower_sessionsShowTheJobEachRunsAs_asTheLeaderResolvesIt() throws Exception {
    jobs = JobsConfig.newBuilder().job("nightly").build();
    startOpen();
    becomeFollowerOfN1(ReplicaFleets.askingForJobs(time.wallTime().toEpochMilli()));

    assertThat(jobsByWorker()).isEqualTo(Map.of("w1", "nightly", "w2", "default", "w3", "default"));
    // A follower has no wait queue: its page says to ask the leader.
    JsonObject waiting =
        json(get("/api/state")).getAsJsonObject("snapshot").getAsJsonObject("waiting");
    assertThat(waiting.get("known").getAsBoolean()).isFalse();
    assertThat(waiting.getAsJsonArray("shown")).isEmpty();
  }

  @Test
  void state_poolFull_showsTheWaitingAcquireAndTheRuleThatHoldsIt() throws Exception {
    startOpen();
    String session = openSession(new RecordingSessionChannel());
    acquire(session);
    acquire(session);
    RecordingAcquireCallback waiter = new RecordingAcquireCallback();
    broker.acquire(
        AcquireSpec.validate(
            session,
            ResourceKind.RENDER,
            "https://example.com/b",
            "",
            Duration.ofSeconds(10),
            "",
            3,
            0),
        PRINCIPAL,
        waiter);
    time.advance(Duration.ofSeconds(2));

    JsonObject waiting =
        json(get("/api/state")).getAsJsonObject("snapshot").getAsJsonObject("waiting");

    assertThat(waiter.isAnswered()).isFalse();
    assertThat(waiting.get("known").getAsBoolean()).isTrue();
    assertThat(waiting.get("total").getAsInt()).isEqualTo(1);
    JsonObject shown = waiting.getAsJsonArray("shown").get(0).getAsJsonObject();
    assertThat(shown.get("kinds").getAsString()).isEqualTo("RENDER");
    assertThat(shown.get("target").getAsString()).isEqualTo("example.com");
    assertThat(shown.get("worker").getAsString()).isEqualTo("w1");
    assertThat(shown.get("priority").getAsInt()).isEqualTo(3);
    assertThat(shown.get("waited_s").getAsLong()).isEqualTo(2);
    assertThat(shown.get("left_s").getAsLong()).isEqualTo(8);
    assertThat(shown.get("held_by").getAsString())
        .isEqualTo("EXHAUSTED: pool RENDER 2/2 in use, 1 queued");
  }

  /** The first job of a snapshot of {@code status} read from {@code source}. */
  private JsonObject firstJob(DashboardJson.Source source, Views.Status status) {
    return DashboardJson.snapshot(
            source,
            status,
            List.of(),
            List.of(),
            null,
            new JsonObject(),
            ClusterView.of(ServingRole.STANDALONE),
            DashboardJson.Wall.of(time))
        .getAsJsonArray("jobs")
        .get(0)
        .getAsJsonObject();
  }

  @Test
  void snapshot_jobs_showEachMin_andTheMinThatAppliesNow_whichAReplicaDoesNotKnow() {
    startOpen();
    Views.Status status = Statuses.withAScaledMin(broker.status());

    JsonObject leader = firstJob(DashboardJson.Source.BROKER, status);
    JsonObject follower = firstJob(DashboardJson.Source.REPLICA, status);

    assertThat(leader.get("name").getAsString()).isEqualTo("urgent");
    assertThat(leader.get("weight").getAsInt()).isEqualTo(4);
    JsonObject render = leader.getAsJsonArray("kinds").get(0).getAsJsonObject();
    assertThat(render.get("kind").getAsString()).isEqualTo("render");
    assertThat(render.get("min").getAsInt()).isEqualTo(4);
    assertThat(render.get("guaranteed_min").getAsInt()).isEqualTo(2);
    assertThat(render.get("held").getAsInt()).isEqualTo(1);
    // A follower's replica knows what jobs hold (its status counts the replicated leases), not
    // what the leader's jobs wait for and are promised now.
    JsonObject replicated = follower.getAsJsonArray("kinds").get(0).getAsJsonObject();
    assertThat(replicated.get("min").getAsInt()).isEqualTo(4);
    assertThat(replicated.get("guaranteed_min").isJsonNull()).isTrue();
    assertThat(replicated.get("held").getAsInt()).isEqualTo(1);
    assertThat(follower.get("waiting").isJsonNull()).isTrue();
    // A member with neither a broker that serves nor a replica knows none of it.
    JsonObject none =
        firstJob(DashboardJson.Source.NONE, status)
            .getAsJsonArray("kinds")
            .get(0)
            .getAsJsonObject();
    assertThat(none.get("held").isJsonNull()).isTrue();
    assertThat(none.get("share").isJsonNull()).isTrue();
  }

  /** The {@code kind} entry of job {@code name} in a snapshot's Jobs. */
  private static JsonObject jobKind(JsonObject snapshot, String name, String kind) {
    for (var j : snapshot.getAsJsonArray("jobs")) {
      if (j.getAsJsonObject().get("name").getAsString().equals(name)) {
        for (var k : j.getAsJsonObject().getAsJsonArray("kinds")) {
          if (k.getAsJsonObject().get("kind").getAsString().equals(kind)) {
            return k.getAsJsonObject();
          }
        }
      }
    }
    throw new AssertionError("no " + kind + " of job " + name + " in " + snapshot);
  }

  @Test
  void state_onAFollower_jobsShowTheReplicasHeldAndShare_asGetStatus_andWhatOnlyTheLeaderKnowsNot()
      throws Exception {
    jobs = JobsConfig.newBuilder().job("crawl").build();
    startOpen();
    // Two sessions that run as crawl, holding two render leases each.
    becomeFollowerOfN1(fleet(2, 2));

    JsonObject snapshot = json(get("/api/state")).getAsJsonObject("snapshot");

    JsonObject crawl = jobKind(snapshot, "crawl", "render");
    assertThat(crawl.get("held").getAsInt()).isEqualTo(4);
    assertThat(crawl.get("share").getAsDouble()).isEqualTo(1.0);
    assertThat(jobKind(snapshot, "default", "render").get("held").getAsInt()).isZero();
    // The same figures GetStatus answers on this node: both read AdminReads.status.
    Views.JobKind answered =
        AdminReads.now(broker, role, time).status().jobs().stream()
            .filter(j -> j.name().equals("crawl"))
            .flatMap(j -> j.kinds().stream())
            .filter(k -> k.kind() == ResourceKind.RENDER)
            .findFirst()
            .orElseThrow();
    assertThat(crawl.get("held").getAsInt()).isEqualTo(answered.held());
    assertThat(crawl.get("share").getAsDouble()).isEqualTo(answered.share());
    // What only the leader knows stays unknown rather than 0.
    assertThat(crawl.get("waiting").isJsonNull()).isTrue();
    assertThat(crawl.get("fair_share").isJsonNull()).isTrue();
    assertThat(crawl.get("guaranteed_min").isJsonNull()).isTrue();
  }

  @Test
  void page_jobs_showTheMinAndTheMinThatAppliesNow() throws Exception {
    startOpen();

    String script = get("/dashboard.js").body();
    String page = get("/").body();

    assertThat(page).contains("<tbody id=\"jobs\">");
    assertThat(script)
        .contains("renderJobs(s.jobs);")
        .contains("k.min + ' (' + k.guaranteed_min + ' now)'")
        .contains("k.min + ' (now: ask the leader)'");
  }

  @Test
  void page_sessionsJobColumn_showsTheJobItRunsAs_andItsLabelOnlyWhenItDiffers() throws Exception {
    startOpen();

    String script = get("/dashboard.js").body();

    assertThat(script)
        .contains("var label = x.labels && x.labels.job;")
        .contains("(x.job || '–') + (label && label !== x.job ? ' (label ' + label + ')' : '')");
  }

  @Test
  void findLeases_byJob_onTheLeader_matchesTheJobEachSessionRunsAs() throws Exception {
    jobs = JobsConfig.newBuilder().job("nightly").job("recrawl").build();
    startOpen();
    Lease nightly = acquire(openSessionOfJob("w1", "nightly"));
    openSessionOfJob("w2", "recrawl");
    // A job that is not configured runs as default.
    Lease adhoc = acquire(openSessionOfJob("w3", "adhoc"));

    JsonObject byNightly = json(get("/api/leases?job=nightly"));
    JsonObject byDefault = json(get("/api/leases?job=default&kind=render"));
    JsonObject byRecrawl = json(get("/api/leases?job=recrawl"));
    JsonObject byAsked = json(get("/api/leases?job=adhoc"));

    assertThat(byNightly.get("source").getAsString()).isEqualTo("broker");
    assertThat(byNightly.getAsJsonArray("leases")).hasSize(1);
    assertThat(byNightly.getAsJsonArray("leases").get(0).getAsJsonObject().get("id").getAsString())
        .isEqualTo(nightly.id());
    assertThat(byDefault.getAsJsonArray("leases")).hasSize(1);
    assertThat(byDefault.getAsJsonArray("leases").get(0).getAsJsonObject().get("id").getAsString())
        .isEqualTo(adhoc.id());
    assertThat(byRecrawl.getAsJsonArray("leases")).isEmpty();
    assertThat(byAsked.getAsJsonArray("leases")).isEmpty();
  }

  @Test
  void findLeases_byJob_onAFollower_resolvesTheReplicasSessionsAsTheLeaderDoes() throws Exception {
    jobs = JobsConfig.newBuilder().job("nightly").build();
    startOpen();
    // s-0000 and s-0002 asked for nightly, s-0001 for a job not configured (so default).
    Fleet fleet = fleet(3, 2);
    List<Fleet.SessionEntry> sessions = new ArrayList<>();
    for (Fleet.SessionEntry e : fleet.sessions()) {
      sessions.add(
          new Fleet.SessionEntry(
              e.id(),
              e.workerId(),
              e.principal(),
              e.labels(),
              e.memoryLimitMb(),
              e.id().equals("s-0001") ? "adhoc" : "nightly",
              e.openedAtUnixMs()));
    }
    becomeFollowerOfN1(new Fleet(sessions, fleet.leases(), fleet.hosts()));

    JsonObject byNightly = json(get("/api/leases?job=nightly&limit=3"));
    JsonObject byDefault = json(get("/api/leases?job=default"));

    assertThat(byNightly.get("source").getAsString()).isEqualTo("replica");
    assertThat(byNightly.getAsJsonArray("leases"))
        .extracting(l -> l.getAsJsonObject().get("session_id").getAsString())
        .containsExactly("s-0000", "s-0000", "s-0002");
    assertThat(byNightly.get("next_after").getAsString()).startsWith("5:");
    assertThat(byDefault.getAsJsonArray("leases"))
        .extracting(l -> l.getAsJsonObject().get("session_id").getAsString())
        .containsExactly("s-0001", "s-0001");
  }

  @Test
  void findLeases_badJob_is400NamingJobAndItsRule() throws Exception {
    startOpen();

    HttpResponse<String> upper = get("/api/leases?job=Nightly");
    HttpResponse<String> dotted = get("/api/leases?job=night.ly");
    HttpResponse<String> tooLong = get("/api/leases?job=" + "j".repeat(65));

    assertThat(upper.statusCode()).isEqualTo(400);
    assertThat(error(upper).get("field").getAsString()).isEqualTo("job");
    assertThat(error(upper).get("message").getAsString())
        .startsWith("job: must be lower-case letters, digits, '_' and '-'")
        .contains("'Nightly'");
    assertThat(error(dotted).get("field").getAsString()).isEqualTo("job");
    assertThat(tooLong.statusCode()).isEqualTo(400);
    assertThat(error(tooLong).get("message").getAsString()).contains("1..64 characters");
  }

  @Test
  void page_findsLeasesByJob() throws Exception {
    startOpen();

    String script = get("/dashboard.js").body();
    String page = get("/").body();

    assertThat(page).contains("<input name=\"job\"");
    assertThat(script).contains("['session_id', 'worker', 'job', 'kind', 'host']");
    assertThat(script).contains("job: form.elements.job.value.trim()");
  }

  @Test
  void findLeases_badParameters_are400NamingTheParameter() throws Exception {
    startOpen();

    HttpResponse<String> kind = get("/api/leases?kind=gpu");
    HttpResponse<String> after = get("/api/leases?after=soon");
    HttpResponse<String> limit = get("/api/leases?limit=1001");
    HttpResponse<String> unknown = get("/api/leases?owner=crawl");
    HttpResponse<String> twice = get("/api/leases?host=a&host=b");
    HttpResponse<String> session = get("/api/leases?session_id=a%20b");
    HttpResponse<String> post = postJson("/api/leases", "{}");

    assertThat(kind.statusCode()).isEqualTo(400);
    assertThat(error(kind).get("field").getAsString()).isEqualTo("kind");
    assertThat(error(kind).get("message").getAsString()).contains("render, pdf, wasm", "gpu");
    assertThat(error(after).get("field").getAsString()).isEqualTo("after");
    assertThat(error(limit).get("field").getAsString()).isEqualTo("limit");
    assertThat(error(limit).get("message").getAsString()).contains("1..1000");
    assertThat(error(unknown).get("field").getAsString()).isEqualTo("owner");
    assertThat(error(twice).get("field").getAsString()).isEqualTo("host");
    assertThat(session.statusCode()).isEqualTo(400);
    assertThat(error(session).get("field").getAsString()).isEqualTo("session_id");
    assertThat(post.statusCode()).isEqualTo(405);
  }

  @Test
  void stateAndStream_takeNoParameters_anUnknownOneIs400NamingIt() throws Exception {
    startOpen();

    HttpResponse<String> state = get("/api/state?bogus=1");
    HttpResponse<String> stream = get("/api/stream?since=5");

    assertThat(state.statusCode()).isEqualTo(400);
    assertThat(error(state).get("field").getAsString()).isEqualTo("bogus");
    assertThat(error(state).get("message").getAsString())
        .isEqualTo("bogus: unknown parameter; this endpoint takes none");
    assertThat(stream.statusCode()).isEqualTo(400);
    assertThat(error(stream).get("field").getAsString()).isEqualTo("since");
  }

  /**
   * A lease names its host as an acquire's URL gives it (lower case, IDN in ASCII): the finder
   * finds it by the host as written, and a host that is not a host alone is a 400, not no leases.
   */
  @Test
  void findLeases_byHost_readAsAnAcquiresHostIs_aBadHostIs400() throws Exception {
    startOpen();
    Lease idn =
        acquire(openSession(new RecordingSessionChannel()), "https://b\u00fccher.example/a");

    JsonObject found = json(get("/api/leases?host=B%C3%9CCHER.example"));
    HttpResponse<String> bad = get("/api/leases?host=a%20b");

    assertThat(found.getAsJsonArray("leases")).hasSize(1);
    assertThat(found.getAsJsonArray("leases").get(0).getAsJsonObject().get("id").getAsString())
        .isEqualTo(idn.id());
    assertThat(bad.statusCode()).isEqualTo(400);
    assertThat(error(bad).get("field").getAsString()).isEqualTo("host");
  }

  /** {@code ?=5}: there is no name to give as the field, so the answer says what was sent. */
  @Test
  void findLeases_aParameterWithoutAName_is400SayingSo() throws Exception {
    startOpen();

    HttpResponse<String> nameless = get("/api/leases?limit=5&=5");

    assertThat(nameless.statusCode()).isEqualTo(400);
    assertThat(error(nameless).get("field").getAsString()).isEqualTo("query");
    assertThat(error(nameless).get("message").getAsString())
        .isEqualTo(
            "query: a parameter without a name ('=5'); this endpoint takes after, host, job,"
                + " kind, limit, session_id, worker");
  }

  @Test
  void findLeases_withTokens_needsAnAdminBearer() throws Exception {
    start(tokens(), true, 2);

    assertThat(get("/api/leases").statusCode()).isEqualTo(401);
    assertThat(get("/api/leases", "Authorization", "Bearer " + WORKER).statusCode()).isEqualTo(403);
    assertThat(get("/api/leases", "Authorization", "Bearer " + ADMIN).statusCode()).isEqualTo(200);
  }

  // ---------------------------------------------------------------- live stream

  @Test
  void stream_startsWithTheState_thenSendsTheChange_withinOneTick() throws Exception {
    startOpen();
    String session = openSession(new RecordingSessionChannel());
    Frames frames = stream();
    JsonObject state = frames.next("state");
    assertThat(pool(state.getAsJsonObject("snapshot"), "render").get("in_use").getAsInt()).isZero();

    acquire(session);
    time.advance(Dashboard.TICK);

    assertThat(frames.nextData("events").toString()).contains("\"granted\"");
    JsonObject snapshot = frames.next("snapshot");
    assertThat(pool(snapshot, "render").get("in_use").getAsInt()).isEqualTo(1);

    time.advance(Dashboard.SAMPLE_PERIOD);
    JsonObject sample = frames.next("sample");
    assertThat(sample.getAsJsonObject("pools").getAsJsonArray("render").get(0).getAsInt())
        .isEqualTo(1);
  }

  @Test
  void stream_unchangedBroker_sendsNoSnapshot() throws Exception {
    startOpen();
    Frames frames = stream();
    frames.next("state");

    // The first sample tick after a stream opens sends the snapshot once more (the tick does not
    // know what the state frame held); after that, only a change does.
    time.advance(Dashboard.SAMPLE_PERIOD);
    assertThat(frames.next("snapshot").getAsJsonArray("sessions")).isEmpty();
    time.advance(Dashboard.SAMPLE_PERIOD.multipliedBy(3));
    openSession(new RecordingSessionChannel());
    time.advance(Dashboard.TICK);

    JsonObject snapshot = frames.next("snapshot");
    assertThat(snapshot.getAsJsonArray("sessions")).hasSize(1);
  }

  @Test
  void stream_onAFollower_sendsTheReplicasChange_withinOneTick_notAtTheNextSample()
      throws Exception {
    startOpen();
    becomeFollowerOfN1(fleet(1, 1));
    Frames frames = stream();
    frames.next("state");
    time.advance(Dashboard.SAMPLE_PERIOD); // the first sample tick sends the snapshot once more
    assertThat(frames.next("snapshot").get("leases_total").getAsInt()).isEqualTo(1);

    replica = fleet(2, 2); // the replica applied more of the log ...
    replicaVersion = 40;
    time.advance(Dashboard.TICK);

    // ... and the page has it within a tick, no broker event, no sample tick.
    assertThat(frames.next("snapshot").get("leases_total").getAsInt()).isEqualTo(4);
  }

  @Test
  void stream_beyondMaxStreams_is503_andTheCountIsFreedWhenOneCloses() throws Exception {
    start(TokenRegistry.of(List.of()), true, 1);
    Frames first = stream();
    first.next("state");

    HttpResponse<String> second = get("/api/stream");

    assertThat(second.statusCode()).isEqualTo(503);
    assertThat(error(second).get("message").getAsString()).contains("dashboard.max_streams");
    assertThat(dashboard.streams()).isEqualTo(1);
  }

  @Test
  void stream_withTokens_needsAnAdminBearer() throws Exception {
    start(tokens(), true, 2);

    assertThat(get("/api/stream").statusCode()).isEqualTo(401);
    Frames frames = stream("Authorization", "Bearer " + ADMIN);
    assertThat(frames.next("state").getAsJsonObject("access").get("principal").getAsString())
        .isEqualTo("ops");
  }
}
