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
 * The Raft group of a cluster, named by its {@code cluster.id}, and the check that a node's Raft
 * directory holds no other cluster's group. Stateless.
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

  /**
   * Creates {@code raftDir} if needed and refuses it when it holds another cluster's group: Ratis
   * would otherwise start that group too.
   *
   * @throws StateException naming both groups, or when the directory cannot be created
   */
  static void checkStorage(Path raftDir, RaftGroupId groupId, String clusterId) {
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
  }
}
