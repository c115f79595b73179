package io.stepsize.lab.demo;

import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.Start;
import io.stepsize.schedule.CurvatureTimeline;
import java.util.List;

/**
 * The run whose learning rates came from the service: the job it created, the service's answer
 * for every step, the probes it reported and the curvature timeline it saw.
 *
 * @param spec the job, as created with CreateJob
 * @param run the training run itself (its lr[s] is served[s].lr)
 * @param served the service's LearningRate for each step, as the trainer used it
 * @param probes the Lanczos probes reported, in step order
 * @param timeline the job's curvature estimates as the client knew them at the end
 * @param remoteAnswers steps answered from the service's windows
 * @param localAnswers steps answered by the client's local formula (the service did not answer in time)
 * @param lateEstimates probes whose estimate did not reach the client within the timeout
 * @param revisions the job's revisions made by the run (ReviseJob), as the service stored them
 * @param points the service's curvature timeline at the end of the run (GetCurvature), oldest first: λ_max,
 *     the gradient-weighted λ_h and the edge ratio of each estimate (DESIGN.md §1.7)
 * @param gradientStats the service's gradient statistics of the run (GetGradientStats), oldest first: each
 *     step's batch loss and gradient norm as the trainer reported them
 */
public record LiveTrace(JobSpec spec, RunResult run, LearningRate[] served, List<ProbeRecord> probes,
    CurvatureTimeline timeline, long remoteAnswers, long localAnswers, int lateEstimates,
    List<io.stepsize.proto.v1.Revision> revisions, List<CurvaturePoint> points,
    List<io.stepsize.proto.v1.GradientStatsPoint> gradientStats) {

  /** The budget the run trained: the spec's, or its latest revision's. */
  public long totalSteps() {
    return served.length;
  }

  /**
   * One probe as the trainer made it.
   *
   * @param step the step whose starting weights were probed
   * @param lanczosSteps m' done (m unless Lanczos broke down early)
   * @param ritzMax the largest Ritz value of this probe alone
   * @param ritzMin the smallest Ritz value of this probe alone
   * @param ritzLow λ_low of this probe alone by the job's lower-edge rule (the service smooths across probes)
   * @param visibleAfterMillis from ReportProbes to the estimate reaching the client's schedule
   * @param start where Lanczos started: the probe batch's gradient, or random when that gradient was zero
   * @param alpha0 alpha[0] of the probe: ĝᵀHĝ, the curvature along the gradient, for a gradient start
   */
  public record ProbeRecord(long step, int lanczosSteps, double ritzMax, double ritzMin,
      double ritzLow, double visibleAfterMillis, Start start, double alpha0) {}
}
