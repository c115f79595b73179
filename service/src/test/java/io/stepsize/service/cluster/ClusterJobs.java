package io.stepsize.service.cluster;

import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;

/** The job and probes that the fault tests (here and cli's process-crash test) drive through a cluster. */
public final class ClusterJobs {
  /** Steps between two probes of a job. */
  public static final long STRIDE = 10;

  private ClusterJobs() {}

  public static JobSpec spec(String jobId) {
    return JobSpec.newBuilder().setJobId(jobId).setTotalSteps(1_000_000).setLrMax(0.3).setLrMin(0.003)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.getDefaultInstance()))
        .build();
  }

  /** The k-th probe of a job: Ritz values exactly lambdaMax(k) and 1 (beta = 0), so kappa moves with k. */
  public static ProbeReport probe(String jobId, int k) {
    double lambdaMax = 10 + 7 * (k % 5) + k * 0.25;
    return ProbeReport.newBuilder().setJobId(jobId).setStep(k * STRIDE).setWorkerId("w")
        .setLanczos(LanczosProbe.newBuilder().addAlpha(lambdaMax).addAlpha(1.0).addBeta(0.0).addBeta(0.0)).build();
  }
}
