package io.stepsize.service.security;

import io.stepsize.wire.ProbeValidation;

/**
 * What one request may ask of a replica.
 *
 * @param maxMessageBytes largest inbound gRPC message
 * @param maxProbeSteps largest Lanczos m accepted by ReportProbes (at most the estimator's own limit)
 * @param maxWindow largest GetLearningRates count
 * @param requestsPerSecondPerJob rate per job_id over all RPCs that name a job; 0 = unlimited
 */
public record Limits(int maxMessageBytes, int maxProbeSteps, int maxWindow, int requestsPerSecondPerJob) {
  public static final Limits DEFAULT = new Limits(4 << 20, ProbeValidation.MAX_STEPS, 100_000, 0);

  public Limits {
    if (maxMessageBytes < 1024) {
      throw new IllegalArgumentException("max_message_bytes: must be >= 1024 (got " + maxMessageBytes + ")");
    }
    if (maxProbeSteps < 1 || maxProbeSteps > ProbeValidation.MAX_STEPS) {
      throw new IllegalArgumentException("max_probe_steps: must be in [1, " + ProbeValidation.MAX_STEPS + "] (got "
          + maxProbeSteps + ")");
    }
    if (maxWindow < 1) {
      throw new IllegalArgumentException("max_window: must be >= 1 (got " + maxWindow + ")");
    }
    if (requestsPerSecondPerJob < 0) {
      throw new IllegalArgumentException("requests_per_second_per_job: must be >= 0 (got " + requestsPerSecondPerJob + ")");
    }
  }
}
