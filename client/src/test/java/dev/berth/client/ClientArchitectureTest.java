package dev.berth.client;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The package rules of the client module: the SDK's public package is a facade that knows nothing
 * of its implementation and shows no gRPC or generated type, the reference worker is written
 * against that facade alone, and no two packages depend on each other.
 *
 * <p>Each rule runs from an {@code @ArchTest} method: Surefire 3.5.3 silently skips {@code
 * ArchTest} fields (SUREFIRE-2298).
 */
@AnalyzeClasses(packages = "dev.berth.client", importOptions = ImportOption.DoNotIncludeTests.class)
class ClientArchitectureTest {
  private static final String PUBLIC_SDK = "dev.berth.client";
  private static final String INTERNAL = "dev.berth.client.internal..";
  private static final String WORKER = "dev.berth.client.worker..";
  private static final String GRPC = "io.grpc..";
  private static final String GENERATED = "dev.berth.proto..";

  /** Types an application of the SDK must never meet: gRPC's, and those generated from protos. */
  private static final List<String> HIDDEN_PREFIXES =
      List.of("io.grpc.", "dev.berth.proto.", "com.google.protobuf.");

  private static final ArchRule PUBLIC_PACKAGE_DOES_NOT_DEPEND_ON_INTERNAL =
      noClasses()
          .that()
          .resideInAPackage(PUBLIC_SDK)
          .should()
          .dependOnClassesThat()
          .resideInAPackage(INTERNAL)
          .because(
              "the implementation depends on the public types, never the reverse; the builder"
                  + " reaches it through BrokerClientProvider");

  private static final ArchRule PUBLIC_SIGNATURES_EXPOSE_NO_GRPC_OR_GENERATED_TYPE =
      classes()
          .that()
          .resideInAPackage(PUBLIC_SDK)
          .and()
          .arePublic()
          .should(exposeOnlyPublicSdkTypes())
          .because("workers must be able to use the SDK without knowing gRPC or the wire format");

  private static final ArchRule WORKER_USES_ONLY_THE_PUBLIC_SDK =
      layeredArchitecture()
          .consideringOnlyDependenciesInLayers()
          .withOptionalLayers(true)
          .layer("Worker")
          .definedBy(WORKER)
          .layer("SDK internals")
          .definedBy(INTERNAL)
          .layer("gRPC")
          .definedBy(GRPC)
          .layer("Generated")
          .definedBy(GENERATED)
          .whereLayer("Worker")
          .mayNotAccessAnyLayer()
          .because("the reference worker shows what a worker can do with the public SDK alone");

  private static final ArchRule NO_PACKAGE_CYCLES =
      slices().matching("dev.berth.(**)").should().beFreeOfCycles();

  @ArchTest
  void publicPackage_anyClass_doesNotDependOnInternal(JavaClasses classes) {
    PUBLIC_PACKAGE_DOES_NOT_DEPEND_ON_INTERNAL.check(classes);
  }

  @ArchTest
  void publicPackage_publicOrProtectedSignatures_exposeNoGrpcOrGeneratedType(JavaClasses classes) {
    PUBLIC_SIGNATURES_EXPOSE_NO_GRPC_OR_GENERATED_TYPE.check(classes);
  }

  @ArchTest
  void worker_dependencies_onlyThePublicSdk(JavaClasses classes) {
    WORKER_USES_ONLY_THE_PUBLIC_SDK.check(classes);
  }

  @ArchTest
  void packages_dependencies_haveNoCycles(JavaClasses classes) {
    NO_PACKAGE_CYCLES.check(classes);
  }

  /** Public and protected members, supertypes and type parameters name no hidden type. */
  private static ArchCondition<JavaClass> exposeOnlyPublicSdkTypes() {
    return new ArchCondition<>(
        "expose no gRPC or generated type in a public or protected signature") {
      @Override
      public void check(JavaClass type, ConditionEvents events) {
        List<JavaType> supertypes = new ArrayList<>(type.getInterfaces());
        type.getSuperclass().ifPresent(supertypes::add);
        report(type.getName() + " extends or implements", supertypes, type, events);
        for (JavaMember member : type.getMembers()) {
          Set<JavaModifier> modifiers = member.getModifiers();
          if (modifiers.contains(JavaModifier.PUBLIC)
              || modifiers.contains(JavaModifier.PROTECTED)) {
            report(member.getFullName(), signature(member), member, events);
          }
        }
      }
    };
  }

  private static List<JavaType> signature(JavaMember member) {
    List<JavaType> types = new ArrayList<>();
    if (member instanceof JavaField field) {
      types.add(field.getType());
    } else if (member instanceof JavaCodeUnit code) {
      types.add(code.getReturnType());
      types.addAll(code.getParameterTypes());
      types.addAll(code.getExceptionTypes());
      types.addAll(code.getTypeParameters());
    }
    return types;
  }

  private static void report(
      String where, List<? extends JavaType> types, Object owner, ConditionEvents events) {
    for (JavaType type : types) {
      for (JavaClass raw : type.getAllInvolvedRawTypes()) {
        if (HIDDEN_PREFIXES.stream().anyMatch(raw.getName()::startsWith)) {
          events.add(SimpleConditionEvent.violated(owner, where + " exposes " + raw.getName()));
        }
      }
    }
  }
}
