package dev.berth.server.grpc;

import dev.berth.proto.v1.AcquireBundleRequest;
import dev.berth.proto.v1.AcquireRequest;
import dev.berth.proto.v1.BrokerAdminGrpc;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.DrainBrokerRequest;
import dev.berth.proto.v1.DrainBrokerResponse;
import dev.berth.proto.v1.DrainSessionRequest;
import dev.berth.proto.v1.DrainSessionResponse;
import dev.berth.proto.v1.Explanation;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.ListLeasesRequest;
import dev.berth.proto.v1.ListLeasesResponse;
import dev.berth.proto.v1.ListSessionsRequest;
import dev.berth.proto.v1.ListSessionsResponse;
import dev.berth.proto.v1.ListWaitingRequest;
import dev.berth.proto.v1.ListWaitingResponse;
import dev.berth.proto.v1.RevokeLeaseRequest;
import dev.berth.proto.v1.RevokeLeaseResponse;
import dev.berth.proto.v1.TransferLeadershipRequest;
import dev.berth.proto.v1.TransferLeadershipResponse;
import dev.berth.proto.v1.UpdateLimitsRequest;
import dev.berth.proto.v1.UpdateLimitsResponse;
import dev.berth.server.admission.AcquireSpec;
import dev.berth.server.admission.HostName;
import dev.berth.server.broker.Broker;
import dev.berth.server.broker.LeaseCursor;
import dev.berth.server.broker.Views;
import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.lease.RevokeReason;
import dev.berth.server.metrics.AcquireTimings;
import dev.berth.server.replication.AdminReads;
import dev.berth.server.replication.ServingRole;
import dev.berth.server.security.AdminAudit;
import dev.berth.server.settings.Durations;
import io.grpc.stub.StreamObserver;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.function.Supplier;

/**
 * The operator-facing {@code berth.v1.BrokerAdmin} service: a thin adapter over the broker's views
 * and interventions. Page tokens are opaque to callers (base64 of the last key returned).
 */
final class AdminService extends BrokerAdminGrpc.BrokerAdminImplBase {
  /** The longest grace a revoke may give: the lease has ended at the broker already. */
  private static final Duration MAX_GRACE = Duration.ofDays(1);

  private static final int DEFAULT_PAGE = 100;
  private static final int MAX_PAGE = 1000;

  private final Broker broker;
  private final Protos protos;
  private final EventHub events;
  private final AcquireTimings timings;
  private final ServingRole role;

  AdminService(
      Broker broker, Protos protos, EventHub events, AcquireTimings timings, ServingRole role) {
    this.broker = broker;
    this.protos = protos;
    this.events = events;
    this.timings = timings;
    this.role = role;
  }

  /**
   * Where reads come from now: the broker while this node serves, its replica of the leader's state
   * while it does not.
   */
  private AdminReads reads() {
    return AdminReads.now(broker, role, protos.time());
  }

  @Override
  public void getStatus(GetStatusRequest request, StreamObserver<BrokerStatus> responses) {
    answer(responses, this::status);
  }

  /**
   * This node's status; from its replica while it does not serve ({@code from_replica}), where what
   * only the leader knows reads 0 ({@link dev.berth.server.broker.ReplicaViews#status}).
   */
  private BrokerStatus status() {
    AdminReads reads = reads();
    BrokerStatus.Builder status =
        protos.status(reads.status(), timings).toBuilder().setFromReplica(reads.fromReplica());
    role.cluster()
        .ifPresent(
            c -> {
              status.setCluster(Protos.clusterNode(c));
              if (reads.fromReplica()) {
                // The epoch of the tokens the leases it lists carry, not this node's idle broker's.
                status.setBrokerEpoch(c.epoch());
              }
            });
    return status.build();
  }

