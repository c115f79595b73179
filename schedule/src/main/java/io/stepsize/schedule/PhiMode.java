package io.stepsize.schedule;

/** Which estimate sets phi under the condition_number policy (DESIGN.md §1.3). */
public enum PhiMode {
  /** phi for step s from the newest estimate that applies to s. */
  LIVE,
  /** phi for phase k from the newest estimate that applies to B_{k-1}; fixed for the phase. */
  LATCHED,
  /**
   * phi for step s as in {@link #LIVE}, but an estimate that changes phi inside a phase re-plans the
   * rest of the phase from the value at the step it applies from (DESIGN.md §1.6): no jumps.
   */
  CONTINUOUS
}
