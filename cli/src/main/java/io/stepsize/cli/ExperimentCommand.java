package io.stepsize.cli;

import io.stepsize.client.StepsizeClient;
import io.stepsize.service.StepsizeNode;
import io.stepsize.lab.experiment.Arm;
import io.stepsize.lab.experiment.FashionMnist;
import io.stepsize.lab.experiment.Grid;
import io.stepsize.lab.experiment.OptimizerKind;
import io.stepsize.lab.experiment.Plots;
import io.stepsize.lab.experiment.ResultsWriter;
import io.stepsize.lab.experiment.Run;
import io.stepsize.lab.experiment.Workload;
import io.stepsize.lab.experiment.Workloads;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stepsize experiment}: the grid of issue 7. Every UBA run is a job on a Stepsize service
 * (embedded by default, or {@code --target}) whose learning rates come from GetLearningRates while
 * its Lanczos probes go through ReportProbes; baselines are evaluated locally with the same budget,
 * warmup and peak. Writes CSV and markdown tables and PNG charts into {@code --out}.
 */
@Command(name = "experiment", mixinStandardHelpOptions = true,
    description = {
        "Runs schedules x budgets x seeds x optimizers on MLPs (Fashion-MNIST, digits) with every UBA",
        "learning rate taken from the Stepsize service, and writes tables (runs.csv, summary.csv,",
        "summary.md, probes.csv, steps.csv.gz) and plots (loss, phi, kappa, spectrum) into --out."})