  @Override
  public void listSessions(
      ListSessionsRequest request, StreamObserver<ListSessionsResponse> responses) {
    answer(
        responses,
        () -> {
          int size = pageSize(request.getPageSize());
          String after = decodeToken(request.getPageToken());
          if (!request.getWorkerId().isEmpty()) {
            AcquireSpec.requireId("worker_id", request.getWorkerId(), false);
          }
          List<Views.Session> page = reads().sessions(request.getWorkerId(), after, size + 1);
          ListSessionsResponse.Builder b = ListSessionsResponse.newBuilder();
          for (Views.Session s : page.subList(0, Math.min(size, page.size()))) {
            b.addSessions(protos.session(s));
          }
          if (page.size() > size) {
            b.setNextPageToken(encodeToken(page.get(size - 1).id()));
          }
          role.cluster().ifPresent(c -> b.setAnsweredBy(Protos.clusterNode(c)));
          return b.build();
        });
  }

  @Override
  public void listLeases(ListLeasesRequest request, StreamObserver<ListLeasesResponse> responses) {
    answer(
        responses,
        () -> {
          int size = pageSize(request.getPageSize());
          LeaseCursor after;
          try {
            after = LeaseCursor.parse(decodeToken(request.getPageToken()));
          } catch (IllegalArgumentException e) {
            throw BrokerException.invalid("page_token", "not a token this broker issued");
          }
          // UNSPECIFIED lists every kind.
          ResourceKind kind =
              request.getKindValue() == 0 ? null : Protos.requireKind(request.getKind(), "kind");
          AcquireSpec.requireId("worker_id", request.getWorkerId(), false);
          AcquireSpec.requireId("session_id", request.getSessionId(), false);
          // Read as a lease's host is (lower case, IDN in ASCII), so a filter names what it lists.
          String host = HostName.ofHost(request.getHost(), "host");
          List<Views.LeaseInfo> page =
              reads()
                  .leases(
                      request.getWorkerId(),
                      kind,
                      host,
                      request.getSessionId(),
                      "",
                      after,
                      size + 1);
          ListLeasesResponse.Builder b = ListLeasesResponse.newBuilder();
          for (Views.LeaseInfo info : page.subList(0, Math.min(size, page.size()))) {
            b.addLeases(protos.leaseInfo(info));
          }
          if (page.size() > size) {
            b.setNextPageToken(encodeToken(LeaseCursor.after(page.get(size - 1)).text()));
          }
          role.cluster().ifPresent(c -> b.setAnsweredBy(Protos.clusterNode(c)));
          return b.build();
        });
  }

  @Override
  public void listWaiting(
      ListWaitingRequest request, StreamObserver<ListWaitingResponse> responses) {
    answer(
        responses,
        () -> {
          int limit = pageSize("limit", request.getLimit());
          // UNSPECIFIED lists every kind.
          ResourceKind kind =
              request.getKindValue() == 0 ? null : Protos.requireKind(request.getKind(), "kind");
          AcquireSpec.requireId("job", request.getJob(), false);
          AcquireSpec.requireId("session_id", request.getSessionId(), false);
          String host = HostName.ofHost(request.getHost(), "host");
          Views.WaitingList list =
              broker.waiting(kind, request.getJob(), host, request.getSessionId(), limit);
          ListWaitingResponse.Builder b = ListWaitingResponse.newBuilder().setTotal(list.total());
          for (Views.Waiting waiting : list.waiting()) {
            b.addWaiting(Protos.waiting(waiting));
          }
          role.cluster().ifPresent(c -> b.setAnsweredBy(Protos.clusterNode(c)));
          return b.build();
        });
  }

  @Override
  public void revokeLease(
      RevokeLeaseRequest request, StreamObserver<RevokeLeaseResponse> responses) {
    answer(
        responses,
        () -> {
          AcquireSpec.requireId("lease_id", request.getLeaseId(), true);
          RevokeReason reason = Protos.revokeReason(request.getReason());
          if (reason == null) {
            throw BrokerException.invalid(
                "reason", "required: ADMIN, IDLE, MEMORY_PRESSURE, DRAIN, ...");
          }
          Duration grace = request.hasGrace() ? Protos.duration(request.getGrace(), "grace") : null;
          if (grace != null && grace.compareTo(MAX_GRACE) > 0) {
            throw BrokerException.invalid(
                "grace", "must be at most 1d, got " + Durations.format(grace));
          }
          Broker.EndResult result = broker.revoke(request.getLeaseId(), reason, grace);
          audit(
              "revoke lease "
                  + request.getLeaseId()
                  + " ("
                  + reason.name().toLowerCase(java.util.Locale.ROOT)
                  + (grace == null ? "" : ", grace " + Durations.format(grace))
                  + "): "
                  + (result.changed() ? "revoked" : "had already ended"));
          return Protos.revokeResponse(result);
        });
  }

