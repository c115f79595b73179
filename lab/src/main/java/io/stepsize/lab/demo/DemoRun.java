package io.stepsize.lab.demo;

import io.stepsize.lab.train.SgdMomentum;
import io.stepsize.lab.train.TrainingLoop;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.schedule.Baseline;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.schedule.PhiPolicy;
import io.stepsize.service.StepsizeNode;
import io.stepsize.wire.JobSpecs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.function.LongToDoubleFunction;
import java.util.stream.Stream;

/**
 * The whole {@code stepsize demo}: an embedded Stepsize node on ephemeral ports, the live run
 * ({@link LiveRun}, revised midway to a 50% longer budget), the same training under local baselines
 * planned for the live run's final budget (same seed, so the same batches in the same order: the runs
 * differ only by their learning rates), then the table, the CSVs and the PNGs in the output directory.
 */
public final class DemoRun {
  /** The baselines every demo compares with, besides fixed-φ UBA. */
  public static final List<Baseline> BASELINES = List.of(Baseline.COSINE, Baseline.STEP, Baseline.LINEAR);
  /** Files written into the output directory. */
  public static final List<String> FILES =
      List.of("live.csv", "probes.csv", "results.csv", "lr.png", "phi.png", "kappa.png", "loss.png",
          "curvature.png", "edge.png", "curvature.csv", "stats.csv");

  /**
   * What the demo produced.
   *
   * @param settings what ran
   * @param live the service-driven run
   * @param runs every run of the table, the live one first
   * @param files the files written, in {@link #FILES} order
   * @param startupMillis time to start the embedded node until it served
   * @param consoleUrl the live job's page in the console, or null when HTTP was off
   * @param serving the node, still up, when the caller asked to keep it; closing it ends the service
   *     (and deletes a temporary data directory); null otherwise
   */
  public record Result(DemoSettings settings, LiveTrace live, List<RunResult> runs, List<Path> files,
      long startupMillis, String consoleUrl, AutoCloseable serving) {}

  private DemoRun() {}

