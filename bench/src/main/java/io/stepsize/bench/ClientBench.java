package io.stepsize.bench;

import io.stepsize.client.RemoteSchedule;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.wire.JobSpecs;
import java.time.Duration;
import io.stepsize.lab.experiment.Summary;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What a trainer pays per step for asking the service instead of computing the schedule itself:
 * {@link RemoteSchedule#lr(long)} against {@link LrEvaluator#evaluate} with the same job and the
 * same curvature timeline, in interleaved rounds.
 *
 * <p>Two regimes. <b>Paced</b>: between steps the caller spends {@code --work-us} as a trainer's
 * forward/backward pass would (real steps take milliseconds; the default is far less), and
 * only the time inside the call is counted; this is the cost "amortized by prefetch" of DESIGN.md §6.
 * <b>Tight</b>: back-to-back calls with no work, the worst case where the caller outruns the
 * prefetch and waits for windows on its own thread.
 */
@Command(name = "client", mixinStandardHelpOptions = true,
    description = "Java RemoteSchedule.lr(step) against the local schedule formula, ns per step.")
public final class ClientBench implements Callable<Integer> {
  @Option(names = "--target", description = "host:port of a running server (default: an embedded node)")
  String target;

  @Option(names = "--steps", defaultValue = "200000", description = "steps per tight pass (default ${DEFAULT-VALUE})")
  int steps;

  @Option(names = "--paced-steps", defaultValue = "10000",
      description = "steps per paced pass (default ${DEFAULT-VALUE})")
  int pacedSteps;

  @Option(names = "--work-us", defaultValue = "200",
      description = "the trainer's own time per paced step (default ${DEFAULT-VALUE}; real steps take milliseconds)")
  int workUs;

  /** How the trainer spends its step: waiting for an accelerator (sleep) or computing on this CPU (spin). */
  enum Work { SLEEP, SPIN }

  @Option(names = "--work", defaultValue = "SLEEP", description = "SLEEP or SPIN (default ${DEFAULT-VALUE})")
  Work workMode;

  @Option(names = "--rounds", defaultValue = "5", description = "rounds per regime (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--window", defaultValue = "1000", description = "RemoteSchedule window (default ${DEFAULT-VALUE})")
  int window;

  private static volatile double sink;
  /** Next step of each path: both walk forward through the job like a trainer, never back to 0. */
  private long remoteStep = 1;
  private long localStep = 1;

  @Override
  public Integer call() throws Exception {
    // both paths walk the job once: warmup and rounds of both regimes, plus slack
    long total = (rounds + 3L) * (steps + pacedSteps) + 10_000L;
    try (BenchNode server = BenchNode.open(target);
        StepsizeClient client = StepsizeClient.connect(server.target(), Duration.ofSeconds(2))) {
      JobSpec spec = Workloads.conditionNumberJob("bench-client-" + System.currentTimeMillis(), total);
      BenchNode.createWithCurvature(client, spec, 5);
      JobSchedule schedule = JobSpecs.toSchedule(spec);
      try (RemoteSchedule remote = RemoteSchedule.open(client, spec,
          new RemoteSchedule.Options(window, Duration.ofSeconds(2)))) {
        CurvatureTimeline timeline = remote.timeline();
        // the two paths must agree, or the comparison means nothing: the service's answer for sampled
        // steps against the local formula with the timeline the client holds
        long mismatches = 0;
        for (long s = 0; s < total; s += total / 200) {
          if (client.learningRate(spec.getJobId(), s).getLr() != LrEvaluator.evaluate(schedule, s, timeline).lr()) {
            mismatches++;
          }
        }
        // first window: fetched on the caller's thread once, when the trainer starts
        long f0 = System.nanoTime();
        sink = remote.lr(0);
        double firstFetchUs = (System.nanoTime() - f0) / 1e3;
        // warmup: JIT both paths in both regimes
        for (int i = 0; i < 2; i++) {
          tightLocal(schedule, timeline);
          tightRemote(remote);
          paced(null, schedule, timeline, Math.min(pacedSteps, 2_000));
          paced(remote, null, null, Math.min(pacedSteps, 2_000));
        }
        double[] tl = new double[rounds];
        double[] tr = new double[rounds];
        double[] pl = new double[rounds];
        double[] pr = new double[rounds];
        Histogram pacedRemote = GrpcBench.histogram();
        Histogram pacedLocal = GrpcBench.histogram();
        for (int r = 0; r < rounds; r++) {
          if (r % 2 == 0) {
            tl[r] = tightLocal(schedule, timeline);
            tr[r] = tightRemote(remote);
          } else {
            tr[r] = tightRemote(remote);
            tl[r] = tightLocal(schedule, timeline);
          }
          Histogram hl;
          Histogram hr;
          if (r % 2 == 0) {
            hl = paced(null, schedule, timeline, pacedSteps);
            hr = paced(remote, null, null, pacedSteps);
          } else {
            hr = paced(remote, null, null, pacedSteps);
            hl = paced(null, schedule, timeline, pacedSteps);
          }
          pl[r] = hl.getMean();
          pr[r] = hr.getMean();
          pacedLocal.add(hl);
          pacedRemote.add(hr);
          System.err.printf("round %d: tight local %.1f ns/step, remote %.1f; paced local %.1f, remote %.1f%n",
              r + 1, tl[r], tr[r], pl[r], pr[r]);
        }
        double tightRatio = Summary.median(tr) / Summary.median(tl);
        double pacedRatio = Summary.median(pr) / Summary.median(pl);
        new BenchLine("client").put("lang", "java").put("window", window).put("steps", steps)
            .put("paced_steps", pacedSteps).put("work_us", workUs).put("work", workMode.name().toLowerCase(java.util.Locale.ROOT)).put("rounds", rounds)
            .put("paced_local_ns_per_step", Summary.median(pl)).put("paced_remote_ns_per_step", Summary.median(pr))
            .put("paced_ratio", pacedRatio)
            .put("paced_remote_p50_ns", (double) pacedRemote.getValueAtPercentile(50))
            .put("paced_remote_p999_ns", (double) pacedRemote.getValueAtPercentile(99.9))
            .put("paced_remote_max_us", pacedRemote.getMaxValue() / 1e3)
            .put("paced_local_p50_ns", (double) pacedLocal.getValueAtPercentile(50))
            .put("tight_local_ns_per_step", Summary.median(tl)).put("tight_remote_ns_per_step", Summary.median(tr))
            .put("tight_ratio", tightRatio).put("first_fetch_us", firstFetchUs)
            .put("remote_answers", remote.remoteAnswers()).put("local_answers", remote.localAnswers())
            .put("mismatches", mismatches)
            .put("target_met", pacedRatio <= 2.0 && mismatches == 0).print(System.out);
      }
    }
    return 0;
  }

  private double tightLocal(JobSchedule schedule, CurvatureTimeline timeline) {
    double acc = 0;
    long from = localStep;
    long end = from + steps;
    long t0 = System.nanoTime();
    for (long s = from; s < end; s++) {
      acc += LrEvaluator.evaluate(schedule, s, timeline).lr();
    }
    long t1 = System.nanoTime();
    localStep = end;
    sink = acc;
    return (double) (t1 - t0) / steps;
  }

  private double tightRemote(RemoteSchedule remote) {
    double acc = 0;
    long from = remoteStep;
    long end = from + steps;
    long t0 = System.nanoTime();
    for (long s = from; s < end; s++) {
      acc += remote.lr(s);
    }
    long t1 = System.nanoTime();
    remoteStep = end;
    sink = acc;
    return (double) (t1 - t0) / steps;
  }

  /** Busy work between steps, and only the call itself timed (either remote, or local with schedule). */
  private Histogram paced(RemoteSchedule remote, JobSchedule schedule, CurvatureTimeline timeline, int n) {
    Histogram h = GrpcBench.histogram();
    double acc = 0;
    long work = TimeUnit.MICROSECONDS.toNanos(workUs);
    long from = remote != null ? remoteStep : localStep;
    for (long s = from; s < from + n; s++) {
      long t0 = System.nanoTime();
      acc += remote != null ? remote.lr(s) : LrEvaluator.evaluate(schedule, s, timeline).lr();
      long t1 = System.nanoTime();
      h.recordValue(t1 - t0);
      if (workMode == Work.SLEEP) {
        LockSupport.parkNanos(work); // the trainer waits for its accelerator
      } else {
        while (System.nanoTime() - t1 < work) {
          acc += 1e-300; // the trainer computes on this CPU
        }
      }
    }
    if (remote != null) {
      remoteStep = from + n;
    } else {
      localStep = from + n;
    }
    sink = acc;
    return h;
  }
}
