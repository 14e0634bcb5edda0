package dev.berth.bench.suite;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class ProcStatTest {
  // A real line's shape: utime 1234 (field 14) and stime 56 (field 15).
  private static final String LINE =
      "4242 (java) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 30 0 999 1000 200 18446744073709551615";

  @Test
  void cpuTicks_statLine_addsUserAndSystemTicks() {
    assertThat(ProcStat.cpuTicks(LINE)).isEqualTo(1290);
  }

  @Test
  void cpuTicks_commandNameWithSpacesAndParentheses_countsFieldsAfterTheLastOne() {
    String odd = LINE.replace("(java)", "(my (odd) name 7 8)");
    assertThat(ProcStat.cpuTicks(odd)).isEqualTo(1290);
  }

  @Test
  void cpuMicros_thisProcess_readsProc() {
    long pid = ProcessHandle.current().pid();
    assertThat(ProcStat.cpuMicros(pid)).isGreaterThanOrEqualTo(0);
  }

  @Test
  void cpuTicks_notAStatLine_refusedNamingTheProblem() {
    assertThatThrownBy(() -> ProcStat.cpuTicks("no parenthesis here"))
        .hasMessageContaining("no ')'");
    assertThatThrownBy(() -> ProcStat.cpuTicks("1 (x) S 1 2")).hasMessageContaining("need 15");
    assertThatThrownBy(() -> ProcStat.cpuTicks(LINE.replace(" 1234 ", " x ")))
        .hasMessageContaining("not numbers");
  }
}
