package io.stepsize.bench;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthGrpc;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.StepsizeGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Closed-loop load over loopback: N callers, each sending its next request as soon as the last one
 * answered, against one server. GetLearningRate, grpc.health.v1.Health/Check and GetLearningRates
 * windows take turns in interleaved rounds (the order alternates), so background noise on a shared
 * machine hits all three alike and the ratios stay meaningful. Latency is recorded per call in
 * HdrHistogram (ns, three significant digits).
 */
@Command(name = "grpc", mixinStandardHelpOptions = true,
    description = "GetLearningRate against Health/Check on one server, closed loop, interleaved rounds.")
public final class GrpcBench implements Callable<Integer> {
  enum Op { LR, HEALTH, WINDOW }

  @Option(names = "--target", description = "host:port of a running server (default: an embedded node)")
  String target;

  @Option(names = "--callers", defaultValue = "4", description = "concurrent callers (default ${DEFAULT-VALUE})")
  int callers;

  @Option(names = "--rounds", defaultValue = "6", description = "rounds per operation (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--round-ms", defaultValue = "2000", description = "length of a round (default ${DEFAULT-VALUE})")
  long roundMs;

  @Option(names = "--warmup-ms", defaultValue = "3000", description = "warmup per operation (default ${DEFAULT-VALUE})")
  long warmupMs;

  @Option(names = "--window", defaultValue = "1000", description = "GetLearningRates count (default ${DEFAULT-VALUE})")
  int window;

  @Option(names = "--channels", defaultValue = "1",
      description = "channels (HTTP/2 connections) the callers share round-robin (default ${DEFAULT-VALUE})")
  int channels;

  static final long TOTAL_STEPS = 1_000_000;
  static final long FIRST_STEP = 1_000;

  @Override
  public Integer call() throws Exception {
    try (BenchNode server = BenchNode.open(target)) {
      String jobId = "bench-grpc-" + System.currentTimeMillis();
      try (StepsizeClient setup = StepsizeClient.connect(server.target(), Duration.ofSeconds(30))) {
        JobSpec spec = Workloads.conditionNumberJob(jobId, TOTAL_STEPS);
        BenchNode.createWithCurvature(setup, spec, 5);
      }
      List<ManagedChannel> chans = new ArrayList<>();
      for (int i = 0; i < channels; i++) {
        chans.add(ManagedChannelBuilder.forTarget(server.target()).usePlaintext().build());
      }
      ExecutorService pool = Executors.newFixedThreadPool(callers);
      try {
        Result r = run(chans, pool, jobId);
        r.line(callers, rounds, window).print(System.out);
      } finally {
        pool.shutdownNow();
        for (ManagedChannel c : chans) {
          c.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
        }
      }
    }
    return 0;
  }

  private Result run(List<ManagedChannel> chans, ExecutorService pool, String jobId) throws Exception {
    for (Op op : Op.values()) {
      round(op, chans, pool, jobId, warmupMs, 0);
    }
    Map<Op, Histogram> total = new EnumMap<>(Op.class);
    Map<Op, Long> nanos = new EnumMap<>(Op.class);
    for (Op op : Op.values()) {
      total.put(op, histogram());
      nanos.put(op, 0L);
    }
    double[] p50Ratios = new double[rounds];
    for (int r = 0; r < rounds; r++) {
      Op[] order = r % 2 == 0 ? new Op[] {Op.LR, Op.HEALTH, Op.WINDOW} : new Op[] {Op.HEALTH, Op.WINDOW, Op.LR};
      Map<Op, Histogram> thisRound = new EnumMap<>(Op.class);
      for (Op op : order) {
        Round rr = round(op, chans, pool, jobId, roundMs, r + 1);
        total.get(op).add(rr.histogram);
        nanos.put(op, nanos.get(op) + rr.elapsedNanos);
        thisRound.put(op, rr.histogram);
      }
      p50Ratios[r] = (double) thisRound.get(Op.LR).getValueAtPercentile(50)
          / thisRound.get(Op.HEALTH).getValueAtPercentile(50);
      System.err.printf("round %d: GetLearningRate p50 %.1f us, Health/Check p50 %.1f us (ratio %.3f)%n", r + 1,
          thisRound.get(Op.LR).getValueAtPercentile(50) / 1e3, thisRound.get(Op.HEALTH).getValueAtPercentile(50) / 1e3,
          p50Ratios[r]);
    }
    return new Result(total, nanos, p50Ratios);
  }

