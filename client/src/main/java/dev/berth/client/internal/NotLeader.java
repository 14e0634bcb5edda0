package dev.berth.client.internal;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.ErrorInfo;
import io.grpc.Status;
import io.grpc.protobuf.StatusProto;
import java.util.Optional;

/**
 * Reads a cluster follower's refusal: {@code UNAVAILABLE} with a {@code google.rpc.ErrorInfo} of
 * reason {@value #REASON} and domain {@value #DOMAIN} in the status details, whose metadata {@value
 * #LEADER_KEY} is the leader's API address ({@code HOST:PORT}, empty while none is known).
 * Stateless.
 */
public final class NotLeader {
  /** {@code ErrorInfo.reason} of a call made to a cluster member that does not lead. */
  public static final String REASON = "NOT_LEADER";

  /** {@code ErrorInfo.domain} of Berth's own error reasons. */
  public static final String DOMAIN = "berth.dev";

  /** The {@code ErrorInfo.metadata} key of the leader's address. */
  public static final String LEADER_KEY = "leader";

  private NotLeader() {}

  /**
   * The leader a failed call was sent to, when {@code error} is a NOT_LEADER refusal: the address
   * it names, or {@code ""} when the member knows no leader yet. Empty when it is anything else.
   */
  public static Optional<String> hint(Throwable error) {
    if (Status.fromThrowable(error).getCode() != Status.Code.UNAVAILABLE) {
      return Optional.empty();
    }
    com.google.rpc.Status status = StatusProto.fromThrowable(error);
    if (status == null) {
      return Optional.empty();
    }
    for (Any detail : status.getDetailsList()) {
      if (!detail.is(ErrorInfo.class)) {
        continue;
      }
      try {
        ErrorInfo info = detail.unpack(ErrorInfo.class);
        if (REASON.equals(info.getReason()) && DOMAIN.equals(info.getDomain())) {
          return Optional.of(info.getMetadataOrDefault(LEADER_KEY, "").strip());
        }
      } catch (InvalidProtocolBufferException e) {
        return Optional.empty(); // a malformed detail is no hint
      }
    }
    return Optional.empty();
  }
}