  @Override
  public void drainSession(
      DrainSessionRequest request, StreamObserver<DrainSessionResponse> responses) {
    answer(
        responses,
        () -> {
          AcquireSpec.requireId("session_id", request.getSessionId(), true);
          Duration deadline = deadline(request.hasDeadline(), request.getDeadline());
          int held = broker.drainSession(request.getSessionId(), deadline);
          String detail =
              "session drained"
                  + (deadline == null ? "" : ", deadline " + Durations.format(deadline))
                  + "; "
                  + held
                  + " leases held";
          events.drained(request.getSessionId(), detail);
          audit("drain session " + request.getSessionId() + ": " + detail);
          return DrainSessionResponse.newBuilder().setLeasesHeld(held).build();
        });
  }

  @Override
  public void drainBroker(
      DrainBrokerRequest request, StreamObserver<DrainBrokerResponse> responses) {
    answer(
        responses,
        () -> {
          Duration deadline = deadline(request.hasDeadline(), request.getDeadline());
          broker.drainBroker(request.getResume(), deadline);
          String detail =
              request.getResume()
                  ? "broker resumed"
                  : "broker drained"
                      + (deadline == null ? "" : ", deadline " + Durations.format(deadline));
          events.drained("", detail);
          audit(detail);
          Views.Status s = broker.status();
          int held = 0;
          for (Views.Pool pool : s.pools()) {
            held += pool.inUse();
          }
          return DrainBrokerResponse.newBuilder()
              .setSessions(s.connectedSessions() + s.disconnectedSessions())
              .setLeasesHeld(held)
              .build();
        });
  }

  /** Logs a change this call made, naming its principal ({@link AdminAudit}). */
  private static void audit(String what) {
    AdminAudit.changed(Principals.current(), "grpc", what);
  }

  private static Duration deadline(boolean present, com.google.protobuf.Duration value) {
    if (!present) {
      return null;
    }
    Duration d = Protos.duration(value, "deadline");
    return d.isZero() ? null : d;
  }

  @Override
  public void explain(AcquireRequest request, StreamObserver<Explanation> responses) {
    answer(
        responses,
        () -> {
          return Protos.explanation(broker.explain(Protos.acquireSpec(request)));
        });
  }

  @Override
  public void explainBundle(AcquireBundleRequest request, StreamObserver<Explanation> responses) {
    answer(
        responses,
        () -> Protos.bundleExplanation(broker.explainBundle(Protos.bundleSpec(request))));
  }

  @Override
  public void updateLimits(
      UpdateLimitsRequest request, StreamObserver<UpdateLimitsResponse> responses) {
    answer(
        responses,
        () -> {
          broker.changePolicy(current -> Protos.limits(current, request));
          String detail = Protos.describe(request);
          broker.limitsUpdated(detail); // to watchers and the dashboard's feed
          audit("limits: " + detail);
          return UpdateLimitsResponse.newBuilder().setStatus(status()).build();
        });
  }

  @Override
  public void watchEvents(
      dev.berth.proto.v1.WatchEventsRequest request,
      StreamObserver<dev.berth.proto.v1.BrokerEvent> responses) {
    try {
      events.watch(request, responses);
    } catch (RuntimeException e) {
      responses.onError(Errors.toStatus(e));
    }
  }

