package dev.berth.server.web;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.berth.common.Durations;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.HostName;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseCursor;
import dev.berth.server.broker.Views;
import dev.berth.server.cluster.ClusterStatus;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.http.HttpListener;
import dev.berth.server.jobs.JobsConfig;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.memory.HeapProbe;
import dev.berth.server.metrics.StreamDrops;
import dev.berth.server.replication.AdminReads;
import dev.berth.server.replication.ServingRole;
import dev.berth.server.security.AdminAudit;
import dev.berth.server.security.TokenRegistry;
import dev.berth.server.time.TimeSource;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operator's dashboard, served at {@code /} of the daemon's HTTP listener: a page (HTML, its
 * script and style, and uPlot from the jar; nothing from the network), the broker's state as JSON,
 * a live Server-Sent Events stream, a lease finder, and three actions (revoke a lease, drain a
 * session, drain or resume the broker). Who may read and act is decided by {@link WebAccess}.
 *
 * <p>It shows what this node's admin reads list ({@link AdminReads}): its own broker while it
 * serves, and on a cluster follower that follower's replica of the leader's state, marked as such
 * in the snapshot's {@code view} with the leader and how far the replica trails; a member that does
 * not serve and has no replica says so instead of showing its own, empty, broker. A replica knows
 * no waits (the journal carries no queues), so there a pool's {@code waiting} is null and the page
 * points at the leader's dashboard for them.
 *
 * <p>Every {@link #TICK} it sends open streams what changed: the new events, and a new snapshot
 * when the broker's state differs from the last one sent; every {@link #SAMPLE_PERIOD} it records a
 * {@link History} sample (also with no page open, so a page opened later has a history). A change
 * therefore reaches the page within a quarter of a second, plus the network.
 *
 * <p>Endpoints (all answers JSON; errors {@code {"error": {...}}} with a 4xx or 5xx status):
 *
 * <ul>
 *   <li>{@code GET /api/state}: {@code access}, {@code snapshot}, {@code history}, {@code events}
 *   <li>{@code GET /api/stream}: {@code text/event-stream}; a {@code state} event as above, then
 *       {@code snapshot}, {@code events} and {@code sample} events
 *   <li>{@code GET /api/leases?session_id=&worker=&job=&kind=&host=&after=&limit=}: one page of
 *       live leases in grant order, filtered (by {@code job}: the job a session runs as), with
 *       {@code next_after} for the next page
 *   <li>{@code POST /api/leases/revoke} {@code {"lease_id": "...", "reason": "admin"}}
 *   <li>{@code POST /api/sessions/drain} {@code {"session_id": "...", "deadline": "30s"}}
 *   <li>{@code POST /api/broker/drain} {@code {"resume": false}}
 * </ul>
 *
 * <p>Thread-safe.
 */
public final class Dashboard implements HttpHandler, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Dashboard.class);

  /** How often open streams are sent what changed. */
  static final Duration TICK = Duration.ofMillis(250);

  /** How often the history gets a sample: every fourth tick. */
  static final Duration SAMPLE_PERIOD = TICK.multipliedBy(4);

  private static final String WEB = "dev/berth/server/web/";
  private static final String HTML = "text/html; charset=utf-8";
  private static final String JS = "text/javascript; charset=utf-8";
  private static final String CSS = "text/css; charset=utf-8";
  private static final String JSON = "application/json; charset=utf-8";

  /**
   * The page may load only its own script, style and data: no inline script, nothing from another
   * origin, and no framing by another site.
   */
  private static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
          + " img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  /**
   * A file the page loads: its bytes, read once and never written to, and its content type. A class
   * rather than a record, since a record's equals would compare the array by identity.
   */
  private static final class Asset {
    private final byte[] bytes;
    private final String type;

    Asset(byte[] bytes, String type) {
      this.bytes = bytes;
      this.type = type;
    }

    byte[] bytes() {
      return bytes;
    }

    String type() {
      return type;
    }
  }

  private final Broker broker;
  private final TimeSource time;
  private final HeapProbe heap;
  private final WebAccess access;
  private final ClusterView cluster;
  private final ServingRole role;
  private final DashboardFeed feed;
  private final History history = new History();
  private final EventStreams streams;
  private final DashboardJson.Wall wall;
  private final Map<String, Asset> assets;
  private final TimeSource.Cancellable ticker;

  /**
   * This listener as requests reach it, {@code http://{host}:9464/} with the host left to fill in;
   * empty before the first request. One listener serves the dashboard, so every request agrees.
   */
  private volatile String listener = "";

  // Touched by the tick only, which the time source runs one at a time.
  private long ticks;
  private long sentSeq;
  private String sentSnapshot = "";

  /** The {@link ServingRole#replicaVersion} the last snapshot sent was read at. */
  private long sentReplica;

  private Dashboard(
      Broker broker,
      TimeSource time,
      HeapProbe heap,
      WebAccess access,
      ClusterView cluster,
      ServingRole role,
      EventStreams streams) {
    this.broker = broker;
    this.time = time;
    this.heap = heap;
    this.access = access;
    this.cluster = cluster;
    this.role = role;
    this.streams = streams;
    this.feed = new DashboardFeed(time);
    this.wall = DashboardJson.Wall.of(time);
    this.assets = loadAssets();
    broker.addListener(feed);
    sample();
    this.ticker = time.scheduleAtFixedRate(this::tick, TICK.toNanos());
  }

  /**
   * Starts recording events and history for {@code broker}.
   *
   * @param tokens the bearer tokens in force; without any, reads are open
   * @param loopbackListener whether the listener is on a loopback address; then, without tokens,
   *     actions are offered, and the {@code Host} header must name a loopback host
   * @param maxStreams live streams at once ({@code dashboard.max_streams})
   * @param drops counts streams dropped for falling behind
   * @param role the broker's place in a cluster ({@link ServingRole#STANDALONE} for a lone one),
   *     whose members the page lists
   */
  public static Dashboard start(
      Broker broker,
      TimeSource time,
      HeapProbe heap,
      TokenRegistry tokens,
      boolean loopbackListener,
      int maxStreams,
      StreamDrops drops,
      ServingRole role) {
    return start(
        broker,
        time,
        heap,
        new WebAccess(tokens, loopbackListener),
        role == ServingRole.STANDALONE ? ClusterView.STANDALONE : ClusterView.of(role),
        role,
        maxStreams,
        drops);
  }

  static Dashboard start(
      Broker broker,
      TimeSource time,
      HeapProbe heap,
      WebAccess access,
      ClusterView cluster,
      ServingRole role,
      int maxStreams,
      StreamDrops drops) {
    return new Dashboard(
        broker, time, heap, access, cluster, role, new EventStreams(maxStreams, drops));
  }

  /** Checks requests that arrive from now on against {@code tokens} (a reload). */
  public void replaceTokens(TokenRegistry tokens) {
    access.replace(tokens);
    // A live stream was let in once, when it opened: one whose token is gone (or lost the admin
    // role) must not go on showing the fleet.
    streams.closeUnless(access::stillHolds);
  }

  /** Live streams open now. */
  int streams() {
    return streams.size();
  }

  /** Stops the ticks and ends every stream. */
  @Override
  public void close() {
    ticker.cancel();
    streams.closeAll();
  }

  // ---------------------------------------------------------------- updates

  /** Where this node's admin reads come from now: its broker, or its replica of the leader's. */
  private AdminReads reads() {
    return AdminReads.now(broker, role, time);
  }

  /**
   * What the page shows as of {@code reads}: the broker's own state while it serves, the replica
   * while it does not, and nothing (not its own empty broker) when it does neither.
   */
  private DashboardJson.Source source(AdminReads reads) {
    if (reads.fromReplica()) {
      return DashboardJson.Source.REPLICA;
    }
    return role.serving() ? DashboardJson.Source.BROKER : DashboardJson.Source.NONE;
  }

  private void sample() {
    AdminReads reads = reads();
    Views.Status status = reads.status();
    History.Sample sample =
        History.Sample.of(
            time.wallTime(), status, source(reads).waitsKnown(), heap.usedBytes(), heap.maxBytes());
    history.add(sample);
    if (streams.size() > 0) {
      streams.broadcast(EventStreams.frame("sample", DashboardJson.sample(sample).toString()));
    }
  }

  /** Sends open streams what changed since the last tick; records a sample on every fourth. */
  void tick() {
    ticks++;
    boolean sampleTick = ticks % (SAMPLE_PERIOD.toNanos() / TICK.toNanos()) == 0;
    if (sampleTick) {
      sample();
    }
    long seq = feed.lastSeq();
    // A member that does not serve shows its replica, which no broker event marks changed: its
    // applied index does.
    long replica = role.serving() ? sentReplica : role.replicaVersion();
    if (streams.size() == 0) {
      sentSeq = seq;
      sentSnapshot = "";
      sentReplica = replica;
      return;
    }
    boolean changed = seq != sentSeq;
    if (changed) {
      streams.broadcast(
          EventStreams.frame("events", DashboardJson.events(feed.since(sentSeq)).toString()));
      sentSeq = seq;
    }
    // Events announce most changes at once, and a replica's applied index those a follower shows;
    // the sample tick also catches those without either (a limit changed by an operator, a
    // session's memory report).
    if (changed || sampleTick || replica != sentReplica) {
      sentReplica = replica;
      String snapshot = snapshot().toString();
      if (!snapshot.equals(sentSnapshot)) {
        streams.broadcast(EventStreams.frame("snapshot", snapshot));
        sentSnapshot = snapshot;
      }
    }
  }

  private JsonObject snapshot() {
    AdminReads reads = reads();
    DashboardJson.Source source = source(reads);
    Views.Status status = reads.status();
    List<Views.Session> sessions = List.of();
    List<Views.LeaseInfo> leases = List.of();
    if (source != DashboardJson.Source.NONE) {
      sessions = reads.sessions("", "", DashboardJson.SESSIONS_SHOWN);
      // Every live lease, so the snapshot can count them all and list those of the sessions shown
      // (the broker sorts them all for any limit).
      leases = reads.leases("", null, "", "", "", LeaseCursor.START, Integer.MAX_VALUE);
    }
    // Only the serving broker has a wait queue: a replica's page says to ask the leader.
    Views.WaitingList waiting =
        source == DashboardJson.Source.BROKER
            ? broker.waiting(null, "", "", "", DashboardJson.WAITING_SHOWN)
            : null;
    Optional<ClusterStatus> node = role.cluster();
    String leaderApi = role.leaderApi();
    return DashboardJson.snapshot(
        source,
        status,
        sessions,
        leases,
        waiting,
        DashboardJson.view(
            source,
            node,
            leaderApi,
            leaderDashboard(node, leaderApi),
            !configuredDashboard(node, leaderApi).isEmpty()),
        cluster,
        wall);
  }

  /**
   * Where the leader's dashboard is: the leader's {@code cluster.peers.*.dashboard} when set, else
   * as far as this member can tell, the leader's API host with this listener's scheme and port
   * (members are then expected to share {@code metrics.listen}'s port). Empty while no leader is
   * known, or, without a configured URL, before any request has reached this listener.
   */
  private String leaderDashboard(Optional<ClusterStatus> node, String leaderApi) {
    if (leaderApi.isEmpty()) {
      return "";
    }
    String configured = configuredDashboard(node, leaderApi);
    if (!configured.isEmpty()) {
      return configured;
    }
    String own = listener;
    if (own.isEmpty()) {
      return "";
    }
    int colon = leaderApi.lastIndexOf(':');
    String host = colon > 0 ? leaderApi.substring(0, colon) : leaderApi;
    return own.replace("{host}", host);
  }

  /** The {@code cluster.peers.*.dashboard} of the member at {@code api}; empty when not set. */
  private static String configuredDashboard(Optional<ClusterStatus> node, String api) {
    if (node.isPresent()) {
      for (ClusterStatus.Member m : node.get().members()) {
        if (m.api().equals(api)) {
          return m.dashboard();
        }
      }
    }
    return "";
  }

  private JsonObject state(WebAccess.Grant grant) {
    JsonObject out = new JsonObject();
    JsonObject who = new JsonObject();
    who.addProperty("auth", access.authEnabled());
    who.addProperty("actions", grant.actions());
    who.addProperty("principal", grant.principal());
    out.add("access", who);
    out.add("snapshot", snapshot());
    out.add("history", DashboardJson.samples(history.all()));
    out.add("events", DashboardJson.events(feed.since(0)));
    return out;
  }

  // ---------------------------------------------------------------- HTTP

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    if (listener.isEmpty()) {
      listener =
          (HttpListener.isSecure(exchange) ? "https" : "http")
              + "://{host}:"
              + exchange.getLocalAddress().getPort()
              + "/";
    }
    try {
      route(exchange);
    } catch (WebError e) {
      answerError(exchange, e);
    } catch (BrokerException e) {
      answerError(exchange, fromBroker(e));
    } catch (IOException e) {
      // The client went away mid-answer.
    } catch (RuntimeException e) {
      log.warn("dashboard request {} {} failed", exchange.getRequestMethod(), path(exchange), e);
      answerError(exchange, new WebError(500, "INTERNAL", "", "internal error; see the log"));
    } finally {
      exchange.close();
    }
  }

  private void route(HttpExchange exchange) throws IOException {
    String path = path(exchange);
    String method = exchange.getRequestMethod();
    Asset asset = assets.get(path);
    if (asset != null) {
      requireMethod(exchange, "GET", "HEAD");
      answer(exchange, 200, asset.type(), asset.bytes());
      return;
    }
    switch (path) {
      case "/api/state" -> {
        requireMethod(exchange, "GET");
        WebAccess.Grant grant = access.read(exchange); // a caller without a token learns no more
        Query.parse(exchange.getRequestURI().getRawQuery(), Set.of());
        answerJson(exchange, 200, state(grant));
      }
      case "/api/stream" -> {
        requireMethod(exchange, "GET");
        WebAccess.Grant grant = access.read(exchange);
        Query.parse(exchange.getRequestURI().getRawQuery(), Set.of());
        stream(exchange, grant);
      }
      case "/api/leases" -> {
        requireMethod(exchange, "GET");
        access.read(exchange);
        answerJson(exchange, 200, findLeases(exchange));
      }
      case "/api/leases/revoke" -> {
        requirePost(exchange, method);
        String who = access.act(exchange).principal();
        requireLeading();
        answerJson(exchange, 200, revoke(exchange, who));
      }
      case "/api/sessions/drain" -> {
        requirePost(exchange, method);
        String who = access.act(exchange).principal();
        requireLeading();
        answerJson(exchange, 200, drainSession(exchange, who));
      }
      case "/api/broker/drain" -> {
        requirePost(exchange, method);
        String who = access.act(exchange).principal();
        requireLeading();
        answerJson(exchange, 200, drainBroker(exchange, who));
      }
      default ->
          throw new WebError(404, "NOT_FOUND", "path", "path: no such page or endpoint: " + path);
    }
  }

  private void stream(HttpExchange exchange, WebAccess.Grant grant) throws IOException {
    // Registered before the first frame is built, so nothing that happens in between is missed;
    // the page ignores what it already has (events carry a sequence number).
    EventStreams.Client client = streams.open(grant);
    try {
      String first = EventStreams.frame("state", state(grant).toString());
      exchange.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
      exchange.getResponseHeaders().set("Cache-Control", "no-store");
      exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
      exchange.sendResponseHeaders(200, 0);
      client.serve(exchange.getResponseBody(), first);
    } finally {
      client.close();
    }
  }

  /** The leases a page of {@code GET /api/leases} shows at most. */
  static final int MAX_FOUND = 1000;

  /** The leases a page of {@code GET /api/leases} shows when {@code limit} is not given. */
  static final int DEFAULT_FOUND = 100;

  /** The longest host name there is (DNS allows 253 characters). */
  private static final int MAX_HOST_LENGTH = 253;

  /**
   * One page of the live leases that match the query's filters, in grant order (by fencing token):
   * how the operator finds a lease among more than a snapshot lists.
   */
  private JsonObject findLeases(HttpExchange exchange) {
    Query query =
        Query.parse(
            exchange.getRequestURI().getRawQuery(),
            Set.of("session_id", "worker", "job", "kind", "host", "after", "limit"));
    String sessionId = query.get("session_id");
    AcquireSpec.requireId("session_id", sessionId, false);
    String worker = query.get("worker");
    AcquireSpec.requireId("worker", worker, false);
    String job = job(query.get("job"));
    String host = query.get("host");
    if (host.length() > MAX_HOST_LENGTH) {
      throw WebError.invalid("host", "longer than " + MAX_HOST_LENGTH + " characters");
    }
    // Read as a lease's host is (lower case, IDN in ASCII), so a filter names what it lists.
    host = HostName.ofHost(host, "host");
    ResourceKind kind = query.get("kind").isEmpty() ? null : kind(query.get("kind"));
    LeaseCursor after = after(query.get("after"));
    int limit = limit(query.get("limit"));
    AdminReads reads = reads();
    DashboardJson.Source source = source(reads);
    List<Views.LeaseInfo> page =
        source == DashboardJson.Source.NONE
            ? List.of()
            : reads.leases(worker, kind, host, sessionId, job, after, limit + 1);
    return DashboardJson.found(source, page, limit, wall);
  }

  /** A {@code job} filter: empty (every job) or a job name by {@link JobsConfig#nameProblem}. */
  private static String job(String text) {
    String problem = text.isEmpty() ? null : JobsConfig.nameProblem(text);
    if (problem != null) {
      throw WebError.invalid(
          "job",
          problem + ", got '" + (text.length() > 64 ? text.substring(0, 64) + "…" : text) + "'");
    }
    return text;
  }

  private static ResourceKind kind(String text) {
    for (ResourceKind kind : ResourceKind.values()) {
      if (DashboardFeed.lower(kind).equals(text)) {
        return kind;
      }
    }
    throw WebError.invalid("kind", "must be one of render, pdf, wasm, got '" + text + "'");
  }

  private static LeaseCursor after(String text) {
    try {
      return LeaseCursor.parse(text);
    } catch (IllegalArgumentException e) {
      throw WebError.invalid(
          "after",
          "must be the next_after of the page before ('<token>:<lease id>'), got '"
              + (text.length() > 64 ? text.substring(0, 64) + "…" : text)
              + "'");
    }
  }

  private static int limit(String text) {
    if (text.isEmpty()) {
      return DEFAULT_FOUND;
    }
    try {
      int limit = Integer.parseInt(text);
      if (limit >= 1 && limit <= MAX_FOUND) {
        return limit;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw WebError.invalid("limit", "must be 1.." + MAX_FOUND + ", got '" + text + "'");
  }

  private JsonObject revoke(HttpExchange exchange, String who) throws IOException {
    JsonBody body = JsonBody.read(exchange.getRequestBody(), Set.of("lease_id", "reason"));
    String leaseId = body.requiredString("lease_id");
    AcquireSpec.requireId("lease_id", leaseId, true);
    RevokeReason reason =
        body.optionalString("reason").map(Dashboard::revokeReason).orElse(RevokeReason.ADMIN);
    Broker.EndResult result;
    try {
      result = broker.revoke(leaseId, reason, null);
    } catch (BrokerException e) {
      throw e.code() == BrokerException.Code.NOT_FOUND
          ? WebError.notFound("lease_id", e.getMessage())
          : e;
    }
    AdminAudit.changed(
        who,
        "dashboard",
        "revoke lease "
            + leaseId
            + " ("
            + DashboardFeed.lower(reason)
            + "): "
            + (result.changed() ? "revoked" : "had already ended"));
    JsonObject out = new JsonObject();
    out.addProperty("revoked", result.changed());
    out.addProperty("ended_by", DashboardFeed.lower(result.end()));
    return out;
  }

  private static RevokeReason revokeReason(String text) {
    for (RevokeReason reason : RevokeReason.values()) {
      if (DashboardFeed.lower(reason).equals(text)) {
        return reason;
      }
    }
    throw WebError.invalid(
        "reason", "must be one of admin, max_hold, idle, memory_pressure, drain, session_expired");
  }

  private JsonObject drainSession(HttpExchange exchange, String who) throws IOException {
    JsonBody body = JsonBody.read(exchange.getRequestBody(), Set.of("session_id", "deadline"));
    String sessionId = body.requiredString("session_id");
    AcquireSpec.requireId("session_id", sessionId, true);
    Duration deadline = body.optionalString("deadline").map(Dashboard::deadline).orElse(null);
    int held;
    try {
      held = broker.drainSession(sessionId, deadline);
    } catch (BrokerException e) {
      throw e.code() == BrokerException.Code.NOT_FOUND
          ? WebError.notFound("session_id", e.getMessage())
          : e;
    }
    feed.action("drain", sessionId, "session drained from the dashboard");
    AdminAudit.changed(
        who,
        "dashboard",
        "drain session "
            + sessionId
            + ": session drained"
            + (deadline == null ? "" : ", deadline " + Durations.format(deadline))
            + "; "
            + held
            + " leases held");
    JsonObject out = new JsonObject();
    out.addProperty("leases_held", held);
    return out;
  }

  private static Duration deadline(String text) {
    try {
      Duration d = Durations.parse(text);
      if (d.isNegative() || d.compareTo(Broker.MAX_DRAIN_DEADLINE) > 0) {
        throw WebError.invalid("deadline", "must be 0s..24h, got " + text);
      }
      return d.isZero() ? null : d;
    } catch (IllegalArgumentException e) {
      throw WebError.invalid("deadline", e.getMessage());
    }
  }

  private JsonObject drainBroker(HttpExchange exchange, String who) throws IOException {
    JsonBody body = JsonBody.read(exchange.getRequestBody(), Set.of("resume"));
    // Required: a broker-wide drain is not what an empty or truncated body should mean.
    boolean resume = body.requiredBoolean("resume", "false drains the broker, true lifts a drain");
    broker.drainBroker(resume, null);
    AdminAudit.changed(who, "dashboard", resume ? "broker resumed" : "broker drained");
    feed.action(
        "drain",
        "",
        resume ? "broker resumed from the dashboard" : "broker drained from the dashboard");
    JsonObject out = new JsonObject();
    out.addProperty("draining", !resume);
    return out;
  }

  /**
   * Actions change the broker, and only the leader's broker serves: a follower's holds no session,
   * and a drain set there would wait, unseen, for the day it leads. The gRPC admin calls are held
   * to the same rule by the leader gate.
   */
  private void requireLeading() {
    if (!role.serving()) {
      String leader = role.leaderApi();
      throw new WebError(
          503,
          "NOT_LEADER",
          "",
          "this member does not lead its cluster"
              + (leader.isEmpty()
                  ? " and knows no leader now; try again shortly"
                  : "; act on the leader's dashboard (its API is " + leader + ")"));
    }
  }

  // ---------------------------------------------------------------- answers

  private static void requireMethod(HttpExchange exchange, String... allowed) {
    for (String m : allowed) {
      if (m.equals(exchange.getRequestMethod())) {
        return;
      }
    }
    exchange.getResponseHeaders().set("Allow", String.join(", ", allowed));
    throw new WebError(
        405,
        "METHOD_NOT_ALLOWED",
        "method",
        "method: " + exchange.getRequestMethod() + " not allowed here; use " + allowed[0]);
  }

  private static void requirePost(HttpExchange exchange, String method) {
    if (!method.equals("POST")) {
      exchange.getResponseHeaders().set("Allow", "POST");
      throw new WebError(
          405,
          "METHOD_NOT_ALLOWED",
          "method",
          "method: actions are POST only (with a JSON body), never " + method);
    }
  }

  private static WebError fromBroker(BrokerException e) {
    String message = e.getMessage();
    return switch (e.code()) {
      case INVALID_ARGUMENT -> {
        int colon = message.indexOf(": ");
        yield new WebError(
            400, "INVALID_ARGUMENT", colon > 0 ? message.substring(0, colon) : "", message);
      }
      case NOT_FOUND -> new WebError(404, "NOT_FOUND", "", message);
      case PERMISSION_DENIED -> WebError.denied(message);
      case FAILED_PRECONDITION -> new WebError(409, "FAILED_PRECONDITION", "", message);
      case RESOURCE_EXHAUSTED -> new WebError(429, "RESOURCE_EXHAUSTED", "", message);
      case UNAVAILABLE -> new WebError(503, "UNAVAILABLE", "", message);
    };
  }

  private static void answerError(HttpExchange exchange, WebError error) throws IOException {
    if (exchange.getResponseCode() != -1) {
      return; // the answer has begun (a stream); nothing more can be said
    }
    if (error.status() == 401) {
      exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer realm=\"berth\"");
    }
    answerJson(exchange, error.status(), DashboardJson.error(error));
  }

  private static void answerJson(HttpExchange exchange, int status, JsonElement json)
      throws IOException {
    answer(exchange, status, JSON, json.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static void answer(HttpExchange exchange, int status, String type, byte[] bytes)
      throws IOException {
    var headers = exchange.getResponseHeaders();
    headers.set("Content-Type", type);
    headers.set("Cache-Control", type.equals(JSON) ? "no-store" : "no-cache");
    headers.set("X-Content-Type-Options", "nosniff");
    headers.set("Referrer-Policy", "no-referrer");
    if (type.equals(HTML)) {
      headers.set("Content-Security-Policy", CSP);
    }
    boolean head = exchange.getRequestMethod().equals("HEAD");
    exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
    if (!head) {
      exchange.getResponseBody().write(bytes);
    }
  }

  private static String path(HttpExchange exchange) {
    String path = exchange.getRequestURI().getPath();
    return path == null || path.isEmpty() ? "/" : path;
  }

  // ---------------------------------------------------------------- assets

  private static Map<String, Asset> loadAssets() {
    String uplot = "META-INF/resources/webjars/uplot/" + uplotVersion() + "/dist/";
    Asset page = new Asset(resource(WEB + "index.html"), HTML);
    return Map.of(
        "/", page,
        "/index.html", page,
        "/dashboard.js", new Asset(resource(WEB + "dashboard.js"), JS),
        "/dashboard.css", new Asset(resource(WEB + "dashboard.css"), CSS),
        "/vendor/uPlot.iife.min.js", new Asset(resource(uplot + "uPlot.iife.min.js"), JS),
        "/vendor/uPlot.min.css", new Asset(resource(uplot + "uPlot.min.css"), CSS));
  }

  /**
   * The uPlot WebJar's version, from its Maven metadata, so the pom is the one place to name it.
   */
  private static String uplotVersion() {
    Properties props = new Properties();
    try (InputStream in = stream("META-INF/maven/org.webjars.npm/uplot/pom.properties")) {
      props.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return props.getProperty("version").trim().toLowerCase(Locale.ROOT);
  }

  private static byte[] resource(String name) {
    try (InputStream in = stream(name)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static InputStream stream(String name) {
    InputStream in = Dashboard.class.getClassLoader().getResourceAsStream(name);
    if (in == null) {
      throw new IllegalStateException("the dashboard's " + name + " is missing from the jar");
    }
    return in;
  }
}
