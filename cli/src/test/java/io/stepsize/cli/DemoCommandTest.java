package io.stepsize.cli;

import io.stepsize.lab.demo.Dataset;
import io.stepsize.lab.demo.DemoReport;
import io.stepsize.lab.demo.DemoRun;
import io.stepsize.lab.demo.DemoSettings;
import io.stepsize.lab.demo.Digits;
import io.stepsize.lab.demo.Progress;
import io.stepsize.lab.demo.RunResult;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.stepsize.schedule.Budget;
import io.stepsize.schedule.Uba;
import io.stepsize.cli.CliHarness;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code stepsize demo} in-process against a real embedded node (KRaft broker, estimator, gRPC on
 * loopback) with a tiny budget; every number checked is recomputed here from the outputs, not
 * taken from the demo's own code paths.
 */
class DemoCommandTest {
  private static final int T = 120;
  /** The live run revises its job at half the budget (A) to a 50% longer one (T2); the baselines train T2. */
  private static final int A = T / 2;
  private static final int T2 = T + T / 2;
  private static final int PROBE_EVERY = 30;
  private static final double LR_MAX = 0.8;
  private static final double LR_MIN = 0.02;
  // not the defaults, so that phi = scale·(2κ)^exponent is not simply 2κ
  private static final double SCALE = 0.5;
  private static final double EXPONENT = 0.8;
  private static final long SEED = 3;

  private final CliHarness cli = new CliHarness("demo");
  private final StringWriter out = cli.out;
  private final StringWriter err = cli.err;

  private int run(String... args) {
    return cli.run(args);
  }

  @Test
  void badFlagsExitTwoWithAMessageNamingTheFlag() {
    String[][] cases = {
        {"--steps", "0"}, {"--model", "resnet"}, {"--probe-every", "0"}, {"--lr-max", "0.1", "--lr-min", "0.5"},
        {"--momentum", "1"}, {"--lanczos-steps", "1"}, {"--fixed-phi", "-2"}};
    String[] flags = {"--steps", "--model", "--probe-every", "--lr-min", "--momentum", "--lanczos-steps", "--fixed-phi"};
    for (int i = 0; i < cases.length; i++) {
      err.getBuffer().setLength(0);
      assertThat(run(cases[i])).as(Arrays.toString(cases[i])).isEqualTo(2);
      assertThat(err.toString()).as(Arrays.toString(cases[i])).contains("invalid " + flags[i] + ":");
    }
    err.getBuffer().setLength(0);
    assertThat(run("--steps", "many")).isEqualTo(2);
    assertThat(err.toString()).contains("--steps");
  }