public final class ExperimentCommand implements Callable<Integer> {
  /** The documented grid's arms: the paper's baselines, fixed phi and condition_number variants. */
  public static final String DEFAULT_ARMS = "step,cosine,cyclic,onecycle,linear,rex,"
      + "phi:0.5,phi:5,phi:20,"
      + "kappa:1:1:live,kappa:1:1:latched,kappa:1:0.5:live,kappa:0.1:1:live";

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--out", defaultValue = "stepsize-experiment", paramLabel = "DIR",
      description = "Output directory (default ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--target", paramLabel = "HOST:PORT",
      description = "Use this Stepsize service instead of starting an embedded one.")
  String target;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Data directory of the embedded service (default: OUT/service-data, removed at the end).")
  Path dataDir;

  @Option(names = "--workloads", split = ",", defaultValue = "fashion,digits", paramLabel = "NAME",
      description = "fashion and/or digits (default ${DEFAULT-VALUE}).")
  List<String> workloads;

  @Option(names = "--optimizers", split = ",", defaultValue = "sgd,adamw", paramLabel = "NAME",
      description = "sgd (momentum 0.9) and/or adamw (default ${DEFAULT-VALUE}).")
  List<String> optimizers;

  @Option(names = "--budgets", split = ",", defaultValue = "25,50,100", paramLabel = "PCT",
      description = "Budgets in percent of --max-steps (default ${DEFAULT-VALUE}).")
  List<Integer> budgets;

  @Option(names = "--max-steps", defaultValue = "600", paramLabel = "T",
      description = "The 100% budget in optimizer steps (default ${DEFAULT-VALUE}).")
  long maxSteps;

  @Option(names = "--seeds", defaultValue = "3", paramLabel = "N", description = "Seeds per cell (default ${DEFAULT-VALUE}).")
  int seeds;

  @Option(names = "--arms", split = ",", paramLabel = "ARM",
      description = {"Schedules: baseline names (step, cosine, cyclic, onecycle, linear, rex, constant, wsd,",
          "exponential), phi:VALUE, phi:paper (5 SGD / 0.5 AdamW), kappa:SCALE:EXPONENT[:live|latched|continuous]",
          "(phi = clamp(SCALE*(2 kappa)^EXPONENT, 0.1, 1000)); UBA arms take :edge=smallest_positive|quantile|",
          "floor|gradient_harmonic, :guard=R (max_edge_ratio) and :start=gradient|random; an arm with",
          "edge=gradient_harmonic probes from the gradient, any other from a random start. Default: " + DEFAULT_ARMS})
  List<String> arms;

  @Option(names = "--hidden", defaultValue = "32", paramLabel = "H", description = "Hidden units (default ${DEFAULT-VALUE}).")
  int hidden;

  @Option(names = "--batch-size", defaultValue = "64", paramLabel = "B", description = "Batch size (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--lr-sgd", defaultValue = "0.1", paramLabel = "X", description = "Peak lr for SGD (default ${DEFAULT-VALUE}).")
  double lrSgd;

  @Option(names = "--lr-adamw", defaultValue = "0.01", paramLabel = "X",
      description = "Peak lr for AdamW (default ${DEFAULT-VALUE}).")
  double lrAdamw;

  @Option(names = "--fashion-dir", defaultValue = FashionMnist.DEBIAN_DIR, paramLabel = "DIR",
      description = "Folder of the Fashion-MNIST IDX files (default: the Debian package's, ${DEFAULT-VALUE}).")
  Path fashionDir;

  @Option(names = "--fashion-train", defaultValue = "10000", paramLabel = "N",
      description = "Fashion-MNIST training examples used (default ${DEFAULT-VALUE}).")
  int fashionTrain;

  @Option(names = "--fashion-test", defaultValue = "2000", paramLabel = "N",
      description = "Fashion-MNIST test examples used (default ${DEFAULT-VALUE}).")
  int fashionTest;

  @Option(names = "--lanczos-steps", defaultValue = "20", paramLabel = "M",
      description = "Lanczos steps m per probe (default ${DEFAULT-VALUE}).")
  int lanczosSteps;

  @Option(names = "--probes", defaultValue = "8", paramLabel = "N",
      description = "Probe spacing: after steps 0 and W-1, a probe every ceil((T-W)/N) steps within the budget, "
          + "so at most N more (default ${DEFAULT-VALUE}).")
  int probes;

  @Option(names = "--threads", defaultValue = "2", paramLabel = "N",
      description = "Runs trained at once (default ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--no-plots", description = "Skip the PNG charts.")
  boolean noPlots;

  @Override
  public Integer call() throws Exception {
    PrintWriter stdout = spec.commandLine().getOut();
    List<Arm> armList = new ArrayList<>();
    for (String a : arms == null ? List.of(DEFAULT_ARMS.split(",")) : arms) {
      try {
        armList.add(Arm.parse(a));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--arms: " + e.getMessage());
      }
    }
    List<OptimizerKind> opts = new ArrayList<>();
    for (String o : optimizers) {
      try {
        opts.add(OptimizerKind.byLabel(o));
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--optimizers: " + e.getMessage());
      }
    }
    if (maxSteps < 4) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--max-steps: must be >= 4, got " + maxSteps);
    }
    Workloads.Rates rates = new Workloads.Rates(lrSgd, lrAdamw);
    List<Workload> ws = new ArrayList<>();
    for (String w : workloads) {
      switch (w.trim().toLowerCase(Locale.ROOT)) {
        case "fashion" -> {
          try {
            ws.add(Workloads.fashion(fashionDir, fashionTrain, fashionTest, hidden, batchSize, maxSteps, rates));
          } catch (IllegalStateException e) {
            spec.commandLine().getErr().println("stepsize experiment: " + e.getMessage());
            return 1;
          }
        }
        case "digits" -> ws.add(Workloads.digits(hidden, batchSize, maxSteps, rates));
        default -> throw new CommandLine.ParameterException(spec.commandLine(),
            "--workloads: must be fashion or digits, got " + w);
      }
    }
    Grid.Config config;
    String tag = Long.toString(System.currentTimeMillis(), 36);
    try {
      config = new Grid.Config(ws, opts, budgets, seeds, armList, lanczosSteps, probes, threads, tag);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    Files.createDirectories(out);
    int runs = Grid.specs(config).size();
    stdout.printf("stepsize experiment: %d runs (%d workloads x %d optimizers x %d budgets x %d arms x %d seeds) into %s%n",
        runs, ws.size(), opts.size(), budgets.size(), armList.size(), seeds, out);

    List<Run.Result> results;
    StepsizeNode node = null;
    Path data = dataDir != null ? dataDir : out.resolve("service-data");
    try {
      String address = target;
      if (address == null) {
        node = StepsizeNode.start(StepsizeNode.Config.embedded(data));
        if (!node.awaitServing(Duration.ofSeconds(120))) {
          spec.commandLine().getErr().println("stepsize experiment: the embedded service did not become ready");
          return 1;
        }
        address = node.target();
      }
      try (StepsizeClient client = StepsizeClient.connect(address, Duration.ofSeconds(30))) {
        results = Grid.run(config, client, stdout);
      }
    } finally {
      if (node != null) {
        node.close();
        if (dataDir == null) {
          deleteTree(data);
        }
      }
    }
    String description = String.format(Locale.ROOT, "Grid: workloads %s; optimizers %s (lr_max SGD %s, AdamW %s, "
        + "lr_min 0); budgets %s%% of %d steps; %d seeds; batch %d; MLP with %d tanh units, L2 %s; warmup 5%% of T "
        + "for every arm; probes of m = %d Lanczos steps per UBA run at steps 0, W-1, then every ceil((T-W)/%d) "
        + "within the budget (probes.csv lists them).",
        String.join(", ", workloads), String.join(", ", optimizers), lrSgd, lrAdamw, budgets, maxSteps, seeds,
        batchSize, hidden, Workloads.L2, lanczosSteps, probes);
    ResultsWriter.writeAll(out, results, description);
    if (!noPlots) {
      Plots.writeAll(out, results);
    }
    stdout.println("wrote " + out.resolve(ResultsWriter.SUMMARY_MD) + " and the CSVs" + (noPlots ? "" : " and plots"));
    return 0;
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
