package dev.berth.client.cli;

import dev.berth.client.cli.options.Durations;
import dev.berth.client.cli.options.Failures;
import dev.berth.common.CommandLines;
import dev.berth.proto.v1.BrokerStatus;
import dev.berth.proto.v1.ClusterMemberInfo;
import dev.berth.proto.v1.ClusterNode;
import dev.berth.proto.v1.ClusterRole;
import dev.berth.proto.v1.GetStatusRequest;
import dev.berth.proto.v1.TransferLeadershipRequest;
import dev.berth.proto.v1.TransferLeadershipResponse;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code berth cluster status} and {@code berth cluster transfer}: a cluster as one of its members
 * sees it, and a planned move of its leadership. Each command object is used for one command line;
 * none is thread-safe.
 */
final class ClusterCommands {
  private ClusterCommands() {}

  @Command(
      name = "cluster",
      mixinStandardHelpOptions = true,
      synopsisSubcommandLabel = "(status | transfer)",
      description = {
        "status: the members, roles, term, commit index and lag; transfer: move the leadership."
      })
  static final class Cluster implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Override
    public Integer call() {
      throw CommandLines.usage(
          spec, "'cluster' needs a subcommand: berth cluster status, berth cluster transfer");
    }
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = {
        "The cluster as the answering member sees it.",
        "",
        "Which member answered (answered_by) and its role, the term, the leader, the fencing epoch,"
            + " its commit and applied index, and each member with its commit index and how far it"
            + " trails (known on the leader only). Any reachable member answers; with several"
            + " --broker addresses the first that answers does."
      })
  static final class Status extends Commands.AdminCommand {
    @Override
    int run(Connection broker) {
      BrokerStatus status = broker.admin().getStatus(GetStatusRequest.getDefaultInstance());
      if (!status.hasCluster()) {
        err.println(
            "berth: the broker at "
                + broker.target()
                + " is not a cluster member (it runs alone, without cluster.peers)");
        return ExitCode.BROKER_ERROR;
      }
      if (json) {
        print(status.getCluster());
      } else {
        view(status.getCluster(), broker.target(), out);
      }
      return ExitCode.OK;
    }
  }

  /** The text form of {@code node}, which {@code target} answered. */
  static void view(ClusterNode node, String target, PrintStream out) {
    out.println(
        "answered_by  " + node.getNodeId() + " at " + target + " (" + role(node.getRole()) + ")");
    out.println(
        "leader       "
            + (node.getLeaderId().isEmpty()
                ? "none known"
                : node.getLeaderId() + " at " + node.getLeaderApi())
            + (node.getRole() == ClusterRole.CLUSTER_ROLE_LEADER
                ? node.getReady() ? " (ready: granting)" : " (not ready yet)"
                : ""));
    out.println("term         " + node.getTerm() + "   epoch " + node.getEpoch());
    out.println(
        "log          commit index "
            + node.getCommitIndex()
            + ", applied "
            + node.getAppliedIndex()
            + ", apply lag "
            + node.getApplyLag()
            + (node.getRole() == ClusterRole.CLUSTER_ROLE_LEADER
                ? ", uncommitted " + node.getUncommittedEntries()
                : ""));
    out.println();
    Table members = new Table("MEMBER", "API", "ROLE", "COMMIT>", "LAG>", "LAST ANSWER>");
    for (ClusterMemberInfo m : node.getMembersList()) {
      members.row(
          m.getId(),
          m.getApi(),
          memberRole(node, m.getId()),
          m.getCommitIndex() < 0 ? "?" : m.getCommitIndex(),
          m.getLag() < 0 ? "?" : m.getLag(),
          lastAnswer(node, m));
    }
    members.print(out);
  }

  /**
   * How long ago the member last answered the leader (a stopped member's grows); known on the
   * leader only, {@code -} for the answering member itself.
   */
  private static String lastAnswer(ClusterNode node, ClusterMemberInfo m) {
    if (m.hasUnansweredFor()) {
      com.google.protobuf.Duration d = m.getUnansweredFor();
      return Durations.format(Duration.ofSeconds(d.getSeconds(), d.getNanos())) + " ago";
    }
    return m.getId().equals(node.getNodeId()) ? "-" : "?";
  }

  /** A member's role as far as the answering node knows it. */
  private static String memberRole(ClusterNode node, String id) {
    if (id.equals(node.getNodeId())) {
      return role(node.getRole());
    }
    if (id.equals(node.getLeaderId())) {
      return "leader";
    }
    return node.getLeaderId().isEmpty() ? "?" : "follower";
  }

  private static String role(ClusterRole role) {
    return switch (role) {
      case CLUSTER_ROLE_LEADER -> "leader";
      case CLUSTER_ROLE_FOLLOWER -> "follower";
      case CLUSTER_ROLE_CANDIDATE -> "candidate";
      case CLUSTER_ROLE_STOPPED -> "stopped";
      case CLUSTER_ROLE_UNSPECIFIED, UNRECOGNIZED -> role.name().toLowerCase(Locale.ROOT);
    };
  }

  @Command(
      name = "transfer",
      mixinStandardHelpOptions = true,
      description = {
        "Move the cluster's leadership to another member.",
        "",
        "The leader stops granting, lets its journal drain, and hands the lead to --to (or, without"
            + " it, to the member whose log reaches furthest); workers follow to the new leader."
            + " Sent to the leader, found through the --broker addresses."
      })
  static final class Transfer extends Commands.AdminCommand {
    @Option(
        names = "--to",
        paramLabel = "ID",
        order = 50,
        description = "The member id (cluster.self) to lead next; default: the best successor.")
    String to = "";

    /**
     * Sent on only when nothing was done: after a NOT_LEADER answer, or when the member could not
     * be reached at all (connection refused, unknown host). A transfer that failed on the leader
     * (UNAVAILABLE) may have paused grants or even moved leadership late, and running it again
     * would move it a second time.
     */
    @Override
    boolean mayRunAgainAfter(StatusRuntimeException error) {
      return dev.berth.client.internal.NotLeader.hint(error).isPresent()
          || Failures.neverReached(error);
    }

    @Override
    int run(Connection broker) {
      TransferLeadershipResponse response =
          broker
              .admin()
              .transferLeadership(TransferLeadershipRequest.newBuilder().setTo(to).build());
      if (json) {
        print(response);
      } else {
        out.println(
            "leadership moved to "
                + response.getLeaderId()
                + (response.getLeaderApi().isEmpty() ? "" : " at " + response.getLeaderApi()));
      }
      return ExitCode.OK;
    }
  }
}
