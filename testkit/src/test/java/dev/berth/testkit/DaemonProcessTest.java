package dev.berth.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DaemonProcessTest {
  @Test
  void stoppedState_readsTheStateAfterTheCommandName_evenWhenTheNameHoldsParentheses() {
    assertThat(DaemonProcess.stoppedState("4242 (java) T 1 4242 4242 0 -1")).isTrue();
    assertThat(DaemonProcess.stoppedState("4242 (java) S 1 4242 4242 0 -1")).isFalse();
    assertThat(DaemonProcess.stoppedState("4242 (a) T (b) R 1 4242")).isFalse();
    assertThat(DaemonProcess.stoppedState("4242 (a) S (b) T 1 4242")).isTrue();
    assertThat(DaemonProcess.stoppedState("")).isFalse();
  }

  @Test
  void freePort_neverHandsOutTheSamePortTwice() throws Exception {
    java.util.Set<Integer> ports = new java.util.HashSet<>();
    for (int i = 0; i < 300; i++) {
      assertThat(ports.add(DaemonProcess.freePort())).as("port %s handed out again", i).isTrue();
    }
  }
}
