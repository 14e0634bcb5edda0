package dev.berth.client.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class IdsTest {

  @Test
  void attempt_firstKeepsTheIdLaterOnesAreSuffixed() {
    assertThat(Ids.attempt("page-42", 1)).isEqualTo("page-42");
    assertThat(Ids.attempt("page-42", 2)).isEqualTo("page-42/2");
  }

  @Test
  void attempt_longId_cutToFitTheLimit() {
    String id = "x".repeat(Ids.MAX_LENGTH);

    String third = Ids.attempt(id, 3);

    assertThat(third).hasSize(Ids.MAX_LENGTH).endsWith("/3");
  }
}
