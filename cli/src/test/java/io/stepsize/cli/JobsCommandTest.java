package io.stepsize.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Revision;
import io.stepsize.service.StepsizeNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code stepsize jobs list|show} against a real embedded node over gRPC on loopback: the jobs
 * listed are those created, the curvature shown is the estimator's from a real probe, and the rates
 * are the service's own answers for the same steps.
 */
class JobsCommandTest {
  @TempDir static Path dir;
  static StepsizeNode node;
  static StepsizeClient client;

  @BeforeAll
  static void start() throws Exception {
    node = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("node")));
    assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
    client = StepsizeClient.connect(node.target(), Duration.ofSeconds(20));
    client.createJob(fixed("jobs-b"));
    client.createJob(fixed("jobs-a").toBuilder().setTotalSteps(50).setWarmupSteps(5).build());
    client.createJob(kappa("jobs-c"));
    client.createJob(fixed("jobs-r"));
    // one probe at step 20: the tridiagonal [[2, 0.5], [0.5, 8]] (beta_2 = 0 ends the Krylov space)
    client.reportProbes(List.of(ProbeReport.newBuilder().setJobId("jobs-c").setStep(20).setWorkerId("w0")
        .setLanczos(LanczosProbe.newBuilder().addAlpha(2).addAlpha(8).addBeta(0.5).addBeta(0)).build()));
    await().atMost(Duration.ofSeconds(60)).until(() -> client.curvature("jobs-c").getProbes() == 1);
  }

  @AfterAll
  static void stop() {
    client.close();
    node.close();
  }

  private static JobSpec fixed(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
  }

  private static JobSpec kappa(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(
            PhiPolicy.ConditionNumber.newBuilder().setScale(0.5).setExponent(1))).build();
  }

  @Test
  void listPrintsEveryJobSortedByIdAcrossPages() {
    CliHarness cli = new CliHarness("jobs");
    assertThat(cli.run("list", "--target", node.target(), "--page-size", "2")).as(cli.err.toString()).isZero();
    assertThat(cli.out.toString()).isEqualTo("""
        job_id,total_steps,warmup_steps,phases,lr_max,lr_min,policy
        jobs-a,50,5,1,0.1,0.001,fixed:5.0
        jobs-b,100,0,1,0.1,0.001,fixed:5.0
        jobs-c,100,0,1,0.1,0.001,condition_number
        jobs-r,100,0,1,0.1,0.001,fixed:5.0
        """);
    assertThat(cli.err.toString()).isEmpty();
  }

  @Test
  void showPrintsTheSpecTheLatestCurvatureAndTheServicesRatesFromItsStep() {
    CliHarness cli = new CliHarness("jobs");
    assertThat(cli.run("show", "jobs-c", "--target", node.target(), "--count", "3")).as(cli.err.toString()).isZero();
    Curvature c = client.curvature("jobs-c");
    assertThat(c.getStep()).isEqualTo(20);
    List<String> expected = new ArrayList<>(List.of(
        "job jobs-c: 1 phase(s), policy condition_number",
        "spec:",
        "  job_id: \"jobs-c\"",
        "  total_steps: 100",
        "  lr_max: 0.1",
        "  lr_min: 0.001",
        "  phi_policy {",
        "    condition_number {",
        "      scale: 0.5",
        "      exponent: 1.0",
        "    }",
        "  }",
        "revisions: none",
        "curvature: step 20, phase 1, kappa " + c.getKappa() + ", lambda_low " + c.getLambdaLow() + ", lambda_max "
            + c.getLambdaMax() + ", lambda_max_bound " + c.getLambdaMaxBound() + ", probes 1, applies from step "
            + c.getAppliesFromStep() + ", 1 estimate(s) in the timeline",
        "rates from step 20:",
        "step,lr,factor,phi,phase,kappa,source"));
    // the window starts at the estimate's step: its rate is still the fallback's, the next follow kappa
    for (LearningRate r : client.learningRates("jobs-c", 20, 3).getRatesList()) {
      expected.add(r.getStep() + "," + r.getLr() + "," + r.getFactor() + "," + r.getPhi() + "," + r.getPhase() + ","
          + r.getKappa() + "," + r.getSource().name().substring("SOURCE_".length()).toLowerCase());
    }
    assertThat(cli.out.toString().lines().toList()).containsExactlyElementsOf(expected);
    assertThat(expected.get(expected.size() - 1)).startsWith("22,").endsWith(",curvature");
  }

  @Test
  void showOfAJobWithoutEstimateStartsAtStepZeroOrAtFromStepAndStopsAtTheEnd() {
    CliHarness cli = new CliHarness("jobs");
    assertThat(cli.run("show", "jobs-a", "--target", node.target(), "--from-step", "48")).as(cli.err.toString())
        .isZero();
    List<String> lines = cli.out.toString().lines().toList();
    assertThat(lines).contains("curvature: none yet (probes = 0)", "rates from step 48:");
    // 10 asked, 2 left before total_steps = 50
    assertThat(lines.subList(lines.size() - 3, lines.size()).get(0)).isEqualTo("step,lr,factor,phi,phase,kappa,source");
    LearningRate last = client.learningRate("jobs-a", 49);
    assertThat(lines.get(lines.size() - 1)).isEqualTo("49," + last.getLr() + "," + last.getFactor() + ",5.0,1,0.0,fixed");

    CliHarness fromZero = new CliHarness("jobs");
    assertThat(fromZero.run("show", "jobs-b", "--target", node.target(), "--count", "1")).isZero();
    LearningRate first = client.learningRate("jobs-b", 0);
    assertThat(fromZero.out.toString()).endsWith("rates from step 0:\nstep,lr,factor,phi,phase,kappa,source\n0,"
        + first.getLr() + "," + first.getFactor() + ",5.0,1,0.0,fixed\n");
  }

  @Test
  void refusalsOfTheServiceExitOneAndBadFlagsExitTwoNamingTheFlag() throws Exception {
    CliHarness unknown = new CliHarness("jobs");
    assertThat(unknown.run("show", "nope", "--target", node.target())).isEqualTo(1);
    assertThat(unknown.err.toString()).isEqualTo(
        "stepsize jobs show: NOT_FOUND: job_id: no job 'nope' (target " + node.target() + ")\n");
    assertThat(unknown.out.toString()).isEmpty();

    CliHarness pageSize = new CliHarness("jobs");
    assertThat(pageSize.run("list", "--target", node.target(), "--page-size", "1001")).isEqualTo(2);
    assertThat(pageSize.err.toString()).startsWith("--page-size: must be in [1, 1000] (got 1001)");

    Path token = Files.writeString(dir.resolve("token"), "secret\n");
    CliHarness plaintextToken = new CliHarness("jobs");
    assertThat(plaintextToken.run("list", "--target", node.target(), "--token-file", token.toString())).isEqualTo(2);
    assertThat(plaintextToken.err.toString()).startsWith(
        "--token-file: needs TLS (--tls or --tls-ca): a token in plaintext is a token given away");

    CliHarness noSubVerb = new CliHarness("jobs");
    assertThat(noSubVerb.run()).isEqualTo(2);
    assertThat(noSubVerb.err.toString()).startsWith("a sub-verb is required: list, show or revise (see --help)");

    CliHarness noReason = new CliHarness("jobs");
    assertThat(noReason.run("revise", "jobs-b", "--target", node.target(), "--from-step", "10")).isEqualTo(2);
    assertThat(noReason.err.toString()).startsWith("Missing required option: '--reason=TEXT'");
    assertThat(client.getJob("jobs-b").getRevisionsCount()).isZero();

    // --boundaries reaches the service, whose rule (they end at the new total_steps) refuses these
    CliHarness boundaries = new CliHarness("jobs");
    assertThat(boundaries.run("revise", "jobs-b", "--target", node.target(), "--from-step", "10", "--total-steps", "200",
        "--boundaries", "120,150", "--reason", "two phases")).isEqualTo(1);
    assertThat(boundaries.err.toString()).startsWith("stepsize jobs revise: INVALID_ARGUMENT: revision.")
        .contains("phase_boundaries").endsWith(" (target " + node.target() + ")\n");
    assertThat(boundaries.out.toString()).isEmpty();
    assertThat(client.getJob("jobs-b").getRevisionsCount()).isZero();
  }

  private static String created(Revision r) {
    return Instant.ofEpochSecond(r.getCreated().getSeconds(), r.getCreated().getNanos()).toString();
  }

  @Test
  void reviseChangesTheRunningJobContinuouslyRefusesAStaleExpectationAndShowListsTheRevisions() {
    double lr39 = client.learningRate("jobs-r", 39).getLr();
    double lr40 = client.learningRate("jobs-r", 40).getLr();

    CliHarness extend = new CliHarness("jobs");
    assertThat(extend.run("revise", "jobs-r", "--target", node.target(), "--from-step", "40", "--total-steps", "150",
        "--reason", "loss still falling: extend the budget", "--expected-revision", "0")).as(extend.err.toString()).isZero();
    Job job = client.getJob("jobs-r"); // over gRPC, as any replica would answer it
    assertThat(job.getTotalSteps()).isEqualTo(150);
    assertThat(job.getRevisionsCount()).isEqualTo(1);
    Revision first = job.getRevisions(0);
    assertThat(first.getNumber()).isEqualTo(1);
    assertThat(first.getFromStep()).isEqualTo(40);
    assertThat(first.getTotalSteps()).isEqualTo(150);
    assertThat(first.getReason()).isEqualTo("loss still falling: extend the budget");
    assertThat(first.getAuthor()).isEmpty(); // no tokens on this node
    assertThat(extend.out.toString()).isEqualTo("job jobs-r: total_steps 150, 1 phase(s) in force\n"
        + "revisions:\n"
        + "  1: from step 40 by (no tenant) at " + created(first)
        + ": total_steps 150; reason: loss still falling: extend the budget\n");
    assertThat(extend.err.toString()).isEmpty();
    // steps before 40 keep their answers; at 40 the value is the one answered there before (§1.5)
    assertThat(client.learningRate("jobs-r", 39).getLr()).isEqualTo(lr39);
    LearningRate at40 = client.learningRate("jobs-r", 40);
    assertThat(at40.getLr()).isEqualTo(lr40);
    assertThat(at40.getRevision()).isEqualTo(1);
    assertThat(client.learningRate("jobs-r", 149).getStep()).isEqualTo(149);

    // someone else's view, from before revision 1: refused with the service's status and message
    CliHarness stale = new CliHarness("jobs");
    assertThat(stale.run("revise", "jobs-r", "--target", node.target(), "--from-step", "50", "--hold",
        "--reason", "hold", "--expected-revision", "0")).isEqualTo(1);
    assertThat(stale.err.toString()).isEqualTo("stepsize jobs revise: FAILED_PRECONDITION: expected_revision: the job"
        + " has revision 1, later than 0; read it with GetJob and revise again if still wanted (target "
        + node.target() + ")\n");
    assertThat(stale.out.toString()).isEmpty();
    assertThat(client.getJob("jobs-r").getRevisionsCount()).isEqualTo(1);

    CliHarness hold = new CliHarness("jobs");
    assertThat(hold.run("revise", "jobs-r", "--target", node.target(), "--from-step", "60", "--hold", "--set-lr", "0.05",
        "--lr-min", "0.0005", "--phi", "3", "--reason", "plateau: hold", "--expected-revision", "1"))
        .as(hold.err.toString()).isZero();
    job = client.getJob("jobs-r");
    Revision second = job.getRevisions(1);
    String lines = "revisions:\n"
        + "  1: from step 40 by (no tenant) at " + created(first)
        + ": total_steps 150; reason: loss still falling: extend the budget\n"
        + "  2: from step 60 by (no tenant) at " + created(second)
        + ": lr_min 5.0E-4, policy fixed:3.0, set_lr 0.05, hold; reason: plateau: hold\n";
    assertThat(hold.out.toString()).isEqualTo("job jobs-r: total_steps 150, 1 phase(s) in force\n" + lines);
    assertThat(client.learningRate("jobs-r", 60).getLr()).isEqualTo(0.05);
    assertThat(client.learningRate("jobs-r", 149).getLr()).isEqualTo(0.05);
    assertThat(client.learningRate("jobs-r", 149).getRevision()).isEqualTo(2);

    CliHarness show = new CliHarness("jobs");
    assertThat(show.run("show", "jobs-r", "--target", node.target(), "--from-step", "148")).as(show.err.toString())
        .isZero();
    // the spec as created, then the revisions, then rates from the hold (2 left of the revised 150)
    StringBuilder rates = new StringBuilder("rates from step 148:\nstep,lr,factor,phi,phase,kappa,source\n");
    for (LearningRate r : client.learningRates("jobs-r", 148, 10).getRatesList()) {
      rates.append(r.getStep() + "," + r.getLr() + "," + r.getFactor() + "," + r.getPhi() + "," + r.getPhase() + ","
          + r.getKappa() + "," + r.getSource().name().substring("SOURCE_".length()).toLowerCase() + "\n");
    }
    assertThat(show.out.toString()).startsWith("job jobs-r: 1 phase(s), policy fixed:5.0\nspec:\n")
        .endsWith("  }\n" + lines + "curvature: none yet (probes = 0)\n" + rates);
    assertThat(rates.toString()).contains("\n148,0.05,").contains("\n149,0.05,");
  }
}
