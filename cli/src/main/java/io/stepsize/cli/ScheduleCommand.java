package io.stepsize.cli;

import io.stepsize.schedule.Baseline;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.schedule.LrValue;
import io.stepsize.schedule.PhiPolicy;
import io.stepsize.lab.plot.SchedulePlot;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.LongFunction;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stepsize schedule}: prints a UBA or baseline schedule as CSV (DESIGN.md §5.1) and
 * optionally plots several of them. Pure computation: no service, no broker.
 */
@Command(name = "schedule", mixinStandardHelpOptions = true,
    description = {
        "Prints a learning-rate schedule as CSV (step,lr,factor,phase), one row per step 0..T-1.",
        "UBA with --phi P, or a baseline with --baseline NAME (constant, step, cosine, linear, rex, "
            + "onecycle, cyclic, wsd, exponential). With --plot, --phi and --baseline may repeat: the "
            + "chart shows all of them, the CSV the first."})
public final class ScheduleCommand implements Callable<Integer> {

  /** Which flag a schedule field comes from, to name it in usage errors. */
  private static final Map<String, String> FLAG_OF_FIELD = Map.of(
      "total_steps", "--total-steps", "warmup_steps", "--warmup-steps",
      "phase_boundaries", "--boundaries", "phase_offset", "--phase-offset",
      "lr_max", "--lr-max", "lr_min", "--lr-min", "phi", "--phi", "baseline", "--baseline");

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--total-steps", required = true, paramLabel = "T", description = "Step budget T (>= 1).")
  long totalSteps;

  @Option(names = "--warmup-steps", defaultValue = "0", paramLabel = "W",
      description = "Linear warmup steps, reaching lr-max at step W-1 (default ${DEFAULT-VALUE}).")
  long warmupSteps;

  @Option(names = "--boundaries", split = ",", paramLabel = "B",
      description = "Phase ends B1,B2,...,BK: strictly increasing, above W, ending at T (default: one phase).")
  long[] boundaries = new long[0];

  @Option(names = "--phase-offset", defaultValue = "0", paramLabel = "0|1",
      description = "1 makes phase 1 rise (default ${DEFAULT-VALUE}).")
  int phaseOffset;

  @Option(names = "--lr-max", required = true, paramLabel = "X", description = "Peak learning rate.")
  double lrMax;

  @Option(names = "--lr-min", required = true, paramLabel = "Y", description = "Floor learning rate.")
  double lrMin;

  @Option(names = "--phi", paramLabel = "P", description = "UBA shape phi (> 0; 2 is cosine). May repeat with --plot.")
  List<Double> phis = new ArrayList<>();

  @Option(names = "--baseline", paramLabel = "NAME", description = "A baseline schedule by name. May repeat with --plot.")
  List<String> baselines = new ArrayList<>();

  @Option(names = "--plot", paramLabel = "FILE.png", description = "Also write a PNG chart of every schedule given.")
  File plot;

  @Option(names = "--plot-size", split = "x", defaultValue = "1000x600", paramLabel = "WxH", hideParamSyntax = true,
      description = "PNG size in pixels (default ${DEFAULT-VALUE}).")
  int[] plotSize;

  /** One schedule to print or plot: exactly one of phi and baseline is set. */
  private record Curve(Double phi, Baseline baseline) {
    String label() {
      return phi != null ? "UBA phi=" + phi : baseline.label();
    }

    /** The rate of each step on the job's budget, warmup and range. */
    LongFunction<LrValue> on(JobSchedule job) {
      if (baseline != null) {
        return s -> LrEvaluator.evaluate(job, baseline, s);
      }
      JobSchedule uba = new JobSchedule(job.budget(), job.lrMax(), job.lrMin(), job.groups(),
          new PhiPolicy.Fixed(phi), phi, 0);
      return s -> LrEvaluator.evaluate(uba, s, CurvatureTimeline.EMPTY);
    }
  }

