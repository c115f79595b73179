package io.stepsize.lab.demo;

import io.stepsize.client.GrpcProbePublisher;
import io.stepsize.client.ProbePublisher;
import io.stepsize.client.RemoteSchedule;
import io.stepsize.client.StepsizeClient;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.estimator.math.LowerEdge;
import io.stepsize.estimator.math.LowerEdgeSettings;
import io.stepsize.estimator.math.RitzSpectrum;
import io.stepsize.lab.train.TrainingLoop;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.wire.JobSpecs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Trains with every learning rate taken from a Stepsize service over gRPC under the
 * {@code condition_number} policy in {@code continuous} mode (DESIGN.md §1.6: a new estimate re-plans
 * the rest of the phase from the current value, so the curve has no jumps): CreateJob, then per step
 * {@link RemoteSchedule#value}, and every {@code probeEvery} steps a Lanczos probe at the current
 * weights, started at the probe batch's gradient (DESIGN.md §1.7), sent with ReportProbes. Every step's batch
 * loss and gradient norm go to the service too (gradient statistics, a few steps per ReportProbes call), so
 * the console shows the loss. At half the budget the run extends its budget by 50% with
 * ReviseJob (§1.5), as a person would who sees the loss still falling, and trains on to the new end.
 *
 * <p>The estimator is asynchronous: a probe of step p reaches the service's view some hundred
 * milliseconds after ReportProbes, while SGD on digits takes microseconds a step. Were the trainer
 * not to wait, the step an estimate first shows up in would depend on the machine's speed. So the
 * first step the estimate applies to (p + apply_delay_steps) waits until the client has seen it,
 * and its answer is checked against the schedule library on the client's timeline; the run is then
 * the one DESIGN.md §1.4 defines: each step's rate is a function of the step and the probes before it.
 */
public final class LiveRun {
  /** The worker id of the demo's probes (one trainer, no data parallelism). */
  public static final String WORKER = "demo-trainer";
  /** The reason of the run's revision, as GetJob lists it and the lr chart labels it. */
  public static final String REVISION_REASON = "halfway and the loss still falls: extend the budget by 50%";
  private static final Duration REVISION_TIMEOUT = Duration.ofSeconds(30);
  /** Steps of gradient statistics per ReportProbes call: one call per step would double the run's calls. */
  static final int STATS_BATCH = 25;
  /**
   * How long the run waits at the end for the service's statistics to show its last step: the estimator
   * writes a job's statistics at most once a second (GradientStatsProcessor), so a few seconds always do.
   */
  private static final Duration STATS_TIMEOUT = Duration.ofSeconds(10);

  private LiveRun() {}

  /** The job the live run creates: the settings' budget and range, condition_number in continuous mode, SGD. */
  public static JobSpec jobSpec(DemoSettings settings, String jobId) {
    return JobSpec.newBuilder()
        .setJobId(jobId)
        .setTotalSteps(settings.steps())
        .setLrMax(settings.lrMax())
        .setLrMin(settings.lrMin())
        .setOptimizer(Optimizer.OPTIMIZER_SGD)
        .setApplyDelaySteps(JobSchedule.DEFAULT_APPLY_DELAY_STEPS)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.newBuilder()
            .setScale(settings.phiScale()).setExponent(settings.phiExponent())
            .setMode(io.stepsize.proto.v1.PhiMode.PHI_MODE_CONTINUOUS)))
        .build();
  }

  /**
   * Runs the whole budget against the service at {@code target} ("host:port"): the settings' steps,
   * revised at {@link DemoSettings#revisionStep()} to {@link DemoSettings#revisedSteps()}.
   */
  public static LiveTrace run(DemoSettings settings, Dataset.Split split, String target, String jobId,
      Progress progress) {
    Model model = settings.newModel();
    CurvatureProbe probe = new CurvatureProbe(model, split.train().probeBatch(settings.probeBatch(), settings.seed()),
        settings.lanczosSteps());
    JobSpec spec = jobSpec(settings, jobId);
    JobSchedule schedule = JobSpecs.toSchedule(spec);
    int steps = (int) settings.revisedSteps();
    try (StepsizeClient client = StepsizeClient.connect(target, Duration.ofSeconds(10));
        ProbePublisher publisher = new GrpcProbePublisher(client)) {
      client.createJob(spec);
      try (RemoteSchedule remote = RemoteSchedule.open(client, spec, RemoteSchedule.Options.defaults())) {
        Loop loop = new Loop(settings, spec, schedule, client, remote, publisher, probe, progress, steps);
        progress.start("training " + model.name() + " under condition_number (lr from Stepsize)", steps);
        double[] params = DemoRun.train(settings.withSteps(steps, settings.probeEvery()), model, split.train(),
            loop::lr, loop, loop);
        if (loop.pendingStep >= 0) {
          loop.awaitEstimate(); // a probe whose estimate would apply past the budget: still record it
        }
        loop.flushStats();
        List<io.stepsize.proto.v1.GradientStatsPoint> stats = awaitStats(client, spec.getJobId(), steps - 1);
        RunResult result = RunResult.score("UBA, phi from kappa (Stepsize)", model, split, params,
            loop.lrUsed, loop.batchLoss);
        progress.finish(String.format(Locale.ROOT, "%d probes; estimates reached the trainer after %.0f ms (median)",
            loop.probes.size(), loop.medianWaitMillis()));
        // the points carry what the client's timeline does not: λ_h and the edge ratio of each estimate
        List<io.stepsize.proto.v1.CurvaturePoint> points = client.curvature(spec.getJobId()).getTimelineList();
        return new LiveTrace(spec, result, loop.served, List.copyOf(loop.probes), remote.timeline(),
            remote.remoteAnswers(), remote.localAnswers(), loop.lateEstimates, loop.revisions, List.copyOf(points),
            stats);
      }
    }
  }

  /** The job's gradient statistics once they reach {@code lastStep}, or as they are after {@link #STATS_TIMEOUT}. */
  private static List<io.stepsize.proto.v1.GradientStatsPoint> awaitStats(StepsizeClient client, String jobId,
      long lastStep) {
    long end = System.nanoTime() + STATS_TIMEOUT.toNanos();
    while (true) {
      List<io.stepsize.proto.v1.GradientStatsPoint> points = client.gradientStats(jobId).getPointsList();
      boolean complete = !points.isEmpty() && points.get(points.size() - 1).getStep() >= lastStep;
      if (complete || System.nanoTime() - end > 0) {
        return List.copyOf(points);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return List.copyOf(points);
      }
    }
  }

  /** The per-step state of the live run; runs on the training thread only. */
  private static final class Loop implements TrainingLoop.ProbeHook, TrainingLoop.StepObserver {
    final DemoSettings settings;
    final JobSpec spec;
    final JobSchedule schedule;
    final StepsizeClient client;
    final RemoteSchedule remote;
    final ProbePublisher publisher;
    final CurvatureProbe probe;
    final Progress progress;
    final LearningRate[] served;
    final double[] lrUsed;
    final double[] batchLoss;
    final List<LiveTrace.ProbeRecord> probes = new ArrayList<>();
    long pendingStep = -1;
    long pendingSince;
    LanczosResult pendingResult;
    int lateEstimates;
    List<io.stepsize.proto.v1.Revision> revisions = List.of();
    final List<io.stepsize.proto.v1.ProbeReport> statsBatch = new ArrayList<>(STATS_BATCH);

    Loop(DemoSettings settings, JobSpec spec, JobSchedule schedule, StepsizeClient client, RemoteSchedule remote,
        ProbePublisher publisher, CurvatureProbe probe, Progress progress, int steps) {
      this.settings = settings;
      this.spec = spec;
      this.schedule = schedule;
      this.client = client;
      this.remote = remote;
      this.publisher = publisher;
      this.probe = probe;
      this.progress = progress;
      this.served = new LearningRate[steps];
      this.lrUsed = new double[steps];
      this.batchLoss = new double[steps];
    }

    @Override
    public void beforeStep(long step, double[] params) {
      if (!settings.probesAt(step)) {
        return;
      }
      if (pendingStep >= 0) {
        // the previous estimate never applied (apply delay longer than the probe interval)
        awaitEstimate();
      }
      // from the probe batch's gradient; the seed's start vector only if that gradient is zero
      LanczosResult result = probe.run(params, settings.seed() * 1_000_003L + step);
      publisher.publishLanczos(spec.getJobId(), step, WORKER, result);
      pendingStep = step;
      pendingSince = System.nanoTime();
      pendingResult = result;
    }

    /** The service's rate for the step, once every estimate that applies to it has reached the client. */
    double lr(long step) {
      if (pendingStep >= 0 && schedule.appliesFrom(pendingStep) <= step) {
        awaitEstimate();
      }
      if (step == settings.revisionStep() && revisions.isEmpty()) {
        revise(step);
      }
      // RemoteSchedule drops windows older than an estimate before it publishes the estimate, so
      // once awaitEstimate has seen it, this answer includes it
      LearningRate answer = remote.value(step);
      served[(int) step] = answer;
      return answer.getLr();
    }

    /**
     * Extends the budget from this step on, then waits until the client's schedule knows the revision:
     * rates it prefetched for steps from here on were planned for the old budget.
     */
    void revise(long step) {
      io.stepsize.proto.v1.Job job = client.reviseJob(spec.getJobId(), io.stepsize.proto.v1.Revision.newBuilder()
          .setFromStep(step).setTotalSteps(settings.revisedSteps()).setReason(REVISION_REASON).build(),
          java.util.OptionalLong.of(0));
      revisions = List.copyOf(job.getRevisionsList());
      progress.note(String.format(Locale.ROOT, "revision %d at step %d: total_steps %d -> %d (%s)",
          revisions.get(revisions.size() - 1).getNumber(), step, settings.steps(), job.getTotalSteps(),
          REVISION_REASON));
      // unlike a late estimate, a missed revision is not a smaller answer but a wrong one (the old
      // budget's rates), so this waits whatever --estimate-timeout says; the watch pushes it in milliseconds
      long end = System.nanoTime() + REVISION_TIMEOUT.toNanos();
      while (remote.revisions() < revisions.size()) {
        if (System.nanoTime() - end > 0) {
          throw new IllegalStateException("the revision of job " + spec.getJobId() + " did not reach the trainer's "
              + "schedule within " + REVISION_TIMEOUT.toSeconds() + " s");
        }
        try {
          Thread.sleep(1);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the revision", e);
        }
      }
    }

    void awaitEstimate() {
      long left = pendingSince + settings.estimateTimeoutMillis() * 1_000_000L - System.nanoTime();
      boolean seen;
      try {
        seen = remote.awaitEstimate(pendingStep, Duration.ofNanos(Math.max(0, left)));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        seen = false;
      }
      if (!seen) {
        lateEstimates++;
        progress.note("estimate of the probe at step " + pendingStep + " not seen within "
            + settings.estimateTimeoutMillis() + " ms; continuing with the last one");
      }
      RitzSpectrum ritz = RitzSpectrum.of(pendingResult.alpha(), pendingResult.beta());
      double low = LowerEdge.lambdaLow(ritz, LowerEdgeSettings.from(JobSpecs.lowerEdgeSettings(spec)));
      probes.add(new LiveTrace.ProbeRecord(pendingStep, pendingResult.steps(), ritz.lambdaMax(), ritz.lambdaMin(), low,
          (System.nanoTime() - pendingSince) / 1e6, pendingResult.start(), pendingResult.alpha()[0]));
      pendingStep = -1;
      pendingResult = null;
    }

    @Override
    public void afterLoss(long step, double lr, double loss) {
      lrUsed[(int) step] = lr;
      batchLoss[(int) step] = loss;
      LearningRate a = served[(int) step];
      progress.update(step + 1, String.format(Locale.ROOT, "lr=%.4g phi=%.4g kappa=%s loss=%.4f",
          lr, a.getPhi(), a.getKappa() > 0 ? String.format(Locale.ROOT, "%.4g", a.getKappa()) : "-", loss));
    }

    @Override
    public void afterGradient(long step, double batchLoss, double[] gradient) {
      double sum = 0;
      for (double g : gradient) {
        sum += g * g;
      }
      io.stepsize.proto.v1.GradientStats stats = io.stepsize.proto.v1.GradientStats.newBuilder().setLoss(batchLoss)
          .setGradNorm(Math.sqrt(sum)).build();
      if (io.stepsize.wire.ProbeValidation.violation(stats).isPresent()) {
        return; // a diverged step (ReportProbes would refuse it); the run's own table shows the divergence
      }
      statsBatch.add(io.stepsize.proto.v1.ProbeReport.newBuilder().setJobId(spec.getJobId()).setStep(step)
          .setWorkerId(WORKER).setGradient(stats).build());
      if (statsBatch.size() == STATS_BATCH) {
        flushStats();
      }
    }

    void flushStats() {
      if (!statsBatch.isEmpty()) {
        publisher.publish(List.copyOf(statsBatch));
        statsBatch.clear();
      }
    }

    double medianWaitMillis() {
      if (probes.isEmpty()) {
        return 0;
      }
      double[] w = probes.stream().mapToDouble(LiveTrace.ProbeRecord::visibleAfterMillis).sorted().toArray();
      return w[w.length / 2];
    }
  }
}
