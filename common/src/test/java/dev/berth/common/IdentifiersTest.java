package dev.berth.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class IdentifiersTest {

  @Test
  void problem_printableAsciiUpToTheLimit_none() {
    assertThat(Identifiers.problem("crawler-17/page#3")).isEmpty();
    assertThat(Identifiers.problem("x".repeat(Identifiers.MAX_LENGTH))).isEmpty();
  }

  @Test
  void problem_emptyOrTooLong_namesTheLength() {
    assertThat(Identifiers.problem("")).contains("must be 1..128 characters");
    assertThat(Identifiers.problem("x".repeat(Identifiers.MAX_LENGTH + 1)))
        .contains("must be 1..128 characters");
  }

  @Test
  void problem_spaceControlOrNonAscii_namesTheCharacters() {
    for (String bad : new String[] {"has space", "tab\t", "caf\u00e9"}) {
      assertThat(Identifiers.problem(bad)).contains("must be printable ASCII without spaces");
    }
  }

  @Test
  void check_invalid_throwsNamingTheField() {
    assertThatThrownBy(() -> Identifiers.check("workerId", "has space"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("workerId: must be printable ASCII without spaces");
  }
}
