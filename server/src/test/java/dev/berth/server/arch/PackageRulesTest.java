package dev.berth.server.arch;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.EvaluationResult;
import dev.berth.server.arch.fixture.GrpcInADomainPackage;
import dev.berth.server.arch.fixture.LeaseTableOutsideTheBroker;
import dev.berth.server.arch.fixture.NettyInSecurity;
import dev.berth.server.arch.fixture.WorkerMessageInTheLog;
import dev.berth.server.arch.fixture.cycle.a.A;
import dev.berth.server.arch.fixture.cycle.b.B;
import dev.berth.server.lease.LeaseTable;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The server's package rules ({@link PackageRules}) hold on the daemon's own classes, and each rule
 * is shown to fail on a fixture that breaks it, so none of them passes vacuously.
 */
class PackageRulesTest {
  private static final String ROOT = "dev.berth.server";

  /** The packages that read and write the cluster's replicated log. */
  private static final String[] LOG_PACKAGES = {ROOT + ".cluster", ROOT + ".replication"};

  /** The HTTP listener on Netty. */
  private static final String HTTP_PACKAGE = ROOT + ".http";

  private static JavaClasses server;

  @BeforeAll
  static void importServer() {
    server =
        new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackages(ROOT);
  }

  @Test
  void server_hasClassesInEveryPackage() {
    // Guards the rules below against an import that found nothing.
    assertThat(server.stream().map(c -> c.getPackageName()).distinct())
        .contains(
            ROOT + ".broker", ROOT + ".grpc", ROOT + ".config", ROOT + ".security", HTTP_PACKAGE);
  }

  @Test
  void server_hasNoPackageCycles() {
    PackageRules.noCycles(ROOT).check(server);
  }

  @Test
  void server_onlyGrpcKnowsTheWire() {
    PackageRules.onlyGrpcKnowsTheWire(
            ROOT, ROOT + ".grpc", LOG_PACKAGES[0], LOG_PACKAGES[1], HTTP_PACKAGE)
        .check(server);
  }

  @Test
  void server_theHttpListenerKnowsOnlyNetty() {
    PackageRules.theHttpListenerKnowsOnlyNetty(HTTP_PACKAGE).check(server);
  }

  @Test
  void server_theLogKnowsOnlyItsOwn() {
    PackageRules.theLogKnowsOnlyItsOwn(LOG_PACKAGES).check(server);
  }

  @Test
  void server_securityIsPlainJava() {
    PackageRules.securityIsPlainJava(ROOT + ".security").check(server);
  }

  @Test
  void server_onlyTheBrokerMutatesLeases() {
    PackageRules.onlyTheBrokerMutatesLeases(ROOT + ".broker").check(server);
  }

  @Test
  void noCycles_twoPackagesUsingEachOther_fails() {
    EvaluationResult result =
        PackageRules.noCycles(ROOT + ".arch.fixture.cycle")
            .evaluate(new ClassFileImporter().importClasses(A.class, B.class));

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString()).contains("Cycle detected: a ->");
  }

  @Test
  void onlyGrpcKnowsTheWire_grpcInAnotherPackage_fails() {
    EvaluationResult result =
        PackageRules.onlyGrpcKnowsTheWire(ROOT + ".arch", ROOT + ".grpc")
            .evaluate(new ClassFileImporter().importClasses(GrpcInADomainPackage.class));

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString())
        .contains(GrpcInADomainPackage.class.getName())
        .contains("io.grpc.Status");
  }

  @Test
  void theLogKnowsOnlyItsOwn_aWorkerMessageInTheLog_fails() {
    EvaluationResult result =
        PackageRules.theLogKnowsOnlyItsOwn(ROOT + ".arch.fixture")
            .evaluate(new ClassFileImporter().importClasses(WorkerMessageInTheLog.class));

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString()).contains("dev.berth.proto.v1.Lease");
  }

  @Test
  void theHttpListenerKnowsOnlyNetty_grpcInTheListener_fails() {
    EvaluationResult result =
        PackageRules.theHttpListenerKnowsOnlyNetty(ROOT + ".arch.fixture")
            .evaluate(new ClassFileImporter().importClasses(GrpcInADomainPackage.class));

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString()).contains("io.grpc.Status");
  }

  @Test
  void securityIsPlainJava_nettyInSecurity_fails() {
    EvaluationResult result =
        PackageRules.securityIsPlainJava(ROOT + ".arch.fixture")
            .evaluate(new ClassFileImporter().importClasses(NettyInSecurity.class));

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString()).contains("io.netty");
  }

  @Test
  void onlyTheBrokerMutatesLeases_aCallFromElsewhere_fails() {
    EvaluationResult result =
        PackageRules.onlyTheBrokerMutatesLeases(ROOT + ".broker")
            .evaluate(
                new ClassFileImporter()
                    .importClasses(LeaseTableOutsideTheBroker.class, LeaseTable.class));

    assertThat(result.hasViolation()).isTrue();
    assertThat(result.getFailureReport().toString())
        .contains(LeaseTableOutsideTheBroker.class.getName())
        .contains("LeaseTable.end");
  }
}
