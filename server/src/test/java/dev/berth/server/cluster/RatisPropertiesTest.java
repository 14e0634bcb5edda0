package dev.berth.server.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.retry.RetryPolicy;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.junit.jupiter.api.Test;

/** The Ratis settings a node derives; nothing here starts Raft. */
class RatisPropertiesTest {

  @Test
  void server_appenderRetryPolicy_waitsAtMost750msBetweenAttempts_forever() {
    String configured =
        RaftServerConfigKeys.Log.Appender.retryPolicy(
            RatisProperties.server(RaftNodeTest.settings("fleet-1"), Path.of("/nonexistent")));
    RetryPolicy policy =
        RetryPolicy.parse(configured, RaftServerConfigKeys.Log.Appender.RETRY_POLICY_KEY);

    long longest = 0;
    // Up to a day of failures at the longest wait: the policy never gives up (after its last
    // tier Ratis would retry with no wait at all, a busy loop).
    for (int attempt = 1; attempt <= 200_000; attempt++) {
      int n = attempt;
      RetryPolicy.Action action = policy.handleAttemptFailure(() -> n);
      assertThat(action.shouldRetry()).as("attempt %d retries", n).isTrue();
      long ms = action.getSleepTime().toLong(TimeUnit.MILLISECONDS);
      if (n > 30) {
        assertThat(ms).as("wait after %d failures", n).isBetween(250L, 750L);
      }
      longest = Math.max(longest, ms);
    }
    assertThat(longest).isLessThanOrEqualTo(750);
  }

  @Test
  void server_heartbeatsShareTheAppendStream_soEachFollowersRepliesComeOneAtATime() {
    assertThat(
            GrpcConfigKeys.Server.heartbeatChannel(
                RatisProperties.server(RaftNodeTest.settings("fleet-1"), Path.of("/nonexistent"))))
        .isFalse();
  }
}
