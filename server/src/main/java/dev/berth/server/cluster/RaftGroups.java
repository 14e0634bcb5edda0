package dev.berth.server.cluster;

import dev.berth.server.state.StateException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;

/**
 * The Raft group of a cluster, named by its {@code cluster.id}, and the checks that a node's Raft
 * directory holds no other cluster's group and no other member's state. Stateless.
 */
final class RaftGroups {
  private static final Pattern GROUP_DIR =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  private RaftGroups() {}

  /** The group of every member, as Ratis names them. */
  static RaftGroup group(ClusterSettings s) {
    List<RaftPeer> peers = new ArrayList<>();
    for (Peer p : s.peers().values()) {
      peers.add(RaftPeer.newBuilder().setId(p.id()).setAddress(p.raftAddress()).build());
    }
    return RaftGroup.valueOf(groupId(s.id()), peers);
  }

  /** The same id for the same cluster id, on every member and every start. */
  static RaftGroupId groupId(String clusterId) {
    return RaftGroupId.valueOf(
        UUID.nameUUIDFromBytes(("berth-cluster:" + clusterId).getBytes(StandardCharsets.UTF_8)));
  }

  /** The file in the Raft directory that names the member whose log and votes it holds. */
  static final String MEMBER_FILE = "member";

  /**
   * Creates {@code raftDir} if needed and refuses it when it holds another cluster's group (Ratis
   * would otherwise start that group too) or another member's state: Ratis does not record whose
   * log and votes a directory holds, and a member started on another's (a copied or swapped state
   * directory) could vote twice in one term and help elect two leaders. The member is recorded in
   * {@value #MEMBER_FILE} on its first start with this check (a directory of an earlier version has
   * none, and is taken as this member's).
   *
   * @throws StateException naming both groups or both members, or when the directory cannot be
   *     created or the member file cannot be read or written
   */
  static void checkStorage(Path raftDir, RaftGroupId groupId, String clusterId, String self) {
    try {
      Files.createDirectories(raftDir);
    } catch (IOException e) {
      throw new StateException("cannot create " + raftDir + ": " + e.getMessage(), e);
    }
    File[] entries = raftDir.toFile().listFiles(File::isDirectory);
    String ours = groupId.getUuid().toString();
    for (File f : entries == null ? new File[0] : entries) {
      String name = f.getName();
      if (GROUP_DIR.matcher(name).matches() && !name.equals(ours)) {
        throw new StateException(
            raftDir
                + " holds the Raft log of another cluster (group "
                + name
                + "), not of cluster.id '"
                + clusterId
                + "' (group "
                + ours
                + "); was cluster.id changed? Move that directory away to start afresh");
      }
    }
    checkMember(raftDir, self);
  }

  private static void checkMember(Path raftDir, String self) {
    Path file = raftDir.resolve(MEMBER_FILE);
    try {
      if (!Files.exists(file)) {
        Files.writeString(file, self + "\n", StandardCharsets.UTF_8);
        return;
      }
      String recorded = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (!recorded.equals(self)) {
        throw new StateException(
            raftDir
                + " holds the Raft log and votes of member '"
                + recorded
                + "', not of cluster.self '"
                + self
                + "' (a state directory copied or swapped?): a member started on another's state"
                + " could vote twice in one term. Start '"
                + recorded
                + "' on it, or move it away to join afresh as '"
                + self
                + "' (the leader sends it the log)");
      }
    } catch (IOException e) {
      throw new StateException(
          "cannot read or write " + file + ": " + dev.berth.server.state.IoErrors.describe(e), e);
    }
  }
}
