package io.stepsize.bench;

import io.stepsize.client.lanczos.KnownSpectrumHvp;
import io.stepsize.client.lanczos.LanczosDriver;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** The jobs and probes the benchmarks use, so every benchmark measures the same realistic shapes. */
public final class Workloads {
  private Workloads() {}

  /**
   * A job as a user would run it with live curvature: condition_number policy, warmup, three phases.
   * The benchmarks read steps past the first probes, so the answer goes through the timeline.
   */
  public static JobSpec conditionNumberJob(String jobId, long totalSteps) {
    long third = totalSteps / 3;
    return JobSpec.newBuilder().setJobId(jobId).setTotalSteps(totalSteps).setWarmupSteps(Math.min(100, third / 2))
        .addPhaseBoundaries(third).addPhaseBoundaries(2 * third).addPhaseBoundaries(totalSteps)
        .setLrMax(0.1).setLrMin(0.001).setOptimizer(Optimizer.OPTIMIZER_SGD)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.newBuilder()))
        .build();
  }

  /**
   * One Lanczos run of {@code m} steps on a matrix with a known spectrum in [1e-2, 10] (κ = 1000),
   * the shape of a real probe; {@code seed} picks the start vector, so probes differ.
   */
  public static LanczosResult lanczos(int m, long seed) {
    int n = Math.max(2 * m, 64);
    double[] lambda = new double[n];
    for (int i = 0; i < n; i++) {
      lambda[i] = 1e-2 * Math.pow(1e3, (double) i / (n - 1));
    }
    return LanczosDriver.of(m).run(KnownSpectrumHvp.of(lambda, 3, 42), n, seed);
  }

  public static ProbeReport probe(LanczosResult r, String jobId, long step) {
    return r.toProbe(jobId, step, "bench");
  }

  /** A fresh temporary directory for an embedded node, removed by {@link #delete}. */
  public static Path tempDir(String what) {
    try {
      return Files.createTempDirectory("stepsize-bench-" + what);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static void delete(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a leftover temp directory is not worth failing a benchmark for
    }
  }
}
