package dev.berth.server.arch;

import static com.tngtech.archunit.core.domain.JavaCall.Predicates.target;
import static com.tngtech.archunit.core.domain.properties.HasName.Predicates.nameMatching;
import static com.tngtech.archunit.core.domain.properties.HasOwner.Predicates.With.owner;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.lang.ArchRule;
import dev.berth.server.lease.LeaseTable;

/**
 * The package rules of the server, each a function of the packages it is about, so that {@link
 * PackageRulesTest} checks them on the daemon's classes and shows each one failing on a small
 * fixture that breaks it.
 */
final class PackageRules {
  /** What knowing the wire means: gRPC, Netty, and the generated protobuf messages. */
  static final String[] WIRE = {
    "io.grpc..", "io.netty..", "dev.berth.proto..", "com.google.protobuf.."
  };

  /** The mutators of {@link LeaseTable}: every change to lease state. */
  static final String LEASE_TABLE_MUTATORS = "add|end|forgetEndedBefore";

  private PackageRules() {}

  /** No two packages below {@code root} depend on each other, directly or around a cycle. */
  static ArchRule noCycles(String root) {
    return slices()
        .matching(root + ".(*)..")
        .namingSlices("$1")
        .should()
        .beFreeOfCycles()
        .because("a package that depends on another must not be needed by it");
  }

  /**
   * Only {@code grpcPackage} knows the wire; every domain package and the wiring stay plain. The
   * packages of the replicated log and the HTTP listener ({@code ownRulePackages}) are held to
   * rules of their own instead ({@link #theLogKnowsOnlyItsOwn}, {@link
   * #theHttpListenerKnowsOnlyNetty}).
   */
  static ArchRule onlyGrpcKnowsTheWire(String root, String grpcPackage, String... ownRulePackages) {
    String[] outside = new String[ownRulePackages.length + 1];
    outside[0] = grpcPackage + "..";
    for (int i = 0; i < ownRulePackages.length; i++) {
      outside[i + 1] = ownRulePackages[i] + "..";
    }
    return noClasses()
        .that()
        .resideInAPackage(root + "..")
        .and()
        .resideOutsideOfPackages(outside)
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage(WIRE)
        .because("the gRPC adapters are the one place that translates the wire");
  }

  /**
   * {@code httpPackage}, the HTTP listener, speaks HTTP on Netty but knows neither gRPC nor the
   * workers' protobuf messages: what it serves comes from the handlers it is given.
   */
  static ArchRule theHttpListenerKnowsOnlyNetty(String httpPackage) {
    return noClasses()
        .that()
        .resideInAPackage(httpPackage + "..")
        .should()
        .dependOnClassesThat()
        .resideInAnyPackage("io.grpc..", "dev.berth.proto..", "com.google.protobuf..")
        .because("the HTTP listener carries the dashboard and the scrape, not the worker API");
  }

  /**
   * The packages of the cluster's replicated log read and write its own records ({@code
   * berth.cluster.v1}, which carry the pool kind of {@code berth.v1}) with protobuf, but know
   * neither gRPC nor Netty (Ratis brings its own, shaded) nor the worker-facing messages.
   */
  static ArchRule theLogKnowsOnlyItsOwn(String... logPackages) {
    String[] packages = new String[logPackages.length];
    for (int i = 0; i < logPackages.length; i++) {
      packages[i] = logPackages[i] + "..";
    }
    DescribedPredicate<JavaClass> foreignWire =
        DescribedPredicate.describe(
            "gRPC, Netty or a berth.v1 message other than ResourceKind",
            c ->
                c.getPackageName().startsWith("io.grpc")
                    || c.getPackageName().startsWith("io.netty")
                    || (c.getPackageName().equals("dev.berth.proto.v1")
                        && !c.getName().equals("dev.berth.proto.v1.ResourceKind")));
    return noClasses()
        .that()
        .resideInAnyPackage(packages)
        .should()
        .dependOnClassesThat(foreignWire)
        .because("the replicated log is the cluster's own wire, not the workers'");
  }

  /**
   * {@code securityPackage} holds TLS material and tokens as plain Java (the JDK, Guava, SLF4J),
   * behind its own types; turning them into gRPC or Netty credentials is the gRPC adapters' job.
   */
  static ArchRule securityIsPlainJava(String securityPackage) {
    return classes()
        .that()
        .resideInAPackage(securityPackage + "..")
        .should()
        .onlyDependOnClassesThat()
        .resideInAnyPackage(
            securityPackage + "..", "java..", "javax..", "org.slf4j..", "com.google.common..")
        .because("TLS material stays behind an interface the gRPC adapters implement");
  }

  /** Nothing outside {@code brokerPackage} (and the lease package itself) changes lease state. */
  static ArchRule onlyTheBrokerMutatesLeases(String brokerPackage) {
    DescribedPredicate<JavaClass> leaseTable =
        DescribedPredicate.describe("LeaseTable", c -> c.isAssignableTo(LeaseTable.class));
    return noClasses()
        .that()
        .resideOutsideOfPackages(brokerPackage + "..", LeaseTable.class.getPackageName() + "..")
        .should()
        .callMethodWhere(target(owner(leaseTable)).and(target(nameMatching(LEASE_TABLE_MUTATORS))))
        .because("every change to lease state is a broker command, under the broker's lock");
  }
}
