package io.stepsize.bench.jmh;

import io.stepsize.bench.Workloads;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.estimator.math.RitzSpectrum;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.decomposition.eig.symm.SymmetricQREigenHelper_DDRM;
import org.ejml.dense.row.decomposition.eig.symm.SymmetricQrAlgorithm_DDRM;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The estimator's per-probe math: validation and the symmetric tridiagonal eigen-solve of T_m
 * (Ritz values, SLQ weights, residual bounds), on T_m from a real Lanczos run with κ = 1000.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RitzBenchmark {
  @Param({"20", "50", "100", "200"})
  public int m;

  double[] alpha;
  double[] beta;

  @Setup
  public void setup() {
    LanczosResult r = Workloads.lanczos(m, 11);
    alpha = r.alpha();
    beta = r.beta();
    if (alpha.length != m) {
      throw new IllegalStateException("Lanczos broke down at " + alpha.length + " < m = " + m);
    }
  }

  @Benchmark
  public RitzSpectrum ritz() {
    return RitzSpectrum.of(alpha, beta);
  }

  /**
   * Reference: EJML's tridiagonal QR accumulating the full m×m Q, which is what the Ritz solve did
   * before it kept only Q's first and last columns. Same run, same T_m: the "before" of BENCHMARKS.md.
   */
  @Benchmark
  public DMatrixRMaj eigenFullQ() {
    SymmetricQREigenHelper_DDRM helper = new SymmetricQREigenHelper_DDRM();
    SymmetricQrAlgorithm_DDRM algorithm = new SymmetricQrAlgorithm_DDRM(helper);
    helper.init(alpha.clone(), Arrays.copyOf(beta, m - 1), m);
    DMatrixRMaj q = CommonOps_DDRM.identity(m);
    helper.setQ(q);
    algorithm.setQ(q);
    if (!algorithm.process(-1, null, null)) {
      throw new ArithmeticException("no convergence");
    }
    return algorithm.getQ();
  }
}
