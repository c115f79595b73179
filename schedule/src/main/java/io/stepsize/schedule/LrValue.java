package io.stepsize.schedule;

import java.util.Arrays;
import java.util.Objects;

/**
 * The learning rate of one step and how it was made (proto {@code LearningRate}).
 *
 * <p>When no estimate is used ({@code source} FIXED or FALLBACK with no point, or a baseline),
 * {@code curvatureStep} is -1 and {@code kappa}, {@code lambdaLow}, {@code lambdaMax} are 0 (not
 * NaN: 0 is the proto default and survives JSON and CSV unchanged). One exception: when chebyshev
 * or condition_number falls back because the applying estimate has no condition number
 * (lambda_low <= 0), lambdaLow and lambdaMax report that estimate so the caller can see why,
 * while kappa stays 0 and curvatureStep -1.
 *
 * @param step the global step
 * @param lr the job-level learning rate
 * @param groupLrs one lr per parameter group, in the job's order (shared, do not modify)
 * @param factor the normalized factor f in [0, 1]; during warmup (s + 1)/W; in a re-planned or held
 *     part of a phase (DESIGN.md §1.5) where lr lies in the range, (lr − lr_min)/(lr_max − lr_min)
 *     (0 when the range is empty; outside [0, 1] when a set_lr put it outside the range)
 * @param phi the phi used (during warmup, the phi the policy holds at that step; 0 for baselines)
 * @param phase 0 during warmup, else 1..K
 * @param kappa kappa_eff used, or 0
 * @param lambdaLow lambda_low of the estimate used, or 0
 * @param lambdaMax lambda_max of the estimate used, or 0
 * @param curvatureStep probe step of the estimate used, or -1
 * @param source where phi came from
 * @param note empty, or why the value fell back
 * @param revision the revision that governs the step (DESIGN.md §1.5), 0 for the spec itself
 * @param edgeRatio eta(s)·λ_max/threshold (DESIGN.md §1.7) with the scheduled lr (group 0's when
 *     there are groups, {@link StabilityMargin#eta}) and the estimate in force at s, the newest whose
 *     applies_from_step <= s whatever the phi policy; NaN when none applies, when it is not of the
 *     operator the optimizer steps on, or for OTHER. Under the guard it is still the scheduled lr's,
 *     so a guarded answer shows how far the schedule would have gone (the served one is min(it, r*)).
 * @param guarded whether the guard lowered lr and group_lrs ({@link StabilityMargin#guard}); the
 *     other fields describe the schedule
 */
public record LrValue(long step, double lr, double[] groupLrs, double factor, double phi, int phase,
    double kappa, double lambdaLow, double lambdaMax, long curvatureStep, Source source, String note,
    int revision, double edgeRatio, boolean guarded) {

  @Override
  public boolean equals(Object o) {
    return o instanceof LrValue v && v.step == step && Double.compare(v.lr, lr) == 0
        && Arrays.equals(v.groupLrs, groupLrs) && Double.compare(v.factor, factor) == 0
        && Double.compare(v.phi, phi) == 0 && v.phase == phase && Double.compare(v.kappa, kappa) == 0
        && Double.compare(v.lambdaLow, lambdaLow) == 0 && Double.compare(v.lambdaMax, lambdaMax) == 0
        && v.curvatureStep == curvatureStep && v.source == source && Objects.equals(v.note, note)
        && v.revision == revision && Double.compare(v.edgeRatio, edgeRatio) == 0 && v.guarded == guarded;
  }

  @Override
  public int hashCode() {
    return Long.hashCode(step) * 31 + Double.hashCode(lr) * 17 + Arrays.hashCode(groupLrs);
  }

  @Override
  public String toString() {
    return "LrValue[step=" + step + ", lr=" + lr + ", groupLrs=" + Arrays.toString(groupLrs)
        + ", factor=" + factor + ", phi=" + phi + ", phase=" + phase + ", kappa=" + kappa
        + ", lambdaLow=" + lambdaLow + ", lambdaMax=" + lambdaMax + ", curvatureStep=" + curvatureStep
        + ", source=" + source + ", note=" + note + ", revision=" + revision + ", edgeRatio=" + edgeRatio + ", guarded=" + guarded + "]";
  }
}
