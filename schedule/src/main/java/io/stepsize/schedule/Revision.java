package io.stepsize.schedule;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A change of a running job from step {@code fromStep} on (DESIGN.md §1.5, proto {@code Revision}):
 * the schedule part only (number, author, reason and time are the service's). An unset optional
 * field (null, or empty) keeps the value in force. The rules that need the job are checked by
 * {@link JobPlan#of}; the ones checked here need nothing else.
 *
 * @param fromStep a, the first step it governs; answers for steps < a never change
 * @param totalSteps T', > a; null keeps total_steps
 * @param phaseBoundaries the boundaries after a, ending at T'; empty keeps them (or, when only
 *     total_steps changes and no boundary lies in (a, T), ends the current phase at T')
 * @param lrMax lr_max from a; null keeps it
 * @param lrMin lr_min from a; null keeps it
 * @param groups the job's parameter groups with new ranges, same names in the same order; empty keeps them
 * @param policy phi_policy from a; null keeps it
 * @param fallbackPhi phi_policy.fallback_phi from a; null keeps it
 * @param setLr v at a, instead of the lr the job answered for a; null: continuity
 * @param hold hold v from a until the next revision (or T)
 */
public record Revision(long fromStep, Long totalSteps, long[] phaseBoundaries, Double lrMax, Double lrMin,
    List<ParamGroup> groups, PhiPolicy policy, Double fallbackPhi, Double setLr, boolean hold) {

  private static final long[] NONE = new long[0];

  public Revision {
    Checks.atLeast("from_step", fromStep, 0);
    phaseBoundaries = phaseBoundaries == null ? NONE : phaseBoundaries.clone();
    groups = groups == null ? List.of() : List.copyOf(groups);
    if (lrMax != null) {
      Checks.finiteNonNegative("lr_max", lrMax);
    }
    if (lrMin != null) {
      Checks.finiteNonNegative("lr_min", lrMin);
    }
    if (fallbackPhi != null) {
      Checks.finitePositive("fallback_phi", fallbackPhi);
    }
    if (setLr != null) {
      Checks.finiteNonNegative("set_lr", setLr);
    }
  }

  /** A revision that only changes the budget: total_steps from {@code fromStep}, boundaries as given. */
  public static Revision budget(long fromStep, long totalSteps, long... phaseBoundaries) {
    return new Revision(fromStep, totalSteps, phaseBoundaries, null, null, List.of(), null, null, null, false);
  }

  /** The same revision with {@code set_lr}. */
  public Revision withSetLr(double lr) {
    return new Revision(fromStep, totalSteps, phaseBoundaries, lrMax, lrMin, groups, policy, fallbackPhi, lr, hold);
  }

  /** The same revision with {@code hold}. */
  public Revision withHold(boolean held) {
    return new Revision(fromStep, totalSteps, phaseBoundaries, lrMax, lrMin, groups, policy, fallbackPhi, setLr,
        held);
  }

  /** The same revision with another phi policy. */
  public Revision withPolicy(PhiPolicy newPolicy) {
    return new Revision(fromStep, totalSteps, phaseBoundaries, lrMax, lrMin, groups, newPolicy, fallbackPhi, setLr,
        hold);
  }

  /** The same revision with other bounds (null keeps one). */
  public Revision withBounds(Double newLrMax, Double newLrMin) {
    return new Revision(fromStep, totalSteps, phaseBoundaries, newLrMax, newLrMin, groups, policy, fallbackPhi,
        setLr, hold);
  }

  /** The same revision with other group ranges. */
  public Revision withGroups(List<ParamGroup> newGroups) {
    return new Revision(fromStep, totalSteps, phaseBoundaries, lrMax, lrMin, newGroups, policy, fallbackPhi,
        setLr, hold);
  }

  /** A revision from {@code fromStep} that changes nothing yet (use the with… methods). */
  public static Revision at(long fromStep) {
    return new Revision(fromStep, null, NONE, null, null, List.of(), null, null, null, false);
  }

  @Override
  public long[] phaseBoundaries() {
    return phaseBoundaries.clone();
  }

  long boundaryCount() {
    return phaseBoundaries.length;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Revision r && r.fromStep == fromStep && Objects.equals(r.totalSteps, totalSteps)
        && Arrays.equals(r.phaseBoundaries, phaseBoundaries) && Objects.equals(r.lrMax, lrMax)
        && Objects.equals(r.lrMin, lrMin) && r.groups.equals(groups) && Objects.equals(r.policy, policy)
        && Objects.equals(r.fallbackPhi, fallbackPhi) && Objects.equals(r.setLr, setLr) && r.hold == hold;
  }

  @Override
  public int hashCode() {
    return Objects.hash(fromStep, totalSteps, Arrays.hashCode(phaseBoundaries), lrMax, lrMin, groups, policy,
        fallbackPhi, setLr, hold);
  }

  @Override
  public String toString() {
    return "Revision[fromStep=" + fromStep + ", totalSteps=" + totalSteps + ", phaseBoundaries="
        + Arrays.toString(phaseBoundaries) + ", lrMax=" + lrMax + ", lrMin=" + lrMin + ", groups=" + groups
        + ", policy=" + policy + ", fallbackPhi=" + fallbackPhi + ", setLr=" + setLr + ", hold=" + hold + "]";
  }
}