  @Test
  void liveRunTakesItsRatesFromTheServiceAndTheOutputsAgree(@TempDir Path dir) throws IOException {
    Path outDir = dir.resolve("out");
    int code = run("--out", outDir.toString(), "--data-dir", dir.resolve("data").toString(), "--steps", "" + T,
        "--probe-every", "" + PROBE_EVERY, "--probe-batch", "64", "--lr-max", "" + LR_MAX, "--lr-min", "" + LR_MIN,
        "--phi-scale", "" + SCALE, "--phi-exponent", "" + EXPONENT, "--seed", "" + SEED, "--no-progress", "--verbose");
    assertThat(code).as(err.toString()).isZero();

    // live.csv: one row per step, full-precision doubles
    List<String[]> rows = csv(outDir.resolve("live.csv"), "step,lr,phi,factor,phase,kappa,lambda_low,lambda_max,"
        + "curvature_step,source,batch_loss,probed,revision");
    assertThat(rows).hasSize(T2);
    double[] lr = new double[T2];
    double[] phi = new double[T2];
    for (int s = 0; s < T2; s++) {
      String[] r = rows.get(s);
      assertThat(Long.parseLong(r[0])).isEqualTo(s);
      lr[s] = Double.parseDouble(r[1]);
      phi[s] = Double.parseDouble(r[2]);
      double kappa = Double.parseDouble(r[5]);
      double lambdaLow = Double.parseDouble(r[6]);
      double lambdaMax = Double.parseDouble(r[7]);
      long curvatureStep = Long.parseLong(r[8]);
      assertThat(r[11]).as("probed at %d", s).isEqualTo(s % PROBE_EVERY == 0 ? "1" : "0");
      assertThat(r[12]).as("revision at %d", s).isEqualTo(s < A ? "0" : "1");
      assertThat(r[4]).isEqualTo("1");
      // one falling phase: re-planned at every estimate (continuous mode) and at the revision, never rising
      assertThat(lr[s]).as("lr at %d", s).isBetween(LR_MIN, LR_MAX);
      if (s > 0) {
        assertThat(lr[s]).as("lr at %d", s).isLessThanOrEqualTo(lr[s - 1]);
      }
      if (s == 0) {
        // before any estimate or revision: the UBA value of eq. 5 for the fallback phi on the created budget
        double f = Uba.factor(5, Budget.of(T), 0);
        assertThat(Double.parseDouble(r[3])).isCloseTo(f, within(1e-15));
        assertThat(lr[0]).isCloseTo(LR_MIN + (LR_MAX - LR_MIN) * f, within(1e-15));
        // the first probe (step 0) applies from step 1: step 0 has SGD's fallback phi 5
        assertThat(r[9]).isEqualTo("fallback");
        assertThat(phi[s]).isEqualTo(5.0);
        assertThat(curvatureStep).isEqualTo(-1);
        continue;
      }
      assertThat(r[9]).as("source at %d", s).isEqualTo("curvature");
      // the newest probe before this step is the estimate in use: the trainer waited for it
      assertThat(curvatureStep).as("curvature step at %d", s).isEqualTo((s - 1) / PROBE_EVERY * PROBE_EVERY);
      assertThat(lambdaLow).isPositive();
      assertThat(kappa).isCloseTo(lambdaMax / lambdaLow, within(1e-12 * kappa));
      double expectedPhi = Math.min(1000, Math.max(0.1, SCALE * Math.pow(2 * kappa, EXPONENT)));
      assertThat(phi[s]).as("phi at %d", s).isCloseTo(expectedPhi, within(1e-12 * expectedPhi));
    }
    // phi changes only on the step after a probe, and it does change as the probes arrive
    int changes = 0;
    for (int s = 1; s < T; s++) {
      if (phi[s] != phi[s - 1]) {
        changes++;
        assertThat((s - 1) % PROBE_EVERY).as("phi changed at %d", s).isZero();
      }
    }
    assertThat(changes).isGreaterThanOrEqualTo(3);
    // the revision re-plans from the value at A (DESIGN.md §1.5): no jump there, the step into A moves no
    // more than its neighbours do (a re-start of eq. 5 on the longer budget would lift lr by about a tenth
    // of the range)
    double intoA = Math.abs(lr[A] - lr[A - 1]);
    assertThat(intoA).isLessThanOrEqualTo(Math.max(Math.abs(lr[A - 1] - lr[A - 2]), Math.abs(lr[A + 1] - lr[A])));
    assertThat(lr[A - 1] - lr[A + 1]).isPositive();

    // probes.csv: one row per probe, m = 20 Lanczos steps, a positive lower edge below lambda_max
    List<String[]> probes = csv(outDir.resolve("probes.csv"), "step,lanczos_steps,ritz_max,ritz_min,ritz_low,visible_after_ms");
    assertThat(probes).hasSize(T2 / PROBE_EVERY);
    for (int i = 0; i < probes.size(); i++) {
      String[] p = probes.get(i);
      assertThat(Long.parseLong(p[0])).isEqualTo((long) i * PROBE_EVERY);
      assertThat(Integer.parseInt(p[1])).isBetween(2, 20);
      double max = Double.parseDouble(p[2]);
      double low = Double.parseDouble(p[4]);
      assertThat(low).isPositive().isLessThanOrEqualTo(max);
      assertThat(Double.parseDouble(p[3])).isLessThanOrEqualTo(low);
    }

    // the table: one row per schedule, live run first
    List<String> table = tableRows(out.toString());
    assertThat(table).hasSize(5);
    String[] names = {"UBA, phi from kappa (Stepsize)", "cosine", "step", "linear", "UBA, fixed phi=5"};
    for (int i = 0; i < names.length; i++) {
      assertThat(table.get(i)).startsWith(names[i] + " ");
      // the live row says it was revised; the baselines trained the revised budget from the start
      assertThat(table.get(i)).contains(i == 0 ? "  120 -> 180 at 60  " : "  180  ");
    }
    assertThat(out.toString()).contains("revision 1 at step 60 (ReviseJob): total_steps 120 -> 180, reason \""
        + "halfway and the loss still falls: extend the budget by 50%\"; the baselines below train 180 steps planned"
        + " from the start");
    List<String[]> results = csv(outDir.resolve("results.csv"), "schedule,final_train_loss,test_loss,test_accuracy");
    assertThat(results).hasSize(5);

    // replaying the served rates locally gives the live row exactly: SGD used those rates and no others
    DemoSettings settings = new DemoSettings("softmax", T2, 64, 0.9, LR_MAX, LR_MIN, 1e-4, 32, PROBE_EVERY, 20, 64,
        SCALE, EXPONENT, 5, SEED, 10_000);
    Dataset.Split split = Digits.load().split(DemoSettings.SPLIT_SEED, DemoSettings.TEST_SIZE);
    RunResult replay = DemoRun.local("replay", settings, split, s -> lr[(int) s], Progress.silent(), new long[1]);
    assertThat(Double.parseDouble(results.get(0)[1])).isEqualTo(replay.finalTrainLoss());
    assertThat(Double.parseDouble(results.get(0)[3])).isEqualTo(replay.testAccuracy());
    // cosine by its own formula (SGDR eq. 5 over the budget) matches the cosine row
    RunResult cosine = DemoRun.local("cosine", settings, split,
        s -> LR_MIN + (LR_MAX - LR_MIN) * 0.5 * (1 + Math.cos(Math.PI * s / T2)), Progress.silent(), new long[1]);
    assertThat(Double.parseDouble(results.get(1)[1])).isCloseTo(cosine.finalTrainLoss(), within(1e-9));
    // fixed-phi UBA by eq. 5
    RunResult fixed = DemoRun.local("uba5", settings, split,
        s -> LR_MIN + (LR_MAX - LR_MIN) * Uba.factor(5, Budget.of(T2), s), Progress.silent(), new long[1]);
    assertThat(Double.parseDouble(results.get(4)[1])).isEqualTo(fixed.finalTrainLoss());
    for (String[] r : results) {
      assertThat(Double.parseDouble(r[3])).as(r[0]).isBetween(0.5, 1.0); // far above chance (0.1) after 180 steps
    }

    // curvature.csv: one row per estimate, one probe per probe step; the probes start at the minibatch gradient, so a one-probe
    // estimate's gradient_sharpness is that probe's alpha[0]; the edge ratio is the served lr at the probe
    // step times lambda_max over SGD's threshold 2 + 2*momentum (DESIGN 1.7)
    List<String[]> curvature = csv(outDir.resolve("curvature.csv"), "step,probes,start,alpha0,lambda_max,lambda_low,"
        + "lambda_harmonic,gradient_sharpness,negative_mass,edge_ratio");
    assertThat(curvature).hasSize(T2 / PROBE_EVERY);
    for (int i = 0; i < curvature.size(); i++) {
      String[] c = curvature.get(i);
      int s = Integer.parseInt(c[0]);
      assertThat(s).isEqualTo(i * PROBE_EVERY);
      assertThat(Integer.parseInt(c[1])).as("probes combined so far at %d", s).isEqualTo(i + 1);
      assertThat(c[2]).as("start at %d", s).isEqualTo("gradient");
      double lambdaMax = Double.parseDouble(c[4]);
      double lambdaH = Double.parseDouble(c[6]);
      assertThat(Double.parseDouble(c[7])).as("gradient_sharpness at %d", s).isEqualTo(Double.parseDouble(c[3]));
      assertThat(lambdaH).as("lambda_h at %d", s).isPositive().isLessThanOrEqualTo(lambdaMax * (1 + 1e-12));
      assertThat(Double.parseDouble(c[8])).as("negative_mass at %d", s).isBetween(0.0, 1.0);
      double edge = lr[s] * lambdaMax / (2 + 2 * 0.9);
      assertThat(Double.parseDouble(c[9])).as("edge_ratio at %d", s).isCloseTo(edge, within(1e-12 * edge));
    }

    // stats.csv: the service's gradient statistics (GetGradientStats) hold every step's batch loss exactly as
    // the trainer computed it (one worker, no thinning at this budget), and a gradient norm
    List<String[]> stats = csv(outDir.resolve("stats.csv"), "step,loss,grad_norm,workers");
    assertThat(stats).hasSize(T2);
    for (int s = 0; s < T2; s++) {
      String[] st = stats.get(s);
      assertThat(Long.parseLong(st[0])).isEqualTo(s);
      assertThat(Double.parseDouble(st[1])).as("loss at %d", s).isEqualTo(Double.parseDouble(rows.get(s)[10]));
      assertThat(Double.parseDouble(st[2])).as("grad_norm at %d", s).isPositive().isFinite();
      assertThat(st[3]).as("workers at %d", s).isEqualTo("1");
    }

    for (String png : List.of("lr.png", "phi.png", "kappa.png", "loss.png", "curvature.png", "edge.png")) {
      Path file = outDir.resolve(png);
      byte[] bytes = Files.readAllBytes(file);
      assertThat(bytes.length).as(png).isGreaterThan(1000);
      assertThat(Arrays.copyOf(bytes, 8)).as(png)
          .containsExactly(0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n');
      BufferedImage image = ImageIO.read(file.toFile());
      assertThat(image).as(png).isNotNull();
      assertThat(image.getWidth()).isEqualTo(DemoReport.WIDTH);
      assertThat(image.getHeight()).isEqualTo(DemoReport.HEIGHT);
    }
    assertThat(err.toString()).contains("starting the embedded Stepsize service")
        .doesNotContain("\r"); // no bar when stderr is not a terminal
  }

  private static List<String[]> csv(Path file, String header) throws IOException {
    List<String> lines = Files.readAllLines(file);
    assertThat(lines.get(0)).isEqualTo(header);
    List<String[]> rows = new ArrayList<>();
    for (String line : lines.subList(1, lines.size())) {
      // only results.csv quotes a field (the schedule name, which has a comma)
      if (line.startsWith("\"")) {
        int close = line.indexOf('"', 1);
        String[] rest = line.substring(close + 2).split(",");
        String[] row = new String[rest.length + 1];
        row[0] = line.substring(1, close);
        System.arraycopy(rest, 0, row, 1, rest.length);
        rows.add(row);
      } else {
        rows.add(line.split(","));
      }
    }
    return rows;
  }

  /** The table's rows: the lines after the dashed rule up to the first blank line. */
  private static List<String> tableRows(String stdout) {
    List<String> lines = stdout.lines().toList();
    int rule = -1;
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).matches("-{20,}")) {
        rule = i;
        break;
      }
    }
    assertThat(rule).as(stdout).isPositive();
    assertThat(lines.get(rule - 1)).startsWith("schedule").contains("final train loss").contains("test accuracy");
    List<String> rows = new ArrayList<>();
    for (int i = rule + 1; i < lines.size() && !lines.get(i).isBlank(); i++) {
      rows.add(lines.get(i));
    }
    return rows;
  }
}
