package io.stepsize.bench;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.service.StepsizeNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * How long a revision takes to reach a second replica's answers (DESIGN.md §6: p99 ≤ 1 s). Two
 * StepsizeNode replicas share one broker: replica 1 (embedded, with the estimator, or the server at
 * {@code --target}) and replica 2, started here on replica 1's broker without an estimator, as
 * RevisionReplicaTest starts them. On a running job (a trainer's probes arrive at replica 1
 * throughout), each revision is made with ReviseJob on replica 1; then replica 2's GetLearningRate
 * for the revision's from_step is polled until it names the new revision. Both clocks are kept:
 * from ReviseJob's return (the record is on the topic) and from the call.
 */
@Command(name = "replica", mixinStandardHelpOptions = true,
    description = "ReviseJob on one replica until a second replica's GetLearningRate reports it.")
public final class ReplicaBench implements Callable<Integer> {
  @Option(names = "--target", description = "host:port of replica 1 (default: an embedded node)")
  String target;

  @Option(names = "--bootstrap-servers", description = "replica 1's Kafka (required with --target)")
  String bootstrapServers;

  @Option(names = "--revisions", defaultValue = "250", description = "revisions made (default ${DEFAULT-VALUE})")
  int revisions;

  @Option(names = "--gap-ms", defaultValue = "40",
      description = "mean pause between revisions, drawn uniformly from [gap/2, 3 gap/2] (default ${DEFAULT-VALUE})")
  long gapMs;

  @Option(names = "--poll-us", defaultValue = "100", description = "pause between polls of replica 2 (default ${DEFAULT-VALUE})")
  long pollUs;

  @Option(names = "--probes-per-s", defaultValue = "20",
      description = "the trainer's probes to replica 1 during the run (default ${DEFAULT-VALUE})")
  double probesPerS;

  /** Revisions start here, each this many steps after the last: ahead of the trainer's probes. */
  static final long FIRST_REVISION = 200_000;
  static final long REVISION_EVERY = 1_000;

  @Override
  public Integer call() throws Exception {
    if (target != null && bootstrapServers == null) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--bootstrap-servers: required with --target (replica 2 reads replica 1's topics)");
    }
    Path dir2 = Workloads.tempDir("replica2");
    try (BenchNode one = BenchNode.open(target, bootstrapServers)) {
      StepsizeNode two = StepsizeNode.start(StepsizeNode.Config.embedded(dir2)
          .withBootstrapServers(one.bootstrap()).withRunEstimator(false));
      try (StepsizeClient onOne = StepsizeClient.connect(one.target(), Duration.ofSeconds(30));
          StepsizeClient onTwo = StepsizeClient.connect(two.target(), Duration.ofSeconds(30))) {
        if (!two.awaitServing(Duration.ofSeconds(120))) {
          throw new IllegalStateException("replica 2 not SERVING after 120 s");
        }
        String jobId = "bench-replica-" + System.currentTimeMillis();
        JobSpec spec = HardestJob.spec(jobId);
        onOne.createJob(spec);
        List<ProbeReport> first = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
          first.add(Workloads.probe(Workloads.lanczos(20, 7_000 + i), jobId, HardestJob.probeStep(i)));
        }
        onOne.reportProbes(first);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!known(onTwo, jobId) || onTwo.curvature(jobId).getProbes() < first.size()) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("replica 2 has not seen " + jobId + " and its estimates after 60 s");
          }
          Thread.sleep(20);
        }
        GrpcBench.LiveProbes trainer = new GrpcBench.LiveProbes(one.target(), jobId, HardestJob.probeStep(first.size()),
            probesPerS);
        try {
          Result r = measure(onOne, onTwo, spec, jobId);
          long estimates = trainer.stop();
          boolean same = onTwo.getJob(jobId).equals(onOne.getJob(jobId));
          r.line(revisions, gapMs, pollUs).put("probes_during_run", estimates).put("replicas_agree", same)
              .print(System.out);
        } finally {
          trainer.stop();
        }
      } finally {
        two.close();
        Workloads.delete(dir2);
      }
    }
    return 0;
  }

  private static boolean known(StepsizeClient client, String jobId) {
    try {
      client.getJob(jobId);
      return true;
    } catch (io.grpc.StatusRuntimeException e) {
      return false;
    }
  }

  record Result(Histogram fromReturn, Histogram fromCall, Histogram call) {
    static double ms(Histogram h, double percentile) {
      return h.getValueAtPercentile(percentile) / 1e3;
    }

    BenchLine line(int revisions, long gapMs, long pollUs) {
      return new BenchLine("replica").put("revisions", revisions).put("gap_ms", gapMs).put("poll_us", pollUs)
          .put("return_p50_ms", ms(fromReturn, 50)).put("return_p99_ms", ms(fromReturn, 99))
          .put("return_max_ms", fromReturn.getMaxValue() / 1e3)
          .put("call_to_replica_p50_ms", ms(fromCall, 50)).put("call_to_replica_p99_ms", ms(fromCall, 99))
          .put("call_to_replica_max_ms", fromCall.getMaxValue() / 1e3)
          .put("revise_call_p50_ms", ms(call, 50)).put("revise_call_p99_ms", ms(call, 99))
          .put("revise_call_max_ms", call.getMaxValue() / 1e3)
          .put("target_met", ms(fromCall, 99) <= 1000 && ms(fromReturn, 99) <= 1000);
    }
  }

  /** The revisions, one at a time; latencies in µs. */
  private Result measure(StepsizeClient onOne, StepsizeClient onTwo, JobSpec spec, String jobId) {
    Histogram fromReturn = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    Histogram fromCall = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    Histogram call = new Histogram(TimeUnit.SECONDS.toMicros(60), 3);
    HardestJob.Reviser reviser = new HardestJob.Reviser(spec);
    Random random = new Random(13);
    for (int n = 1; n <= revisions; n++) {
      long from = FIRST_REVISION + n * REVISION_EVERY;
      var revision = reviser.next(from);
      long t0 = System.nanoTime();
      onOne.reviseJob(jobId, revision, OptionalLong.of(n - 1));
      long t1 = System.nanoTime();
      long polls = 0;
      while (onTwo.learningRate(jobId, from).getRevision() < n) {
        polls++;
        LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(pollUs));
        if (System.nanoTime() - t1 > TimeUnit.SECONDS.toNanos(60)) {
          throw new IllegalStateException("revision " + n + " not on replica 2 after 60 s");
        }
      }
      long t2 = System.nanoTime();
      fromReturn.recordValue(TimeUnit.NANOSECONDS.toMicros(t2 - t1));
      fromCall.recordValue(TimeUnit.NANOSECONDS.toMicros(t2 - t0));
      call.recordValue(TimeUnit.NANOSECONDS.toMicros(t1 - t0));
      if (n % 50 == 0) {
        System.err.printf("revision %d: on replica 2 %.1f ms after the return (%d polls), call %.1f ms%n", n,
            (t2 - t1) / 1e6, polls, (t1 - t0) / 1e6);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(gapMs / 2 + (long) (random.nextDouble() * gapMs)));
    }
    return new Result(fromReturn, fromCall, call);
  }
}
