package io.stepsize.estimator;

import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import java.util.Arrays;

/** Jobs and probes for the tests; probes with β = 0 are diagonal T_m, whose Ritz values are exact. */
final class Probes {
  private Probes() {}

  static JobSpec job(String jobId, long totalSteps, long... boundaries) {
    JobSpec.Builder b = JobSpec.newBuilder().setJobId(jobId).setTotalSteps(totalSteps).setLrMax(0.1).setLrMin(0.001);
    for (long x : boundaries) {
      b.addPhaseBoundaries(x);
    }
    return b.build();
  }

  static JobSpec withDelay(JobSpec spec, long applyDelaySteps) {
    return spec.toBuilder().setApplyDelaySteps(applyDelaySteps).build();
  }

  static JobSpec withHalfLife(JobSpec spec, double halfLife) {
    return spec.toBuilder().setPhiPolicy(PhiPolicy.newBuilder().setHalfLifeProbes(halfLife)).build();
  }

  /** A probe whose T_m is diag(eigenvalues): every β is 0, so the Ritz values are the eigenvalues. */
  static ProbeReport diagonal(String jobId, long step, String worker, double... eigenvalues) {
    double[] beta = new double[eigenvalues.length];
    return lanczos(jobId, step, worker, eigenvalues, beta);
  }

  static ProbeReport lanczos(String jobId, long step, String worker, double[] alpha, double[] beta) {
    LanczosProbe.Builder l = LanczosProbe.newBuilder();
    Arrays.stream(alpha).forEach(l::addAlpha);
    Arrays.stream(beta).forEach(l::addBeta);
    return ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId(worker).setLanczos(l).build();
  }

  static ProbeReport gradient(String jobId, long step) {
    return ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId("w0")
        .setGradient(GradientStats.newBuilder().setLoss(1.5).setGradNorm(0.25)).build();
  }
}
