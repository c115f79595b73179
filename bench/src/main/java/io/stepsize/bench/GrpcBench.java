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
 * HdrHistogram (ns, three significant digits). With {@code --job hardest} the job asked is
 * {@link HardestJob} and today's job of BENCHMARKS.md §1 takes a fourth turn in the same rounds,
 * so what revisions and a full timeline add is a ratio of the same run (BENCHMARKS.md §8.1).
 */
@Command(name = "grpc", mixinStandardHelpOptions = true,
    description = "GetLearningRate against Health/Check on one server, closed loop, interleaved rounds.")
public final class GrpcBench implements Callable<Integer> {
  /** LR and WINDOW ask the job under test; LR_PLAIN asks today's job of §1 (only with {@code --job hardest}). */
  enum Op { LR, HEALTH, WINDOW, LR_PLAIN }

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

  @Option(names = "--job", defaultValue = "condition-number",
      description = "the job asked: condition-number (5 estimates, §1) or hardest (continuous mode, --revisions"
          + " revisions, a --points timeline; today's job is then measured in the same rounds) (default ${DEFAULT-VALUE})")
  String job;

  @Option(names = "--revisions", defaultValue = "100", description = "revisions of the hardest job (default ${DEFAULT-VALUE})")
  int revisions;

  @Option(names = "--points", defaultValue = "4096", description = "estimates of the hardest job (default ${DEFAULT-VALUE})")
  int points;

  @Option(names = "--live-probes-per-s", defaultValue = "0",
      description = "with --job hardest: probes per second reported to it during the rounds, so its timeline"
          + " changes under load as a trainer's does (default ${DEFAULT-VALUE})")
  double liveProbesPerS;

  static final long TOTAL_STEPS = 1_000_000;
  static final long FIRST_STEP = 1_000;

  private boolean hardest() {
    return switch (job) {
      case "condition-number" -> false;
      case "hardest" -> true;
      default -> throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--job: must be condition-number or hardest (got " + job + ")");
    };
  }

  @Override
  public Integer call() throws Exception {
    boolean hard = hardest();
    try (BenchNode server = BenchNode.open(target)) {
      String jobId = "bench-grpc-" + System.currentTimeMillis();
      String plainId = jobId + "-plain";
      LiveProbes live = null;
      try (StepsizeClient setup = StepsizeClient.connect(server.target(), Duration.ofSeconds(30))) {
        if (hard) {
          long t0 = System.nanoTime();
          var made = HardestJob.create(setup, jobId, revisions, points);
          System.err.printf("hardest job: %d revisions, %d estimates, built in %.1f s%n", made.getRevisionsCount(),
              setup.curvature(jobId).getTimelineCount(), (System.nanoTime() - t0) / 1e9);
          BenchNode.createWithCurvature(setup, Workloads.conditionNumberJob(plainId, TOTAL_STEPS), 5);
        } else {
          JobSpec spec = Workloads.conditionNumberJob(jobId, TOTAL_STEPS);
          BenchNode.createWithCurvature(setup, spec, 5);
        }
      }
      if (hard && liveProbesPerS > 0) {
        live = new LiveProbes(server.target(), jobId, HardestJob.probeStep(points), liveProbesPerS);
      }
      List<ManagedChannel> chans = new ArrayList<>();
      for (int i = 0; i < channels; i++) {
        chans.add(ManagedChannelBuilder.forTarget(server.target()).usePlaintext().build());
      }
      ExecutorService pool = Executors.newFixedThreadPool(callers);
      try {
        ops = hard ? Op.values() : new Op[] {Op.LR, Op.HEALTH, Op.WINDOW};
        this.plainId = plainId;
        Result r = run(chans, pool, jobId);
        BenchLine line = r.line(callers, rounds, window, hard);
        if (hard) {
          line.put("revisions", revisions).put("points", points).put("live_probes_per_s", liveProbesPerS);
          if (live != null) {
            line.put("live_estimates", live.stop());
          }
        }
        line.print(System.out);
      } finally {
        if (live != null) {
          live.stop();
        }
        pool.shutdownNow();
        for (ManagedChannel c : chans) {
          c.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
        }
      }
    }
    return 0;
  }

  private Op[] ops;
  private String plainId;