  @Override
  public Integer call() {
    List<Curve> curves = curvesInCommandLineOrder();
    if (curves.isEmpty()) {
      throw usage("one of --phi or --baseline is required");
    }
    if (curves.size() > 1 && plot == null) {
      throw usage("--phi/--baseline: only one schedule without --plot (got " + curves.size() + ")");
    }
    if (plotSize.length != 2 || plotSize[0] < 100 || plotSize[1] < 100 || plotSize[0] > 10000 || plotSize[1] > 10000) {
      throw usage("--plot-size: must be WxH with 100 <= W, H <= 10000");
    }
    JobSchedule job;
    try {
      Budget budget = new Budget(totalSteps, warmupSteps, boundaries, phaseOffset);
      // the policy is replaced per curve; phi 1 only makes the job valid
      job = new JobSchedule(budget, lrMax, lrMin, List.of(), new PhiPolicy.Fixed(1), 1, 0);
      for (Curve c : curves) {
        if (c.phi() != null) {
          new PhiPolicy.Fixed(c.phi());
        }
      }
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }

    printCsv(job, curves.get(0));
    if (plot != null) {
      writePlot(job, curves);
    }
    return 0;
  }

  private void printCsv(JobSchedule job, Curve curve) {
    PrintWriter out = spec.commandLine().getOut();
    StringBuilder row = new StringBuilder(64);
    LongFunction<LrValue> rates = curve.on(job);
    out.print("step,lr,factor,phase\n");
    for (long s = 0; s < totalSteps; s++) {
      LrValue v = rates.apply(s);
      row.setLength(0);
      // Double.toString is the shortest decimal that reads back to the same double
      row.append(s).append(',').append(v.lr()).append(',').append(v.factor()).append(',').append(v.phase()).append('\n');
      out.print(row);
    }
    out.flush();
  }

  private void writePlot(JobSchedule job, List<Curve> curves) {
    SchedulePlot chart = new SchedulePlot("Learning rate over " + totalSteps + " steps");
    for (Curve c : curves) {
      LongFunction<LrValue> rates = c.on(job);
      chart.add(c.label(), totalSteps, s -> rates.apply(s).lr());
    }
    if (warmupSteps > 0) {
      chart.marker(warmupSteps);
    }
    for (int i = 0; i + 1 < boundaries.length; i++) {
      chart.marker(boundaries[i]);
    }
    try {
      chart.writePng(plot, plotSize[0], plotSize[1]);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + plot + ": " + e.getMessage(), e);
    }
  }

  /**
   * picocli keeps --phi and --baseline values in separate lists; "the CSV shows the first" needs
   * their order on the command line, so walk the original arguments.
   */
  private List<Curve> curvesInCommandLineOrder() {
    List<Curve> curves = new ArrayList<>();
    int nextPhi = 0;
    int nextBaseline = 0;
    // expanded: the arguments after picocli read any @file among them
    for (String arg : spec.commandLine().getParseResult().expandedArgs()) {
      if (arg.equals("--")) {
        break;
      }
      if ((arg.equals("--phi") || arg.startsWith("--phi=")) && nextPhi < phis.size()) {
        curves.add(new Curve(phis.get(nextPhi++), null));
      } else if ((arg.equals("--baseline") || arg.startsWith("--baseline=")) && nextBaseline < baselines.size()) {
        curves.add(new Curve(null, baseline(baselines.get(nextBaseline++))));
      }
    }
    return curves;
  }

  private Baseline baseline(String name) {
    try {
      return Baseline.byName(name);
    } catch (IllegalArgumentException e) {
      throw usage(e.getMessage());
    }
  }

  /** A usage error (exit 2): the schedule's message, prefixed by the flag it concerns. */
  private CommandLine.ParameterException usage(String message) {
    int colon = message.indexOf(':');
    String flag = colon > 0 ? FLAG_OF_FIELD.get(message.substring(0, colon)) : null;
    return new CommandLine.ParameterException(spec.commandLine(),
        flag == null ? message : "invalid " + flag + ": " + message);
  }
}
