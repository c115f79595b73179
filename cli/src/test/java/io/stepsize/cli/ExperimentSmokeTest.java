package io.stepsize.cli;

import io.stepsize.lab.experiment.Arm;
import io.stepsize.lab.experiment.ResultsWriter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.Source;
import io.stepsize.schedule.Baseline;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.schedule.Optimizer;
import io.stepsize.schedule.PhiPolicy;
import io.stepsize.service.StepsizeNode;
import io.stepsize.cli.StepsizeCli;
import java.awt.image.BufferedImage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code stepsize experiment} on a tiny budget against a real embedded service: checks that the
 * outputs are complete and consistent with each other and with the service, not which schedule wins.
 */
class ExperimentSmokeTest {
  static final int MAX_STEPS = 24;
  static final int[] BUDGETS = {25, 50, 100};
  static final String[] OPTIMIZERS = {"sgd", "adamw"};
  static final String[] ARMS = {"cosine", "phi:paper", "kappa:1:1:continuous:edge=gradient_harmonic:guard=1",
      "kappa:0.5:0.5:latched"};
  static final int SEEDS = 3;
  static final int PROBES = 1;

  @TempDir Path dir;

  /** A CSV file as rows of header → value. */
  static List<Map<String, String>> csv(List<String> lines) {
    String[] header = lines.get(0).split(",", -1);
    List<Map<String, String>> rows = new ArrayList<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] cells = line.split(",", -1);
      assertThat(cells).as(line).hasSize(header.length);
      Map<String, String> row = new HashMap<>();
      for (int i = 0; i < header.length; i++) {
        row.put(header[i], cells[i]);
      }
      rows.add(row);
    }
    return rows;
  }

  static double num(Map<String, String> row, String key) {
    String v = row.get(key);
    return v.isEmpty() ? Double.NaN : Double.parseDouble(v);
  }

  @Test
  void tinyGridWritesCompleteConsistentOutputsWithRatesFromTheService() throws Exception {
    Path out = dir.resolve("out");
    try (StepsizeNode node = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("node")))) {
      assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
      StringWriter err = new StringWriter();
      CommandLine cli = StepsizeCli.commandLine();
      cli.setErr(new PrintWriter(err));
      int code = cli.execute("experiment", "--target", node.target(), "--out", out.toString(),
          "--workloads", "digits", "--optimizers", String.join(",", OPTIMIZERS), "--budgets", "25,50,100",
          "--max-steps", Integer.toString(MAX_STEPS), "--seeds", Integer.toString(SEEDS),
          "--arms", String.join(",", ARMS), "--probes", Integer.toString(PROBES), "--lanczos-steps", "8",
          "--hidden", "8", "--batch-size", "16", "--threads", "6");
      assertThat(code).as(err.toString()).isZero();

      // every output is there
      for (String f : List.of(ResultsWriter.RUNS, ResultsWriter.PROBES, ResultsWriter.STEPS, ResultsWriter.SUMMARY_CSV,
          ResultsWriter.SUMMARY_MD)) {
        assertThat(out.resolve(f)).isRegularFile();
      }
      for (String o : OPTIMIZERS) {
        for (String kind : List.of("loss", "phi", "kappa", "spectrum")) {
          BufferedImage png = ImageIO.read(out.resolve(kind + "-digits-" + o + ".png").toFile());
          assertThat(png.getWidth()).isEqualTo(1000);
          assertThat(png.getHeight()).isEqualTo(600);
        }
      }

      // one run per cell of the grid, none twice
      List<Map<String, String>> runs = csv(Files.readAllLines(out.resolve(ResultsWriter.RUNS)));
      assertThat(runs).hasSize(OPTIMIZERS.length * BUDGETS.length * ARMS.length * SEEDS);
      Set<String> keys = new HashSet<>();
      for (Map<String, String> r : runs) {
        keys.add(r.get("optimizer") + r.get("budget_pct") + r.get("arm") + r.get("seed"));
        long t = Long.parseLong(r.get("total_steps"));
        assertThat(t).isEqualTo(Math.round(MAX_STEPS * Integer.parseInt(r.get("budget_pct")) / 100.0));
        // 5 % of T rounds to at most 1 for T ≤ 24, and warmup is at least 2 steps
        assertThat(Long.parseLong(r.get("warmup_steps"))).isEqualTo(2);
        assertThat(r.get("diverged")).isEqualTo("false");
        assertThat(num(r, "test_accuracy")).isBetween(0.0, 1.0);
        assertThat(num(r, "train_loss")).isPositive();
      }
      assertThat(keys).hasSize(runs.size());

      // every step of every run, and the rates are the service's (UBA) or the local baseline formula
      Map<Integer, List<double[]>> steps = new HashMap<>();
      try (BufferedReader in = new BufferedReader(new InputStreamReader(
          new GZIPInputStream(Files.newInputStream(out.resolve(ResultsWriter.STEPS))), StandardCharsets.UTF_8))) {
        List<String> lines = in.lines().toList();
        assertThat(lines.get(0)).isEqualTo(ResultsWriter.STEPS_HEADER);
        for (Map<String, String> row : csv(lines)) {
          steps.computeIfAbsent(Integer.parseInt(row.get("index")), k -> new ArrayList<>())
              .add(new double[] {num(row, "step"), num(row, "lr"), num(row, "phi"), num(row, "kappa")});
        }
      }
      List<Map<String, String>> probes = csv(Files.readAllLines(out.resolve(ResultsWriter.PROBES)));
      try (StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10))) {
        for (Map<String, String> r : runs) {
          int index = Integer.parseInt(r.get("index"));
          long t = Long.parseLong(r.get("total_steps"));
          long w = Long.parseLong(r.get("warmup_steps"));
          List<double[]> rs = steps.get(index);
          assertThat(rs).hasSize((int) t);
          Arm arm = Arm.parse(r.get("arm").replace("uba-phi=", "phi:").replace("uba-", ""));
          long runProbes = probes.stream().filter(p -> p.get("index").equals(r.get("index"))).count();
          if (arm.isBaseline()) {
            assertThat(r.get("job_id")).isEmpty();
            assertThat(runProbes).isZero();
            double lrMax = r.get("optimizer").equals("sgd") ? 0.1 : 0.01;
            JobSchedule local = JobSchedule.of(Budget.of(t, w), lrMax, 0, new PhiPolicy.Fixed(5), Optimizer.SGD);
            for (double[] s : rs) {
              assertThat(s[1]).isEqualTo(LrEvaluator.evaluate(local, arm.baseline(), (long) s[0]).lr());
            }
            continue;
          }
          // steps 0 and W − 1 = 1, then every ⌈(T − W)/1⌉ = T − 2 steps: only T − 1 is inside the budget
          assertThat(probes.stream().filter(p -> p.get("index").equals(r.get("index")))
              .map(p -> Long.parseLong(p.get("step")))).containsExactly(0L, 1L, t - 1);
          List<LearningRate> answers = client.learningRates(r.get("job_id"), 0, t).getRatesList();
          assertThat(answers).hasSize((int) t);
          for (double[] s : rs) {
            LearningRate a = answers.get((int) s[0]);
            // the run used exactly what the service answers for its job once all its probes are in
            assertThat(s[1]).as("%s step %s", r.get("job_id"), s[0]).isEqualTo(a.getLr());
            if (a.getSource() == Source.SOURCE_CURVATURE) {
              assertThat(arm.isKappa()).isTrue();
              assertThat(s[2]).isCloseTo(arm.phiOfKappa(a.getKappa()), within(1e-12 * s[2]));
            } else if (a.getSource() == Source.SOURCE_FIXED) {
              assertThat(s[2]).isEqualTo(r.get("optimizer").equals("sgd") ? 5.0 : 0.5);
            }
          }
          if (arm.isKappa()) {
            // the probe at W − 1 applies from W: after warmup every step's phi is from curvature
            assertThat(answers.get((int) w).getSource()).isEqualTo(Source.SOURCE_CURVATURE);
            if (arm.latched()) {
              assertThat(answers.subList((int) w, (int) t)).extracting(LearningRate::getPhi)
                  .containsOnly(answers.get((int) w).getPhi());
            }
          }
        }
      }

      // the summary is the mean ± std of the runs it names
      List<Map<String, String>> summary = csv(Files.readAllLines(out.resolve(ResultsWriter.SUMMARY_CSV)));
      assertThat(summary).hasSize(OPTIMIZERS.length * BUDGETS.length * ARMS.length);
      for (Map<String, String> s : summary) {
        double[] acc = runs.stream().filter(r -> r.get("optimizer").equals(s.get("optimizer"))
                && r.get("budget_pct").equals(s.get("budget_pct")) && r.get("arm").equals(s.get("arm")))
            .mapToDouble(r -> num(r, "test_accuracy")).toArray();
        assertThat(acc).hasSize(SEEDS);
        assertThat(Integer.parseInt(s.get("runs"))).isEqualTo(SEEDS);
        double mean = (acc[0] + acc[1] + acc[2]) / 3;
        double var = ((acc[0] - mean) * (acc[0] - mean) + (acc[1] - mean) * (acc[1] - mean)
            + (acc[2] - mean) * (acc[2] - mean)) / 2;
        assertThat(num(s, "test_accuracy_mean")).isCloseTo(mean, within(1e-12));
        assertThat(num(s, "test_accuracy_std")).isCloseTo(Math.sqrt(var), within(1e-12));
      }
      String md = Files.readString(out.resolve(ResultsWriter.SUMMARY_MD));
      assertThat(md).contains("## digits, sgd", "## digits, adamw", "## Win / tie / loss by test accuracy",
          "## Curvature the probes measured", "| uba-kappa:1:1:continuous:edge=gradient_harmonic:guard=1 |");
    }
  }

  @Test
  void missingFashionMnistIsAClearFailure() throws IOException {
    StringWriter err = new StringWriter();
    CommandLine cli = StepsizeCli.commandLine();
    cli.setErr(new PrintWriter(err));
    int code = cli.execute("experiment", "--workloads", "fashion", "--fashion-dir", dir.toString(), "--out",
        dir.resolve("o").toString());
    assertThat(code).isEqualTo(1);
    assertThat(err.toString()).contains("dataset-fashion-mnist");
  }

  @Test
  void badArmIsAUsageError() {
    StringWriter err = new StringWriter();
    CommandLine cli = StepsizeCli.commandLine();
    cli.setErr(new PrintWriter(err));
    assertThat(cli.execute("experiment", "--arms", "kappa:x:1")).isEqualTo(2);
    assertThat(err.toString()).contains("--arms", "'x' is not a number");
  }
}