  private Result run(List<ManagedChannel> chans, ExecutorService pool, String jobId) throws Exception {
    for (Op op : ops) {
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
      // odd rounds start one operation later: LR, Health, Window, then Health, Window, LR, ...
      Op[] order = new Op[ops.length];
      for (int i = 0; i < ops.length; i++) {
        order[i] = ops[(i + r % 2) % ops.length];
      }
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
      String asked = op == Op.LR_PLAIN ? plainId : jobId;
      futures.add(pool.submit(() -> caller(op, ch, asked, offset, end)));
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
        case LR, LR_PLAIN -> stepsize.getLearningRate(GetLearningRateRequest.newBuilder().setJobId(jobId).setStep(step).build());
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

  /**
   * A trainer's probes during the rounds: one Lanczos probe every 1/rate seconds at the next probe
   * step, each a new estimate, so the job's timeline (and its continuous re-plans) change under load.
   */
  static final class LiveProbes {
    private final StepsizeClient client;
    private final Thread thread;
    private volatile boolean running = true;
    private long sent;

    LiveProbes(String target, String jobId, long firstStep, double perSecond) {
      client = StepsizeClient.connect(target, Duration.ofSeconds(30));
      long pauseNanos = (long) (1e9 / perSecond);
      thread = new Thread(() -> {
        long step = firstStep;
        long next = System.nanoTime();
        int i = 0;
        while (running) {
          client.reportProbes(List.of(Workloads.probe(Workloads.lanczos(20, 90_000 + i++), jobId, step)));
          sent++;
          step += HardestJob.PROBE_EVERY;
          next += pauseNanos;
          long wait = next - System.nanoTime();
          if (wait > 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(wait);
          }
        }
      }, "live-probes");
      thread.setDaemon(true);
      thread.start();
    }

    /** Stops the probes (idempotent) and returns how many were reported. */
    long stop() throws InterruptedException {
      if (running) {
        running = false;
        thread.join();
        client.close();
      }
      return sent;
    }
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

    BenchLine line(int callers, int rounds, int window, boolean hardest) {
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
      BenchLine line = new BenchLine("grpc").put("callers", callers).put("rounds", rounds)
          .put("lr_qps", qps(Op.LR)).put("lr_p50_us", us(Op.LR, 50)).put("lr_p99_us", us(Op.LR, 99))
          .put("lr_p999_us", us(Op.LR, 99.9))
          .put("health_qps", qps(Op.HEALTH)).put("health_p50_us", us(Op.HEALTH, 50))
          .put("health_p99_us", us(Op.HEALTH, 99)).put("health_p999_us", us(Op.HEALTH, 99.9))
          .put("ratio_p50", rp50).put("ratio_p99", rp99).put("ratio_p999", rp999).put("ratio_qps", rqps)
          .put("round_ratio_p50_min", minR).put("round_ratio_p50_max", maxR)
          .put("window", window).put("window_qps", qps(Op.WINDOW)).put("window_p50_us", us(Op.WINDOW, 50))
          .put("window_p99_us", us(Op.WINDOW, 99)).put("window_ns_per_step", windowNsPerStep)
          .put("window_steps_per_s", qps(Op.WINDOW) * window);
      // DESIGN.md §6, the same for today's job and the hardest
      boolean met = rp50 <= 1.1 && rp99 <= 1.2 && rqps >= 0.9;
      if (!hardest) {
        return line.put("target_met", met);
      }
      // today's job in the same rounds: what the revisions and the timeline cost on top of it
      line.put("job", "hardest").put("plain_qps", qps(Op.LR_PLAIN)).put("plain_p50_us", us(Op.LR_PLAIN, 50))
          .put("plain_p99_us", us(Op.LR_PLAIN, 99))
          .put("plain_ratio_p50", us(Op.LR_PLAIN, 50) / us(Op.HEALTH, 50))
          .put("plain_ratio_p99", us(Op.LR_PLAIN, 99) / us(Op.HEALTH, 99))
          .put("plain_ratio_qps", qps(Op.LR_PLAIN) / qps(Op.HEALTH))
          .put("vs_plain_p50", us(Op.LR, 50) / us(Op.LR_PLAIN, 50))
          .put("vs_plain_p99", us(Op.LR, 99) / us(Op.LR_PLAIN, 99))
          .put("vs_plain_qps", qps(Op.LR) / qps(Op.LR_PLAIN));
      return line.put("target_met", met);
    }
  }
}
