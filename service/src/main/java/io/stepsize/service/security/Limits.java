package io.stepsize.service.security;

import io.stepsize.wire.FieldRules;
import io.stepsize.wire.ProbeValidation;

/**
 * What callers may ask of a replica: every size and count a caller controls is bounded here, so no
 * request, and no tenant, can take the memory or the threads that the others need (docs/SECURITY.md,
 * Limits). Each component is named after its {@code stepsize serve} flag.
 *
 * @param maxMessageBytes largest inbound gRPC message
 * @param maxProbeSteps largest Lanczos m accepted by ReportProbes (at most the estimator's own limit)
 * @param maxWindow largest GetLearningRates count
 * @param requestsPerSecondPerJob rate per job_id over all RPCs that name a job; 0 = unlimited
 * @param maxGroups most parameter groups a job may have (CreateJob)
 * @param maxSpecBytes largest serialized JobSpec (CreateJob), at most {@link FieldRules#MAX_RECORD_BYTES}
 * @param maxWindowNumbers most numbers a window answers, rates × max(1, groups): a window of a job
 *     with many groups answers fewer rates, as one stops at total_steps
 * @param maxConcurrentWindows GetLearningRates computed or sent at once on this replica; more are
 *     refused with RESOURCE_EXHAUSTED
 * @param maxJobsPerTenant jobs one tenant may own (all callers are one tenant without tokens)
 * @param requestsPerSecondPerTenant rate per tenant over all its RPCs; 0 = unlimited
 */
public record Limits(int maxMessageBytes, int maxProbeSteps, int maxWindow, int requestsPerSecondPerJob,
    int maxGroups, int maxSpecBytes, int maxWindowNumbers, int maxConcurrentWindows, int maxJobsPerTenant,
    int requestsPerSecondPerTenant) {

  public static final Limits DEFAULT = new Limits(4 << 20, ProbeValidation.MAX_STEPS, 100_000, 0,
      1_000, 64 << 10, 1_000_000, 8, 10_000, 0);

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
    if (maxGroups < 0) {
      throw new IllegalArgumentException("max_groups: must be >= 0 (got " + maxGroups + ")");
    }
    if (maxSpecBytes < 1024 || maxSpecBytes > FieldRules.MAX_RECORD_BYTES) {
      throw new IllegalArgumentException("max_spec_bytes: must be in [1024, " + FieldRules.MAX_RECORD_BYTES
          + "], the largest record Stepsize publishes (got " + maxSpecBytes + ")");
    }
    // a window answers at least one rate of a job with the most groups allowed
    if (maxWindowNumbers < Math.max(1, maxGroups)) {
      throw new IllegalArgumentException("max_window_numbers: must be >= max(1, max_groups) = "
          + Math.max(1, maxGroups) + " (got " + maxWindowNumbers + ")");
    }
    if (maxConcurrentWindows < 1) {
      throw new IllegalArgumentException("max_concurrent_windows: must be >= 1 (got " + maxConcurrentWindows + ")");
    }
    if (maxJobsPerTenant < 1) {
      throw new IllegalArgumentException("max_jobs_per_tenant: must be >= 1 (got " + maxJobsPerTenant + ")");
    }
    if (requestsPerSecondPerTenant < 0) {
      throw new IllegalArgumentException("requests_per_second_per_tenant: must be >= 0 (got "
          + requestsPerSecondPerTenant + ")");
    }
  }

  /** The first four limits with the defaults of the others. */
  public Limits(int maxMessageBytes, int maxProbeSteps, int maxWindow, int requestsPerSecondPerJob) {
    this(maxMessageBytes, maxProbeSteps, maxWindow, requestsPerSecondPerJob, DEFAULT.maxGroups, DEFAULT.maxSpecBytes,
        DEFAULT.maxWindowNumbers, DEFAULT.maxConcurrentWindows, DEFAULT.maxJobsPerTenant,
        DEFAULT.requestsPerSecondPerTenant);
  }

  public Limits withMaxGroups(int n) {
    return new Limits(maxMessageBytes, maxProbeSteps, maxWindow, requestsPerSecondPerJob, n, maxSpecBytes,
        maxWindowNumbers, maxConcurrentWindows, maxJobsPerTenant, requestsPerSecondPerTenant);
  }

  public Limits withMaxSpecBytes(int n) {
    return new Limits(maxMessageBytes, maxProbeSteps, maxWindow, requestsPerSecondPerJob, maxGroups, n,
        maxWindowNumbers, maxConcurrentWindows, maxJobsPerTenant, requestsPerSecondPerTenant);
  }

  public Limits withMaxWindowNumbers(int n) {
    return new Limits(maxMessageBytes, maxProbeSteps, maxWindow, requestsPerSecondPerJob, maxGroups, maxSpecBytes,
        n, maxConcurrentWindows, maxJobsPerTenant, requestsPerSecondPerTenant);
  }

  public Limits withMaxConcurrentWindows(int n) {
    return new Limits(maxMessageBytes, maxProbeSteps, maxWindow, requestsPerSecondPerJob, maxGroups, maxSpecBytes,
        maxWindowNumbers, n, maxJobsPerTenant, requestsPerSecondPerTenant);
  }

  public Limits withMaxJobsPerTenant(int n) {
    return new Limits(maxMessageBytes, maxProbeSteps, maxWindow, requestsPerSecondPerJob, maxGroups, maxSpecBytes,
        maxWindowNumbers, maxConcurrentWindows, n, requestsPerSecondPerTenant);
  }

  public Limits withRequestsPerSecondPerTenant(int n) {
    return new Limits(maxMessageBytes, maxProbeSteps, maxWindow, requestsPerSecondPerJob, maxGroups, maxSpecBytes,
        maxWindowNumbers, maxConcurrentWindows, maxJobsPerTenant, n);
  }
}
