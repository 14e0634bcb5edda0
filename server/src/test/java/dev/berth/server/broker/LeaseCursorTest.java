package dev.berth.server.broker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LeaseCursorTest {

  @Test
  void start_precedesEveryLease_tokenZeroToo() {
    assertThat(LeaseCursor.START.precedes(0, "a")).isTrue();
    assertThat(LeaseCursor.START.precedes(-1, "a")).as("the largest unsigned token").isTrue();
  }

  @Test
  void afterALease_tiesBrokenById_thenByUnsignedToken() {
    LeaseCursor cursor = new LeaseCursor(0, "local-b");

    assertThat(cursor.precedes(0, "local-a")).isFalse();
    assertThat(cursor.precedes(0, "local-b")).isFalse();
    assertThat(cursor.precedes(0, "local-c")).isTrue();
    assertThat(cursor.precedes(1, "a")).isTrue();
    assertThat(new LeaseCursor(-1, "x").precedes(5, "z")).isFalse();
  }

  @Test
  void text_parsesBackToTheSameCursor() {
    LeaseCursor cursor = new LeaseCursor(-2, "9f0c:odd:id");

    assertThat(cursor.text()).isEqualTo("18446744073709551614:9f0c:odd:id");
    assertThat(LeaseCursor.parse(cursor.text())).isEqualTo(cursor);
    assertThat(LeaseCursor.parse("")).isEqualTo(LeaseCursor.START);
  }

  @Test
  void aBareToken_startsAfterEveryLeaseWithIt() {
    LeaseCursor cursor = LeaseCursor.parse("7");

    assertThat(cursor.precedes(7, "zzz")).isFalse();
    assertThat(cursor.precedes(8, "a")).isTrue();
  }

  @Test
  void parse_notACursor_refused() {
    for (String bad : new String[] {"x", "x:l-1", "7:", "-1:l", ":l"}) {
      assertThatThrownBy(() -> LeaseCursor.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }
}
