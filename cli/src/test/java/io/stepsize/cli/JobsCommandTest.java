package io.stepsize.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.service.StepsizeNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
    assertThat(noSubVerb.err.toString()).startsWith("a sub-verb is required: list or show (see --help)");
  }
}