  /**
   * Runs the demo. {@code dataDir} holds the embedded broker's data; null means a fresh temporary
   * directory, deleted at the end. {@code httpPort} serves the console (-1: off, 0: any free port);
   * with {@code keepServing} the node stays up after the run, in {@link Result#serving()}, so that
   * a newcomer can open the live job's page.
   */
  public static Result run(DemoSettings settings, Path out, Path dataDir, Progress progress, int httpPort,
      boolean keepServing) throws IOException {
    Files.createDirectories(out);
    Dataset.Split split = Digits.load().split(DemoSettings.SPLIT_SEED, DemoSettings.TEST_SIZE);
    boolean temporary = dataDir == null;
    Path dir = temporary ? Files.createTempDirectory("stepsize-demo-") : Files.createDirectories(dataDir);
    LiveTrace live;
    long startupMillis;
    String consoleUrl = null;
    StepsizeNode node = null;
    boolean keep = false;
    try {
      progress.note("starting the embedded Stepsize service (Kafka broker, estimator, gRPC) ...");
      long t0 = System.nanoTime();
      node = StepsizeNode.start(StepsizeNode.Config.embedded(dir).withHttpPort(httpPort));
      try {
        if (!node.awaitServing(Duration.ofSeconds(60))) {
          throw new IllegalStateException("the embedded service did not start serving within 60 s");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while starting the embedded service", e);
      }
      startupMillis = (System.nanoTime() - t0) / 1_000_000;
      progress.note(String.format(Locale.ROOT, "  serving gRPC on %s after %.1f s", node.target(),
          startupMillis / 1e3));
      String jobId = "demo-" + settings.model() + "-" + UUID.randomUUID().toString().substring(0, 8);
      if (node.consoleUrl() != null) {
        consoleUrl = node.consoleUrl() + "#/job/" + jobId;
        progress.note("  console: " + consoleUrl);
      }
      live = LiveRun.run(settings, split, node.target(), jobId, progress);
      keep = keepServing;
      if (!keep) {
        progress.note("stopping the embedded service ...");
      }
    } finally {
      if (!keep) {
        new Stop(node, temporary ? dir : null).close();
      }
    }
    AutoCloseable serving = keep ? new Stop(node, temporary ? dir : null) : null;

    List<RunResult> runs = new ArrayList<>();
    runs.add(live.run());
    // The baselines train as many steps as the live run did, planned for that budget from the start:
    // the table compares losses and accuracies, and a run with 50% more SGD steps would win by them
    // alone. So the rows show what the revision cost against knowing the budget in advance.
    DemoSettings baseline = settings.withSteps(live.totalSteps(), settings.probeEvery());
    JobSchedule job = JobSpecs.toSchedule(live.spec().toBuilder().setTotalSteps(live.totalSteps()).build());
    JobSchedule fixed = new JobSchedule(job.budget(), job.lrMax(), job.lrMin(), job.groups(),
        new PhiPolicy.Fixed(settings.fixedPhi()), settings.fixedPhi(), job.applyDelaySteps());
    progress.start("training the same model under local baselines", (BASELINES.size() + 1) * baseline.steps());
    long[] done = {0};
    for (Baseline b : BASELINES) {
      runs.add(local(b.label(), baseline, split, s -> LrEvaluator.evaluate(job, b, s).lr(), progress, done));
    }
    runs.add(local("UBA, fixed phi=" + format(settings.fixedPhi()), baseline, split,
        s -> LrEvaluator.evaluate(fixed, s, CurvatureTimeline.EMPTY).lr(), progress, done));
    progress.finish("");

    List<Path> files = DemoReport.write(out, settings, live, runs);
    return new Result(settings, live, List.copyOf(runs), files, startupMillis, consoleUrl, serving);
  }

  /** The same training (same seed, batches and start) with a locally computed schedule. */
  public static RunResult local(String name, DemoSettings settings, Dataset.Split split, LongToDoubleFunction lr,
      Progress progress, long[] done) {
    Model model = settings.newModel();
    int steps = (int) settings.steps();
    double[] lrUsed = new double[steps];
    double[] loss = new double[steps];
    double[] params = train(settings, model, split.train(), lr::applyAsDouble, TrainingLoop.ProbeHook.NONE,
        (step, rate, batchLoss) -> {
          lrUsed[(int) step] = rate;
          loss[(int) step] = batchLoss;
          progress.update(++done[0], name);
        });
    return RunResult.score(name, model, split, params, lrUsed, loss);
  }

  /**
   * Every demo run, live or local: the settings' loop from the model's seeded start, SGD with the
   * settings' momentum. Returns the final parameters.
   */
  static double[] train(DemoSettings settings, Model model, Dataset train, TrainingLoop.RateSource rates,
      TrainingLoop.ProbeHook probe, TrainingLoop.StepObserver observer) {
    TrainingLoop loop = new TrainingLoop(settings.loopConfig(), train.size());
    try {
      return loop.run(model.initialParameters(settings.seed()), model.objective(train),
          new SgdMomentum(model.dimension(), settings.momentum()), rates, probe, observer).params();
    } catch (InterruptedException e) {
      // the demo's hooks wait without being interruptible (LiveRun counts a wait cut short as a late estimate)
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while training " + model.name(), e);
    }
  }

  /** A setting as a person writes it: 5, 0.9, 0.0001 (not 5.0 or 1.0E-4). */
  static String format(double v) {
    if (v == 0 || Math.abs(v) >= 1e-6 && Math.abs(v) < 1e15) {
      return java.math.BigDecimal.valueOf(v).stripTrailingZeros().toPlainString();
    }
    return Double.toString(v);
  }

  /** The service's φ of each step of the live run. */
  static double[] phis(LearningRate[] served) {
    double[] phi = new double[served.length];
    for (int s = 0; s < phi.length; s++) {
      phi[s] = served[s].getPhi();
    }
    return phi;
  }

  /** Stops the node (null: it never started) and deletes the temporary data directory (null: none). */
  private record Stop(StepsizeNode node, Path temporaryDir) implements AutoCloseable {
    @Override
    public void close() {
      if (node != null) {
        node.close();
      }
      if (temporaryDir != null) {
        deleteRecursively(temporaryDir);
      }
    }
  }

  private static void deleteRecursively(Path dir) {
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // best effort: a temp dir left behind is harmless
        }
      });
    } catch (IOException | UncheckedIOException e) {
      // best effort, as above
    }
  }

  /** Writes UTF-8 text. */
  static void writeText(Path file, String text) throws IOException {
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write(text);
    }
  }
}