  record Round(Histogram histogram, long elapsedNanos) {}

  private Round round(Op op, List<ManagedChannel> chans, ExecutorService pool, String jobId, long ms, int seed)
      throws Exception {
    List<Future<Histogram>> futures = new ArrayList<>();
    long start = System.nanoTime();
    long end = start + TimeUnit.MILLISECONDS.toNanos(ms);
    for (int c = 0; c < callers; c++) {
      ManagedChannel ch = chans.get(c % chans.size());
      long offset = FIRST_STEP + (seed * 7919L + c * 104_729L) % (TOTAL_STEPS / 2);
      futures.add(pool.submit(() -> caller(op, ch, jobId, offset, end)));
    }
    Histogram h = histogram();
    for (Future<Histogram> f : futures) {
      h.add(f.get());
    }
    return new Round(h, System.nanoTime() - start);
  }

  /** One caller's closed loop until {@code endNanos}: request, wait for the answer, record, repeat. */
  private Histogram caller(Op op, ManagedChannel ch, String jobId, long firstStep, long endNanos) {
    Histogram h = histogram();
    var stepsize = StepsizeGrpc.newBlockingStub(ch);
    var health = HealthGrpc.newBlockingStub(ch);
    HealthCheckRequest healthRequest = HealthCheckRequest.getDefaultInstance();
    long step = firstStep;
    long t = System.nanoTime();
    while (t < endNanos) {
      switch (op) {
        case LR -> stepsize.getLearningRate(GetLearningRateRequest.newBuilder().setJobId(jobId).setStep(step).build());
        case HEALTH -> health.check(healthRequest);
        case WINDOW -> stepsize.getLearningRates(GetLearningRatesRequest.newBuilder().setJobId(jobId)
            .setFromStep(step).setCount(window).build());
      }
      long t1 = System.nanoTime();
      h.recordValue(t1 - t);
      t = t1;
      step += op == Op.WINDOW ? window : 1;
      if (step + window >= TOTAL_STEPS) {
        step = FIRST_STEP;
      }
    }
    return h;
  }

  static Histogram histogram() {
    return new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
  }

  record Result(Map<Op, Histogram> hist, Map<Op, Long> nanos, double[] p50Ratios) {
    double qps(Op op) {
      return hist.get(op).getTotalCount() / (nanos.get(op) / 1e9);
    }

    double us(Op op, double percentile) {
      return hist.get(op).getValueAtPercentile(percentile) / 1e3;
    }

    BenchLine line(int callers, int rounds, int window) {
      double rp50 = us(Op.LR, 50) / us(Op.HEALTH, 50);
      double rp99 = us(Op.LR, 99) / us(Op.HEALTH, 99);
      double rp999 = us(Op.LR, 99.9) / us(Op.HEALTH, 99.9);
      double rqps = qps(Op.LR) / qps(Op.HEALTH);
      double windowNsPerStep = us(Op.WINDOW, 50) * 1e3 / window;
      double minR = Double.MAX_VALUE;
      double maxR = 0;
      for (double r : p50Ratios) {
        minR = Math.min(minR, r);
        maxR = Math.max(maxR, r);
      }
      return new BenchLine("grpc").put("callers", callers).put("rounds", rounds)
          .put("lr_qps", qps(Op.LR)).put("lr_p50_us", us(Op.LR, 50)).put("lr_p99_us", us(Op.LR, 99))
          .put("lr_p999_us", us(Op.LR, 99.9))
          .put("health_qps", qps(Op.HEALTH)).put("health_p50_us", us(Op.HEALTH, 50))
          .put("health_p99_us", us(Op.HEALTH, 99)).put("health_p999_us", us(Op.HEALTH, 99.9))
          .put("ratio_p50", rp50).put("ratio_p99", rp99).put("ratio_p999", rp999).put("ratio_qps", rqps)
          .put("round_ratio_p50_min", minR).put("round_ratio_p50_max", maxR)
          .put("window", window).put("window_qps", qps(Op.WINDOW)).put("window_p50_us", us(Op.WINDOW, 50))
          .put("window_p99_us", us(Op.WINDOW, 99)).put("window_ns_per_step", windowNsPerStep)
          .put("window_steps_per_s", qps(Op.WINDOW) * window)
          .put("target_met", rp50 <= 1.2 && rp99 <= 1.2 && rqps >= 0.8);
    }
  }
}
