package io.stepsize.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.schedule.Baseline;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.schedule.LrValue;
import io.stepsize.schedule.PhiPolicy;
import java.awt.image.BufferedImage;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code stepsize schedule} in-process: exit codes, CSV format and values, the PNG. */
class ScheduleCommandTest {

  private final CliHarness cli = new CliHarness("schedule");
  private final StringWriter out = cli.out;
  private final StringWriter err = cli.err;

  private int run(String... args) {
    return cli.run(args);
  }

  private List<String> lines() {
    return out.toString().lines().toList();
  }

  private static final Budget BUDGET = new Budget(100, 10, new long[] {60, 100}, 0);

  @Test
  void ubaCsvHasTheHeaderOneRowPerStepAndTheLibrarysValues() {
    int code = run("--total-steps", "100", "--warmup-steps", "10", "--boundaries", "60,100",
        "--lr-max", "0.1", "--lr-min", "0.001", "--phi", "5");
    assertThat(code).as(err.toString()).isZero();
    List<String> lines = lines();
    assertThat(lines).hasSize(101);
    assertThat(lines.get(0)).isEqualTo("step,lr,factor,phase");
    JobSchedule job = new JobSchedule(BUDGET, 0.1, 0.001, List.of(), new PhiPolicy.Fixed(5), 5, 0);
    for (int s : new int[] {0, 9, 10, 37, 59, 60, 99}) {
      LrValue v = LrEvaluator.evaluate(job, s, CurvatureTimeline.EMPTY);
      String[] row = lines.get(s + 1).split(",");
      assertThat(row[0]).isEqualTo(Integer.toString(s));
      assertThat(Double.parseDouble(row[1])).isEqualTo(v.lr());
      assertThat(row[1]).isEqualTo(Double.toString(v.lr())); // shortest round-trip form
      assertThat(Double.parseDouble(row[2])).isEqualTo(v.factor());
      assertThat(Integer.parseInt(row[3])).isEqualTo(v.phase());
    }
    assertThat(lines.get(10)).isEqualTo("9,0.1,1.0,0");
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void baselineCsvMatchesTheLibrary() {
    assertThat(run("--total-steps", "50", "--lr-max", "1", "--lr-min", "0", "--baseline", "onecycle")).isZero();
    JobSchedule job = new JobSchedule(Budget.of(50), 1, 0, List.of(), new PhiPolicy.Fixed(1), 1, 0);
    List<String> lines = lines();
    assertThat(lines).hasSize(51);
    for (int s = 0; s < 50; s++) {
      assertThat(Double.parseDouble(lines.get(s + 1).split(",")[1]))
          .isEqualTo(LrEvaluator.evaluate(job, Baseline.ONECYCLE, s).lr());
    }
  }

  @Test
  void badInputExitsTwoWithTheSchedulesMessage() {
    String[][] cases = {
        {"lr_min: must be <= lr_max (0.2 > 0.1)", "--total-steps", "10", "--lr-max", "0.1", "--lr-min", "0.2", "--phi", "1"},
        {"phase_boundaries: must be strictly increasing (B_2 = 40 <= B_1 = 50)",
            "--total-steps", "100", "--boundaries", "50,40,100", "--lr-max", "1", "--lr-min", "0", "--phi", "1"},
        {"phase_boundaries: must end at total_steps = 100 (got 90)",
            "--total-steps", "100", "--boundaries", "50,90", "--lr-max", "1", "--lr-min", "0", "--phi", "1"},
        {"phi: must be finite and > 0 (got 0.0)", "--total-steps", "10", "--lr-max", "1", "--lr-min", "0", "--phi", "0"},
        {"phi: must be finite and > 0 (got NaN)", "--total-steps", "10", "--lr-max", "1", "--lr-min", "0", "--phi", "NaN"},
        {"total_steps: must be >= 1 (got 0)", "--total-steps", "0", "--lr-max", "1", "--lr-min", "0", "--phi", "1"},
        {"warmup_steps: must be >= 0 and < total_steps (got -1, total_steps = 10)",
            "--total-steps", "10", "--warmup-steps", "-1", "--lr-max", "1", "--lr-min", "0", "--phi", "1"},
        {"phase_offset: must be 0 or 1 (got 2)",
            "--total-steps", "10", "--phase-offset", "2", "--lr-max", "1", "--lr-min", "0", "--phi", "1"},
        {"baseline: must be one of", "--total-steps", "10", "--lr-max", "1", "--lr-min", "0", "--baseline", "saw"},
        {"only one schedule without --plot (got 2)",
            "--total-steps", "10", "--lr-max", "1", "--lr-min", "0", "--phi", "1", "--baseline", "rex"},
        {"one of --phi or --baseline is required", "--total-steps", "10", "--lr-max", "1", "--lr-min", "0"},
        {"--lr-max", "--total-steps", "10", "--lr-min", "0", "--phi", "1"},
    };
    for (String[] c : cases) {
      out.getBuffer().setLength(0);
      err.getBuffer().setLength(0);
      String[] args = java.util.Arrays.copyOfRange(c, 1, c.length);
      assertThat(run(args)).as(String.join(" ", args)).isEqualTo(2);
      assertThat(err.toString()).as(String.join(" ", args)).contains(c[0]);
      assertThat(out.toString()).isEmpty();
    }
  }

  @Test
  void theFlagIsNamedToo() {
    assertThat(run("--total-steps", "10", "--lr-max", "0.1", "--lr-min", "0.2", "--phi", "1")).isEqualTo(2);
    assertThat(err.toString()).contains("invalid --lr-min: lr_min: must be <= lr_max (0.2 > 0.1)");
  }

  @Test
  void plotShowsEveryScheduleAndTheCsvTheFirst(@TempDir Path dir) throws Exception {
    Path png = dir.resolve("schedules.png");
    int code = run("--total-steps", "300", "--warmup-steps", "20", "--boundaries", "200,300",
        "--lr-max", "0.1", "--lr-min", "0.001", "--baseline", "cosine", "--phi", "0.5", "--phi=5",
        "--baseline", "rex", "--plot", png.toString());
    assertThat(code).as(err.toString()).isZero();
    JobSchedule job = new JobSchedule(new Budget(300, 20, new long[] {200, 300}, 0), 0.1, 0.001, List.of(),
        new PhiPolicy.Fixed(1), 1, 0);
    List<String> lines = lines();
    assertThat(lines).hasSize(301);
    assertThat(Double.parseDouble(lines.get(151).split(",")[1]))
        .isEqualTo(LrEvaluator.evaluate(job, Baseline.COSINE, 150).lr());
    assertThat(Files.size(png)).isGreaterThan(5_000);
    BufferedImage image = ImageIO.read(png.toFile());
    assertThat(image).isNotNull();
    assertThat(image.getWidth()).isEqualTo(1000);
    assertThat(image.getHeight()).isEqualTo(600);
  }

  /** Arguments in an @file are expanded by picocli; the first schedule among them is the CSV's. */
  @Test
  void argumentsFromAnAtFileKeepTheirOrder(@TempDir Path dir) throws Exception {
    Path args = dir.resolve("args");
    Files.writeString(args, "--total-steps 50 --lr-max 0.1 --lr-min 0.001 --baseline cosine --phi 5 --plot "
        + dir.resolve("two.png") + "\n");
    assertThat(run("@" + args)).as(err.toString()).isZero();
    JobSchedule job = new JobSchedule(new Budget(50, 0, new long[] {50}, 0), 0.1, 0.001, List.of(),
        new PhiPolicy.Fixed(1), 1, 0);
    List<String> lines = lines();
    assertThat(lines).hasSize(51);
    assertThat(Double.parseDouble(lines.get(11).split(",")[1]))
        .isEqualTo(LrEvaluator.evaluate(job, Baseline.COSINE, 10).lr());
  }

  @Test
  void helpExitsZero() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString()).contains("--total-steps").contains("--baseline");
  }
}
