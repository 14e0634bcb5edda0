package dev.berth.server.session;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.berth.server.failure.BrokerException;
import dev.berth.server.lease.ResourceKind;
import dev.berth.server.session.HelloSpec.HeldLease;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HelloSpecTest {

  private static void assertInvalid(Runnable call, String field) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            BrokerException.class,
            e -> assertThat(e.code()).isEqualTo(BrokerException.Code.INVALID_ARGUMENT))
        .hasMessageStartingWith(field);
  }

  @Test
  void validate_wellFormedHello_keepsEveryField() {
    HelloSpec hello =
        HelloSpec.validate(
            "worker-1", Map.of("zone", "eu-1"), 4096, "abc", List.of(new HeldLease("lease-1", 17)));

    assertThat(hello.workerId()).isEqualTo("worker-1");
    assertThat(hello.labels()).containsEntry("zone", "eu-1");
    assertThat(hello.memoryLimitMb()).isEqualTo(4096);
    assertThat(hello.resumeSessionId()).isEqualTo("abc");
    assertThat(hello.heldLeases()).containsExactly(new HeldLease("lease-1", 17));
  }

  @Test
  void validate_heldLeaseWithNegativeHeldFor_namesHeldFor() {
    assertInvalid(
        () ->
            HelloSpec.validate(
                "w",
                Map.of(),
                0,
                "abc",
                List.of(new HeldLease("l1", 17, ResourceKind.RENDER, "", "", 0, -1))),
        "hello.held_leases.held_for");
  }

  @Test
  void validate_labelsCopied_laterChangesDoNotLeakIn() {
    Map<String, String> labels = new HashMap<>(Map.of("a", "1"));
    HelloSpec hello = HelloSpec.validate("w", labels, 0, "", List.of());

    labels.put("b", "2");

    assertThat(hello.labels()).containsOnlyKeys("a");
  }

  @Test
  void validate_missingWorkerId_namesWorkerId() {
    assertInvalid(() -> HelloSpec.validate("", Map.of(), 0, "", List.of()), "hello.worker_id");
  }

  @Test
  void validate_workerIdWithControlCharacter_namesWorkerId() {
    assertInvalid(() -> HelloSpec.validate("w\n", Map.of(), 0, "", List.of()), "hello.worker_id");
  }

  @Test
  void validate_tooManyLabels_namesLabels() {
    Map<String, String> labels = new HashMap<>();
    for (int i = 0; i <= HelloSpec.MAX_LABELS; i++) {
      labels.put("k" + i, "v");
    }

    assertInvalid(() -> HelloSpec.validate("w", labels, 0, "", List.of()), "hello.labels");
  }

  @Test
  void validate_emptyOrLongLabelKey_namesLabels() {
    assertInvalid(() -> HelloSpec.validate("w", Map.of("", "v"), 0, "", List.of()), "hello.labels");
    assertInvalid(
        () ->
            HelloSpec.validate(
                "w", Map.of("k".repeat(HelloSpec.MAX_LABEL_KEY + 1), "v"), 0, "", List.of()),
        "hello.labels");
  }

  @Test
  void validate_longLabelValue_namesTheLabel() {
    assertInvalid(
        () ->
            HelloSpec.validate(
                "w", Map.of("zone", "v".repeat(HelloSpec.MAX_LABEL_VALUE + 1)), 0, "", List.of()),
        "hello.labels['zone']");
  }

  @Test
  void validate_memoryLimitOutOfRange_namesMemoryLimit() {
    assertInvalid(
        () -> HelloSpec.validate("w", Map.of(), -1, "", List.of()), "hello.memory_limit_mb");
    assertInvalid(
        () -> HelloSpec.validate("w", Map.of(), (1L << 30) + 1, "", List.of()),
        "hello.memory_limit_mb");
  }

  @Test
  void validate_oversizedResumeSessionId_namesResumeSessionId() {
    assertInvalid(
        () -> HelloSpec.validate("w", Map.of(), 0, "s".repeat(129), List.of()),
        "hello.resume_session_id");
  }

  @Test
  void validate_tooManyHeldLeases_namesHeldLeases() {
    List<HeldLease> held =
        Collections.nCopies(HelloSpec.MAX_HELD_LEASES + 1, new HeldLease("l", 1));

    assertInvalid(() -> HelloSpec.validate("w", Map.of(), 0, "", held), "hello.held_leases");
  }

  @Test
  void validate_heldLeaseWithoutId_namesHeldLeaseId() {
    assertInvalid(
        () -> HelloSpec.validate("w", Map.of(), 0, "", List.of(new HeldLease("", 1))),
        "hello.held_leases.lease_id");
  }

  @Test
  void validate_leaseDeclaredTwice_namesHeldLeaseIdAndTheLease() {
    assertThatThrownBy(
            () ->
                HelloSpec.validate(
                    "w",
                    Map.of(),
                    0,
                    "s-1",
                    List.of(
                        new HeldLease("l-1", 0, ResourceKind.RENDER, "", "", 0),
                        new HeldLease("l-2", 0, ResourceKind.PDF, "", "", 0),
                        new HeldLease("l-1", 0, ResourceKind.RENDER, "", "", 0))))
        .hasMessage(
            "hello.held_leases.lease_id: each lease is declared once, but l-1 is declared twice");
  }

  @Test
  void validate_heldLeaseHost_normalisedAsAnAcquiresHostIs() {
    HelloSpec hello =
        HelloSpec.validate(
            "w",
            Map.of(),
            0,
            "s-1",
            List.of(
                new HeldLease("l-1", 0, ResourceKind.RENDER, "PAUSE-ME.Example.", "", 0),
                new HeldLease("l-2", 0, ResourceKind.WASM, "", "extractor", 0)));

    assertThat(hello.heldLeases())
        .extracting(HeldLease::host)
        .containsExactly("pause-me.example", "");
  }

  @Test
  void validate_heldLeaseHostNotAHost_namesHeldLeaseHost() {
    for (String bad : List.of("NOT A HOST!!", "example.com:443", "a".repeat(254))) {
      assertInvalid(
          () ->
              HelloSpec.validate(
                  "w",
                  Map.of(),
                  0,
                  "s-1",
                  List.of(new HeldLease("l-1", 0, ResourceKind.RENDER, bad, "", 0))),
          "hello.held_leases.host");
    }
  }

  @Test
  void validate_heldLeaseMemoryAboveTwoToThe31_reportedAsSent() {
    // The wire's uint32 4294967295 arrives as the int -1.
    assertThatThrownBy(
            () ->
                HelloSpec.validate(
                    "w",
                    Map.of(),
                    0,
                    "s-1",
                    List.of(new HeldLease("l-1", 0, ResourceKind.PDF, "", "", -1))))
        .hasMessage("hello.held_leases.memory_mb: must be 0..1048576, got 4294967295");
  }

  private static HelloSpec awaiting(boolean complete, List<String> awaited) {
    return HelloSpec.validate("w", Map.of(), 0, "s-1", List.of(), "", complete, awaited);
  }

  @Test
  void validate_completeDeclarationWithAwaitedRequests_keepsThem() {
    HelloSpec hello = awaiting(true, List.of("page-1", "page-2"));

    assertThat(hello.heldLeasesComplete()).isTrue();
    assertThat(hello.awaitedRequestIds()).containsExactly("page-1", "page-2");
  }

  @Test
  void validate_awaitedRequestsWithoutCompleteDeclaration_namesAwaitedRequestIds() {
    assertInvalid(() -> awaiting(false, List.of("page-1")), "hello.awaited_request_ids");
  }

  @Test
  void validate_awaitedRequestIdEmptyOrWithSpace_namesAwaitedRequestIds() {
    assertInvalid(() -> awaiting(true, List.of("")), "hello.awaited_request_ids");
    assertInvalid(() -> awaiting(true, List.of("page 1")), "hello.awaited_request_ids");
  }

  @Test
  void validate_tooManyAwaitedRequests_namesAwaitedRequestIds() {
    List<String> awaited = Collections.nCopies(HelloSpec.MAX_AWAITED_REQUESTS + 1, "r");

    assertInvalid(() -> awaiting(true, awaited), "hello.awaited_request_ids");
  }
}