  /**
   * Moves the cluster's leadership: {@code to} must be another member (empty: the best successor).
   * Answers once the transfer is done, naming the new leader; NOT_LEADER when this node lost the
   * lead meanwhile, FAILED_PRECONDITION on a lone broker, and FAILED_PRECONDITION at once, with
   * nothing changed, when {@code to} has not answered the leader lately (its process is stopped:
   * see {@link dev.berth.server.cluster.RaftNode#silenceBound()}).
   */
  @Override
  public void transferLeadership(
      TransferLeadershipRequest request, StreamObserver<TransferLeadershipResponse> responses) {
    java.util.Optional<dev.berth.server.cluster.ClusterStatus> cluster = role.cluster();
    if (cluster.isEmpty()) {
      responses.onError(
          io.grpc.Status.FAILED_PRECONDITION
              .withDescription("not a cluster: this broker runs alone (no cluster.peers)")
              .asRuntimeException());
      return;
    }
    String to = request.getTo();
    List<String> others =
        cluster.get().members().stream()
            .map(dev.berth.server.cluster.ClusterStatus.Member::id)
            .filter(id -> !id.equals(cluster.get().self()))
            .sorted()
            .toList();
    if (!to.isEmpty() && !others.contains(to)) {
      responses.onError(
          Errors.toStatus(
              BrokerException.invalid(
                  "to",
                  "must be another member of the cluster ("
                      + String.join(", ", others)
                      + ") or empty for the best successor, got '"
                      + to
                      + "'")));
      return;
    }
    audit("leadership transfer asked, to " + (to.isEmpty() ? "the best successor" : to));
    // The chained stage only answers the call and cannot fail, so there is nothing to observe.
    var unused =
        role.transferTo(to)
            .whenComplete(
                (leader, error) -> {
                  if (error != null) {
                    responses.onError(transferFailed(error));
                    return;
                  }
                  String leaderId = leader == null ? "" : leader;
                  String api =
                      cluster.get().members().stream()
                          .filter(m -> m.id().equals(leaderId))
                          .map(dev.berth.server.cluster.ClusterStatus.Member::api)
                          .findFirst()
                          .orElse("");
                  responses.onNext(
                      TransferLeadershipResponse.newBuilder()
                          .setLeaderId(leaderId)
                          .setLeaderApi(api)
                          .build());
                  responses.onCompleted();
                });
  }

  /** Why a transfer failed, as the status the caller acts on. */
  private io.grpc.StatusRuntimeException transferFailed(Throwable error) {
    Throwable cause =
        error instanceof java.util.concurrent.CompletionException && error.getCause() != null
            ? error.getCause()
            : error;
    if (cause instanceof dev.berth.server.cluster.ReplicationException r) {
      return switch (r.reason()) {
        case NOT_LEADER -> LeaderGate.notLeader(role.leaderApi());
        default ->
            io.grpc.Status.UNAVAILABLE
                .withDescription("leadership was not transferred: " + r.getMessage())
                .asRuntimeException();
      };
    }
    if (cause instanceof IllegalArgumentException) {
      return Errors.toStatus(BrokerException.invalid("to", cause.getMessage()));
    }
    if (cause instanceof IllegalStateException) {
      return io.grpc.Status.FAILED_PRECONDITION
          .withDescription("leadership was not transferred: " + cause.getMessage())
          .asRuntimeException();
    }
    if (cause instanceof UnsupportedOperationException) {
      return io.grpc.Status.FAILED_PRECONDITION
          .withDescription("not a cluster: this broker runs alone (no cluster.peers)")
          .asRuntimeException();
    }
    return Errors.toStatus(cause);
  }

  /** The page size asked for; {@code requested} is a uint32 on the wire. */
  private static int pageSize(int requested) {
    return pageSize("page_size", requested);
  }

  /**
   * A page size or limit read from {@code field}: 0 takes the default, at most {@code MAX_PAGE}.
   */
  private static int pageSize(String field, int requested) {
    long size = Integer.toUnsignedLong(requested);
    if (size > MAX_PAGE) {
      throw BrokerException.invalid(field, "must be 0.." + MAX_PAGE + ", got " + size);
    }
    return size == 0 ? DEFAULT_PAGE : (int) size;
  }

  private static String encodeToken(String key) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }

  private static String decodeToken(String token) {
    if (token.isEmpty()) {
      return "";
    }
    try {
      return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw BrokerException.invalid("page_token", "not a token this broker issued");
    }
  }

  private static <T> void answer(StreamObserver<T> responses, Supplier<T> body) {
    T response;
    try {
      response = body.get();
    } catch (RuntimeException e) {
      responses.onError(Errors.toStatus(e));
      return;
    }
    responses.onNext(response);
    responses.onCompleted();
  }
}
