package io.stepsize.lab.experiment;

import io.stepsize.schedule.LrEvaluator;

import io.stepsize.client.StepsizeClient;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.Source;
import io.stepsize.schedule.Budget;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.PhiPolicy;
import io.stepsize.lab.demo.CurvatureProbe;
import io.stepsize.lab.demo.Model;
import io.stepsize.lab.train.TrainingLoop;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Trains one run of the grid. A UBA arm is a service job: its rates come from GetLearningRates in
 * windows that end where the next probe's estimate applies, and after each probe the run waits
 * until the service shows that probe's estimate. So every rate is the one the service gives for
 * that step given all earlier probes (DESIGN.md §1.4's apply rule), independent of timing:
 * the same grid gives the same numbers on a fast or a loaded machine.
 */
final class RunExecutor {
  /** An estimate the estimator has not produced by then is a failure, not a reason to guess. */
  static final Duration ESTIMATE_TIMEOUT = Duration.ofSeconds(60);

  private final StepsizeClient client;
  private final int lanczosSteps;
  private final int probesPerRun;

  RunExecutor(StepsizeClient client, int lanczosSteps, int probesPerRun) {
    this.client = client;
    this.lanczosSteps = lanczosSteps;
    this.probesPerRun = probesPerRun;
  }

  /** Warmup shared by every arm: 5% of T, at least 2 steps so a probe before it can latch phi. */
  static long warmup(long totalSteps) {
    return Math.min(totalSteps - 1, Math.max(2, Math.round(0.05 * totalSteps)));
  }

  /**
   * Probe steps: 0 (the starting weights), W − 1 (the estimate that a latched phase 1 reads), then
   * every K = ceil((T − W)/probesPerRun) steps after it.
   */
  static long[] probeSteps(long totalSteps, long warmupSteps, int probesPerRun) {
    List<Long> steps = new ArrayList<>();
    steps.add(0L);
    long last = warmupSteps - 1;
    if (last > 0) {
      steps.add(last);
    }
    long every = Math.max(1, (totalSteps - warmupSteps + probesPerRun - 1) / probesPerRun);
    for (long s = Math.max(last, 0) + every; s < totalSteps; s += every) {
      steps.add(s);
    }
    return steps.stream().mapToLong(Long::longValue).toArray();
  }

  JobSpec jobSpec(Run.Spec spec) {
    JobSpec.Builder b = JobSpec.newBuilder().setJobId(spec.jobId()).setTotalSteps(spec.totalSteps())
        .setWarmupSteps(spec.warmupSteps()).setLrMax(spec.workload().lrMax(spec.optimizer())).setLrMin(0)
        .setOptimizer(spec.optimizer().proto()).setPhiPolicy(spec.arm().policy(spec.optimizer()));
    if (spec.arm().guarded()) {
      // momentum is left unset: its default 0.9 is this grid's SGD momentum and AdamW beta1 (OptimizerKind)
      b.setGuard(spec.arm().edgeGuard());
    }
    return b.build();
  }

  /**
   * The run's probe. The arm says where probes start: the gradient for edge=gradient_harmonic (λ_h
   * needs it), random for the others, as the first grid was measured (Arm's javadoc).
   */
  CurvatureProbe prober(Run.Spec spec, Model model) {
    return new CurvatureProbe(model, spec.workload().probeBatch(), lanczosSteps, spec.arm().start());
  }

  Run.Result run(Run.Spec spec) throws InterruptedException {
    long started = System.nanoTime();
    Workload w = spec.workload();
    Model model = w.model();
    long total = spec.totalSteps();
    boolean service = !spec.arm().isBaseline();
    // the baselines' job: same budget, warmup and peak as the UBA jobs (phi is not read by a baseline)
    JobSchedule local = JobSchedule.of(Budget.of(total, spec.warmupSteps()), w.lrMax(spec.optimizer()), 0,
        new PhiPolicy.Fixed(spec.optimizer().paperPhi()), io.stepsize.schedule.Optimizer.SGD);
    if (service) {
      client.createJob(jobSpec(spec));
    }
    Trace trace = new Trace(spec, service ? probeSteps(total, spec.warmupSteps(), probesPerRun) : new long[0],
        prober(spec, model));
    TrainingLoop.RateSource rates = service ? trace::served : s -> LrEvaluator.evaluate(local, spec.arm().baseline(), s).lr();
    TrainingLoop loop = new TrainingLoop(new TrainingLoop.Config(total, w.batchSize(), spec.seed(), true),
        w.train().size());
    TrainingLoop.Outcome outcome = loop.run(model.initialParameters(spec.seed()), model.objective(w.train()),
        spec.optimizer().create(model.dimension()), rates, trace::probe, trace::afterLoss);

    double[] params = outcome.params();
    boolean diverged = outcome.diverged();
    double trainLoss = Double.NaN;
    double testLoss = Double.NaN;
    double accuracy = Double.NaN;
    if (!diverged && TrainingLoop.allFinite(params)) {
      trainLoss = model.lossAndGradient(params, w.trainEval(), null);
      Model.Evaluation test = model.evaluate(params, w.test());
      testLoss = test.loss();
      accuracy = test.accuracy();
      diverged = !Double.isFinite(trainLoss) || !Double.isFinite(testLoss);
    } else {
      diverged = true;
    }
    long millis = (System.nanoTime() - started) / 1_000_000;
    return new Run.Result(spec, trace.lr, trace.phi, trace.kappa, trace.batchLoss, List.copyOf(trace.probeLog),
        trainLoss, testLoss, accuracy, diverged, outcome.stepsRun(), millis);
  }

  /** One Lanczos probe through ReportProbes, then waits until the service's estimate includes it. */
  private Run.Probe probe(Run.Spec spec, CurvatureProbe prober, double[] params, long step)
      throws InterruptedException {
    if (!TrainingLoop.allFinite(params)) {
      throw new IllegalStateException("weights not finite at probe step " + step);
    }
    LanczosResult result = prober.run(params, spec.seed() * 7_919L + step);
    RitzStats raw = RitzStats.of(result);
    client.reportProbes(List.of(result.toProbe(spec.jobId(), step, "experiment")));
    long deadline = System.nanoTime() + ESTIMATE_TIMEOUT.toNanos();
    long sleep = 2;
    while (true) {
      Curvature c = client.curvature(spec.jobId());
      if (c.getProbes() > 0 && c.getStep() >= step) {
        return new Run.Probe(step, raw, c.getLambdaMin(), c.getLambdaLow(), c.getLambdaMax(), c.getKappa(),
            c.getPhase());
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no curvature estimate for probe step " + step + " of job " + spec.jobId()
            + " within " + ESTIMATE_TIMEOUT.toSeconds() + " s: is the estimator running?");
      }
      Thread.sleep(sleep);
      sleep = Math.min(20, sleep * 2);
    }
  }


  /** What one run records step by step, and its service side: probes and windows of served rates. */
  private final class Trace {
    final Run.Spec spec;
    final long[] probes;
    final CurvatureProbe prober;
    final double[] lr;
    final double[] phi;
    final double[] kappa;
    final double[] batchLoss;
    final List<Run.Probe> probeLog = new ArrayList<>();
    int nextProbe;
    LearningRate[] window = new LearningRate[0];
    long windowFrom;
    long windowEnd;

    Trace(Run.Spec spec, long[] probes, CurvatureProbe prober) {
      this.spec = spec;
      this.probes = probes;
      this.prober = prober;
      int total = (int) spec.totalSteps();
      lr = new double[total];
      phi = new double[total];
      kappa = new double[total];
      batchLoss = new double[total];
      Arrays.fill(phi, Double.NaN);
      Arrays.fill(batchLoss, Double.NaN);
    }

    void probe(long step, double[] params) throws InterruptedException {
      if (nextProbe < probes.length && probes[nextProbe] == step) {
        probeLog.add(RunExecutor.this.probe(spec, prober, params, step));
        nextProbe++;
      }
    }

    /** The service's rate for a UBA arm, fetched in windows that end where the next probe's estimate applies. */
    double served(long s) {
      if (s >= windowEnd) {
        // rates up to the step the next probe's estimate applies from are final now
        long end = Math.min(spec.totalSteps(), (nextProbe < probes.length ? probes[nextProbe] : spec.totalSteps()) + 1);
        LearningRates got = client.learningRates(spec.jobId(), s, end - s);
        window = got.getRatesList().toArray(new LearningRate[0]);
        windowFrom = s;
        windowEnd = s + window.length;
        if (window.length == 0 || window[0].getStep() != s) {
          throw new IllegalStateException("service answered no rate for step " + s + " of " + spec.jobId());
        }
      }
      LearningRate answer = window[(int) (s - windowFrom)];
      if (answer.getSource() != Source.SOURCE_WARMUP) {
        phi[(int) s] = answer.getPhi();
      }
      kappa[(int) s] = answer.getKappa();
      return answer.getLr();
    }

    void afterLoss(long s, double rate, double loss) {
      lr[(int) s] = rate;
      batchLoss[(int) s] = loss;
    }
  }
}
