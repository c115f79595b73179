package io.stepsize.schedule;

/**
 * The rest of a phase planned from a given value (DESIGN.md §1.5, shared by revisions and §1.6's
 * continuous mode): from step {@code step} = a to {@code end} = B_k, a phase of its own of length
 * L' = B_k − a whose first value is v. With f the factor of eq. 5 at (j', L') in the phase's
 * direction and b, t the range in force at s:
 *
 * <pre>
 *   falling: lr(s) = b + (p − b)·f(j'; L'),  p = b + (v − b)/f(1; L')
 *   rising:  lr(s) = p + (t − p)·f(j'; L'),  p = (v − t·f(1; L'))/(1 − f(1; L'))
 * </pre>
 *
 * computed as b + (v − b)·f(j')/f(1) and t + (v − t)·(1 − f(j'))/(1 − f(1)), the same values
 * without forming p (which may be far outside the range). A held value ({@code hold}) is v at every
 * step of its revision. Each parameter group does the same with its own range and its v_g.
 *
 * @param step a, the first step of the re-planned part (its value is exactly v)
 * @param end B_k, one past the last step of the phase (for a hold: of the revision)
 * @param phase the phase k of a in the schedule in force (0 only for a hold in the warmup)
 * @param rising the direction of phase k
 * @param v the value at a
 * @param groupValues v_g per parameter group, in the job's order (shared, do not modify)
 * @param hold whether the value is held rather than re-planned
 */
public record Replan(long step, long end, int phase, boolean rising, double v, double[] groupValues,
    boolean hold) {}
