package dev.berth.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.berth.common.Identifiers;
import org.junit.jupiter.api.Test;

/** The request ids of a retried acquire's attempts. */
class RequestIdsTest {

  @Test
  void requestIdOfAttempt_firstKeepsTheIdLaterOnesAreSuffixed() {
    assertThat(ManagedSession.requestIdOfAttempt("page-42", 1)).isEqualTo("page-42");
    assertThat(ManagedSession.requestIdOfAttempt("page-42", 2)).isEqualTo("page-42/2");
  }

  @Test
  void requestIdOfAttempt_longId_cutToFitTheLimit() {
    String id = "x".repeat(Identifiers.MAX_LENGTH);

    String third = ManagedSession.requestIdOfAttempt(id, 3);

    assertThat(third).hasSize(Identifiers.MAX_LENGTH).endsWith("/3");
  }
}
