package io.stepsize.cli;

import io.stepsize.lab.demo.DemoReport;
import io.stepsize.lab.demo.DemoRun;
import io.stepsize.lab.demo.DemoSettings;
import io.stepsize.lab.demo.Progress;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stepsize demo}: the main job (DESIGN.md §5). Starts the embedded service, trains a real
 * model on the bundled digits set with every learning rate served over gRPC under the
 * condition_number policy, then prints a table against baselines and writes plots and CSVs.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = {
        "Trains softmax regression (or an MLP) on the bundled UCI digits set in this JVM, with every",
        "learning rate from an embedded Stepsize service (phi from the live Hessian condition number,",
        "measured by Lanczos probes, continuous mode). At half its budget the live run extends the budget",
        "by 50% with ReviseJob; then the same training, over that final budget planned from the start,",
        "under cosine, step, linear and fixed-phi UBA.",
        "Prints the comparison table; writes live.csv, probes.csv, results.csv and lr/phi/kappa/loss PNGs."})
public final class DemoCommand implements Callable<Integer> {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--out", defaultValue = "./stepsize-demo", paramLabel = "DIR",
      description = "Where the CSVs and PNGs go (default ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--model", defaultValue = "softmax", paramLabel = "softmax|mlp",
      description = "softmax regression with L2, or a one-hidden-layer tanh MLP (default ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--steps", paramLabel = "T", description = "Step budget T, the job's total_steps as created (default 1000); revised to T + T/2 at T/2.")
  Long steps;

  @Option(names = "--batch-size", paramLabel = "B", description = "Examples per SGD step (default 64).")
  Integer batchSize;

  @Option(names = "--momentum", paramLabel = "MU", description = "Heavy-ball momentum (default 0.9).")
  Double momentum;

  @Option(names = "--lr-max", paramLabel = "X", description = "Peak learning rate (default 1 for softmax, 0.5 for mlp).")
  Double lrMax;

  @Option(names = "--lr-min", paramLabel = "Y", description = "Floor learning rate (default lr-max/100).")
  Double lrMin;

  @Option(names = "--l2", paramLabel = "L", description = "L2 coefficient of the objective (default 1e-4).")
  Double l2;

  @Option(names = "--hidden", paramLabel = "H", description = "Hidden units of the MLP (default 32).")
  Integer hidden;

  @Option(names = "--probe-every", paramLabel = "K", description = "A Lanczos probe every K steps, from step 0 (default 50).")
  Long probeEvery;

  @Option(names = "--lanczos-steps", paramLabel = "M", description = "Lanczos steps m per probe (default 20).")
  Integer lanczosSteps;

  @Option(names = "--probe-batch", paramLabel = "N", description = "Examples in the fixed probe batch (default 256).")
  Integer probeBatch;

  @Option(names = "--phi-scale", paramLabel = "S",
      description = "condition_number scale: phi = S * (2 kappa)^E (default 0.1, phi = 0.2 kappa, from docs/EXPERIMENTS.md; 1 is the paper's phi = 2 kappa).")
  Double phiScale;

  @Option(names = "--phi-exponent", paramLabel = "E", description = "condition_number exponent (default 1).")
  Double phiExponent;

  @Option(names = "--fixed-phi", paramLabel = "P", description = "phi of the fixed-phi UBA baseline (default 5, the paper's SGD choice).")
  Double fixedPhi;

  @Option(names = "--seed", paramLabel = "N", description = "Seeds batches, initial weights and probes (default 1).")
  Long seed;

  @Option(names = "--estimate-timeout", paramLabel = "MS",
      description = "How long a step waits for a probe's estimate to reach the trainer (default 10000 ms).")
  Long estimateTimeout;

  @Option(names = "--data-dir", paramLabel = "DIR",
      description = "Embedded broker data (default: a temporary directory, deleted at the end).")
  Path dataDir;

  @Option(names = "--http-port", defaultValue = "0", paramLabel = "PORT",
      description = "The console's port, where the live job's page shows while it trains; 0 = any free port"
          + " (the URL is printed), -1 = off (default ${DEFAULT-VALUE}).")
  int httpPort;

  @Option(names = "--keep-serving", negatable = false,
      description = "Leave the service and its console up after the run, until Ctrl-C.")
  boolean keepServing;

  @Option(names = "--no-progress", negatable = false, description = "No progress bar, stage lines only.")
  boolean noProgress;

  @Option(names = "--verbose", negatable = false, description = "Keep the service's and Kafka's log lines.")
  boolean verbose;

  @Override
  public Integer call() throws Exception {
    DemoSettings settings = settings();
    if (!verbose) {
      quietLogs();
    }
    PrintWriter err = spec.commandLine().getErr();
    // a bar of carriage returns only makes sense on a terminal
    Progress progress = new Progress(err, !noProgress && System.console() != null);
    long t0 = System.nanoTime();
    Serving.checkOptionalPort(spec, "--http-port", httpPort);
    if (keepServing && httpPort == -1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--keep-serving: needs the console (--http-port"
          + " is -1)");
    }
    DemoRun.Result result = DemoRun.run(settings, out, dataDir, progress, httpPort, keepServing);
    PrintWriter stdout = spec.commandLine().getOut();
    stdout.println();
    stdout.println(DemoReport.heading(result));
    stdout.println();
    stdout.print(DemoReport.table(result));
    stdout.println();
    stdout.println("wrote " + String.join(", ", result.files().stream().map(p -> p.getFileName().toString()).toList())
        + " to " + out);
    stdout.printf(Locale.ROOT, "done in %.1f s%n", (System.nanoTime() - t0) / 1e9);
    if (result.serving() != null) {
      stdout.println("console (serving until Ctrl-C): " + result.consoleUrl());
    }
    stdout.flush();
    if (result.serving() != null) {
      Serving.untilShutdown(result.serving(), "stepsize-demo-shutdown", err);
    }
    return 0;
  }

  /** The defaults of the chosen model, overridden by the flags given; a bad value is a usage error naming its flag. */
  DemoSettings settings() {
    DemoSettings d;
    try {
      d = DemoSettings.defaults(model);
      double top = lrMax != null ? lrMax : d.lrMax();
      d = new DemoSettings(model, or(steps, d.steps()), or(batchSize, d.batchSize()), or(momentum, d.momentum()),
          top, lrMin != null ? lrMin : top / 100, or(l2, d.l2()), or(hidden, d.hidden()),
          or(probeEvery, d.probeEvery()), or(lanczosSteps, d.lanczosSteps()), or(probeBatch, d.probeBatch()),
          or(phiScale, d.phiScale()), or(phiExponent, d.phiExponent()), or(fixedPhi, d.fixedPhi()),
          or(seed, d.seed()), or(estimateTimeout, d.estimateTimeoutMillis()));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "invalid " + e.getMessage());
    }
    return d;
  }

  /**
   * The embedded node logs its start and stop at INFO and Kafka Streams warns that the temporary
   * state directory is temporary; the demo tells its own story on stderr, so keep only real
   * problems. log4j-core is a runtime dependency, hence reflection; without it nothing changes.
   */
  private static void quietLogs() {
    try {
      Class<?> configurator = Class.forName("org.apache.logging.log4j.core.config.Configurator");
      Class<?> level = Class.forName("org.apache.logging.log4j.Level");
      var setLevel = configurator.getMethod("setLevel", String.class, level);
      setLevel.invoke(null, "io.stepsize", level.getField("WARN").get(null));
      setLevel.invoke(null, "org.apache.kafka.streams.processor.internals.StateDirectory", level.getField("ERROR").get(null));
    } catch (ReflectiveOperationException | LinkageError e) {
      // another logging backend: its own configuration decides
    }
  }

  private static <T> T or(T value, T fallback) {
    return value != null ? value : fallback;
  }
}
