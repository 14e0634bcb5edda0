package dev.berth.client.cli.options;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class FailuresTest {
  private static final String TARGET = "127.0.0.1:7433";

  private static Failures.Report report(Status status) {
    return Failures.of(status.asRuntimeException(), TARGET, Duration.ofSeconds(10));
  }

  @Test
  void connectionRefused_exit3NamingTheBrokerAndHowToStartIt() {
    Failures.Report r =
        report(
            Status.UNAVAILABLE
                .withDescription("io exception")
                .withCause(
                    new RuntimeException(new ConnectException("Connection refused: /127.0.0.1"))));

    assertThat(r.exitCode()).isEqualTo(Failures.UNREACHABLE);
    assertThat(r.message())
        .isEqualTo(
            "berth: cannot reach the broker at 127.0.0.1:7433 (connection refused); is it"
                + " running? start it with bin/berth serve");
  }

  @Test
  void unknownHost_exit3() {
    Failures.Report r =
        report(Status.UNAVAILABLE.withCause(new UnknownHostException("nowhere.invalid")));

    assertThat(r.exitCode()).isEqualTo(Failures.UNREACHABLE);
    assertThat(r.message()).contains("unknown host");
  }

  @Test
  void shuttingDown_exit3WithTheBrokersWords() {
    Failures.Report r = report(Status.UNAVAILABLE.withDescription("broker is shutting down"));

    assertThat(r.exitCode()).isEqualTo(Failures.UNREACHABLE);
    assertThat(r.message())
        .isEqualTo("berth: the broker at 127.0.0.1:7433 is unavailable: broker is shutting down");
  }

  @Test
  void deadlineExceeded_exit3NamingTheTimeout() {
    Failures.Report r = report(Status.DEADLINE_EXCEEDED);

    assertThat(r.exitCode()).isEqualTo(Failures.UNREACHABLE);
    assertThat(r.message()).contains("did not answer within 10s").contains("--timeout");
  }

  @Test
  void notFound_exit1NamingTheCondition() {
    Failures.Report r =
        report(Status.NOT_FOUND.withDescription("lease_id: no lease abc (never granted)"));

    assertThat(r.exitCode()).isEqualTo(Failures.BROKER_ERROR);
    assertThat(r.message()).isEqualTo("berth: NOT_FOUND: lease_id: no lease abc (never granted)");
  }

  @Test
  void invalidArgument_exit1() {
    Failures.Report r =
        report(Status.INVALID_ARGUMENT.withDescription("page_size: must be 0..1000"));

    assertThat(r.exitCode()).isEqualTo(Failures.BROKER_ERROR);
    assertThat(r.message()).startsWith("berth: INVALID_ARGUMENT: page_size:");
  }

  @Test
  void unimplemented_exit1SuggestingAnOlderBroker() {
    Failures.Report r = report(Status.UNIMPLEMENTED.withDescription("Method not found"));

    assertThat(r.exitCode()).isEqualTo(Failures.BROKER_ERROR);
    assertThat(r.message()).contains("older broker");
  }
}
