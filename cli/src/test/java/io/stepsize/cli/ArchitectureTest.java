package io.stepsize.cli;

import static com.tngtech.archunit.base.DescribedPredicate.not;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.belongToAnyOf;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;
import io.stepsize.service.StepsizeNode;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * The module layout of DESIGN.md §2 as rules on the main classes: a package that reaches for
 * another the table does not allow fails the build here, not in review. The cli module runs it
 * because its test classpath holds every module but bench, so bench's own classes go unchecked
 * (DESIGN lets bench depend on everything; the picocli rule names it only to allow it).
 */
@AnalyzeClasses(
    packages = "io.stepsize",
    importOptions = {ImportOption.DoNotIncludeTests.class, ArchitectureTest.DoNotIncludeTestJars.class})
class ArchitectureTest {

  /**
   * The service's test-jar (cli tests use its harness) is a jar, which DoNotIncludeTests does not
   * recognise; its classes are tests all the same.
   */
  public static final class DoNotIncludeTestJars implements ImportOption {
    @Override
    public boolean includes(Location location) {
      return !location.matches(TEST_JAR);
    }

    private static final Pattern TEST_JAR = Pattern.compile(".*-tests\\.jar.*");
  }

  // initialised before the rules below, which read them
  private static final String[] JDK = {"java.."};
  private static final String[] MODULES =
      {"proto", "schedule", "wire", "broker", "estimator", "service", "client", "lab", "cli", "bench"};

  @ArchTest
  static final ArchRule scheduleIsPureMath =
      classes().that().resideInAPackage("io.stepsize.schedule..")
          .should().onlyDependOnClassesThat().resideInAnyPackage(concat(JDK, "io.stepsize.schedule.."))
          .because("schedule/ is pure math with no I/O and depends on nothing (DESIGN §2)");

  @ArchTest
  static final ArchRule wireSpeaksProtoScheduleAndKafkaClients =
      classes().that().resideInAPackage("io.stepsize.wire..")
          .should().onlyDependOnClassesThat().resideInAnyPackage(concat(JDK,
              "io.stepsize.wire..", "io.stepsize.proto..", "io.stepsize.schedule..",
              // the generated messages' own runtime: part of depending on proto
              "com.google.protobuf..",
              // kafka-clients (serdes, partitioner, headers, admin), not Kafka Streams
              "org.apache.kafka.clients..", "org.apache.kafka.common.."))
          .because("wire/ depends on proto, schedule and kafka-clients only (DESIGN §2)");

  @ArchTest
  static final ArchRule brokerKnowsNothingOfStepsize =
      noClasses().that().resideInAPackage("io.stepsize.broker..")
          .should().dependOnClassesThat().resideInAnyPackage(projectPackagesBut("broker"))
          .because("broker/ is plain in-JVM Kafka (DESIGN §2)");

  @ArchTest
  static final ArchRule estimatorStaysBelowTheServer =
      noClasses().that().resideInAPackage("io.stepsize.estimator..")
          .should().dependOnClassesThat().resideInAnyPackage(
              "io.stepsize.service..", "io.stepsize.client..", "io.stepsize.lab..",
              "io.stepsize.cli..", "io.stepsize.broker..")
          .because("estimator/ depends on wire, EJML and kafka-streams (DESIGN §2)");

  @ArchTest
  static final ArchRule serviceDoesNotReachUp =
      noClasses().that().resideInAPackage("io.stepsize.service..")
          .should().dependOnClassesThat().resideInAnyPackage(
              "io.stepsize.client..", "io.stepsize.lab..", "io.stepsize.cli..",
              "org.jfree..", "picocli..")
          .because("service/ is the server; demos, plots and the command line sit above it (DESIGN §2)");

  @ArchTest
  static final ArchRule onlyTheNodeRunsEstimatorAndBroker =
      noClasses().that().resideInAPackage("io.stepsize.service..")
          .and(not(belongToAnyOf(StepsizeNode.class)))
          .should().dependOnClassesThat().resideInAnyPackage("io.stepsize.estimator..", "io.stepsize.broker..")
          .because("the service uses estimator and broker only to run them in-process, "
              + "and StepsizeNode is that one process's wiring (DESIGN §2)");

  @ArchTest
  static final ArchRule clientNeedsOnlyTheContract =
      noClasses().that().resideInAPackage("io.stepsize.client..")
          .should().dependOnClassesThat().resideInAnyPackage(
              "io.stepsize.service..", "io.stepsize.estimator..", "io.stepsize.broker..",
              "io.stepsize.lab..", "io.stepsize.cli..")
          .because("a trainer's client depends on proto and wire only (DESIGN §2)");

  @ArchTest
  static final ArchRule labIsBelowTheCommandLine =
      noClasses().that().resideInAPackage("io.stepsize.lab..")
          .should().dependOnClassesThat().resideInAPackage("io.stepsize.cli..")
          .because("cli/ wires lab's demo and experiments into verbs, not the other way (DESIGN §2)");

  @ArchTest
  static final ArchRule picocliOnlyInCommandLines =
      noClasses().that().resideOutsideOfPackages("io.stepsize.cli..", "io.stepsize.bench..")
          .should().dependOnClassesThat().resideInAPackage("picocli..")
          .because("only the stepsize command and the benchmark jar parse command lines (DESIGN §2)");

  @ArchTest
  static final ArchRule modulesFormNoCycle =
      slices().matching("io.stepsize.(*)..").should().beFreeOfCycles();

  private static String[] projectPackagesBut(String module) {
    return Arrays.stream(MODULES).filter(m -> !m.equals(module))
        .map(m -> "io.stepsize." + m + "..").toArray(String[]::new);
  }

  private static String[] concat(String[] head, String... tail) {
    String[] all = Arrays.copyOf(head, head.length + tail.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
  }
}
