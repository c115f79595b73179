/**
 * The estimator's numerics (DESIGN.md §1.4, §1.7), pure and free of I/O: a probe's Ritz values / SLQ weights /
 * residual bounds, the lower-edge rules, the merge of one step's probes and the log-space EWMA across steps.
 * Depends on EJML, schedule and wire's probe validation only; no Kafka, no gRPC.
 *
 * <p>The pipeline for one (job, phase):
 * <pre>
 *   ProbeValidation.check(alpha, beta)                    // (wire) bad record → dead-letter with the message
 *   RitzSpectrum.of(alpha, beta)                          // per probe
 *   ProbeMerge.merge(spectraOfOneStep)                    // → SpectralDensity
 *   CurvatureObservation.of(step, density, settings)      // λ_min, λ_low, λ_max, bound
 *   LogEwma.update(state, observation, halfLife)          // → EwmaState (bytes for a store)
 *   CurvatureEstimate.of(state, applyDelaySteps)          // κ_eff, appliesFromStep
 * </pre>
 */
package io.stepsize.estimator.math;
