package io.stepsize.schedule;

import java.util.List;

/**
 * Everything the schedule needs to know about a job (the schedule part of the proto {@code JobSpec}).
 *
 * @param budget total_steps, warmup_steps, phase_boundaries, phase_offset
 * @param lrMax lr_max, finite, >= lr_min
 * @param lrMin lr_min, finite, >= 0
 * @param groups parameter groups (may be empty: the job-level lr is then the only one)
 * @param policy phi_policy
 * @param fallbackPhi phi until an estimate applies (default by optimizer, {@link Optimizer#defaultPhi()})
 * @param applyDelaySteps apply_delay_steps (default 1); an estimate of probe step p applies from
 *     p + apply_delay_steps, see {@link #appliesFrom(long)}
 */
public record JobSchedule(Budget budget, double lrMax, double lrMin, List<ParamGroup> groups,
    PhiPolicy policy, double fallbackPhi, long applyDelaySteps) {

  /** DESIGN.md §1.4 default of apply_delay_steps. */
  public static final long DEFAULT_APPLY_DELAY_STEPS = 1;

  public JobSchedule {
    Checks.present("budget", budget);
    Checks.finiteNonNegative("lr_max", lrMax);
    Checks.finiteNonNegative("lr_min", lrMin);
    if (lrMin > lrMax) {
      throw Checks.invalid("lr_min", "must be <= lr_max", lrMin + " > " + lrMax);
    }
    groups = groups == null ? List.of() : List.copyOf(groups);
    ParamGroup.checkNames(groups.stream().map(ParamGroup::name).toList());
    Checks.present("phi_policy", policy);
    Checks.finitePositive("fallback_phi", fallbackPhi);
    Checks.atLeast("apply_delay_steps", applyDelaySteps, 0);
  }

  /** A job with no groups, fallback phi by optimizer and the default apply delay. */
  public static JobSchedule of(Budget budget, double lrMax, double lrMin, PhiPolicy policy,
      Optimizer optimizer) {
    return new JobSchedule(budget, lrMax, lrMin, List.of(), policy, optimizer.defaultPhi(),
        DEFAULT_APPLY_DELAY_STEPS);
  }

  /** The first step an estimate from this probe step applies to (saturating, never overflows). */
  public long appliesFrom(long probeStep) {
    long s = probeStep + applyDelaySteps;
    return s < probeStep ? Long.MAX_VALUE : s;
  }
}
