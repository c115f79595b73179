package io.stepsize.schedule;

/**
 * The Unified Budget-Aware factor, the paper's eq. 5 with the exact indexing of DESIGN.md §1.1:
 *
 * <pre>
 *   theta = (2j - 1)·pi / (2·L_k) + (k - 1 + phase_offset)·pi
 *   c     = 1 + cos(theta)
 *   f     = 2c / (2·phi + (2 - phi)·c)
 * </pre>
 *
 * The budget-based {@link #factor(double, Budget, long)} does not evaluate {@code 1 + cos(theta)}
 * literally: near the ends of a phase that sum cancels to a few ulps and the Chebyshev step sizes
 * (Proposition 1) lose their relative accuracy exactly where the product is most sensitive. It uses
 * the half-angle forms {@code c/2 = cos²(a/2)} (falling phases) or {@code sin²(a/2)} (rising), with
 * a the in-phase angle, and {@code f = 2p / (phi·q + 2p)} with {@code p = c/2, q = 1 - p}, which is
 * the same rational function and is accurate to a few ulps everywhere.
 */
public final class Uba {
  private Uba() {}

  /** Throws unless phi is finite and > 0 (phi = 0 is 0/0 at c = 0). */
  public static void checkPhi(double phi) {
    Checks.finitePositive("phi", phi);
  }

  /** theta of a post-warmup step, including the (k - 1 + phase_offset)·pi phase shift. */
  public static double theta(Budget b, long step) {
    int k = phaseAfterWarmup(b, step);
    long start = b.phaseStart(k);
    long length = b.phaseEnd(k) - start;
    long j = step - start + 1;
    return (2 * j - 1) * Math.PI / (2.0 * length) + (k - 1 + b.phaseOffset()) * Math.PI;
  }

  /** f for a given theta, literally eq. 5 (for plots and tests; see the class note on accuracy). */
  public static double factor(double phi, double theta) {
    checkPhi(phi);
    double c = 1 + Math.cos(theta);
    // 2φ + (2 − φ)c rewritten as φ(2 − c) + 2c: the same value, without forming 2φ (overflow)
    return 2 * c / (phi * (2 - c) + 2 * c);
  }

  /** f of a post-warmup step: in [0, 1], 1 at the top of a phase, 0 at its bottom. */
  public static double factor(double phi, Budget b, long step) {
    checkPhi(phi);
    int k = phaseAfterWarmup(b, step);
    return factorInPhase(phi, b, step, k);
  }

  /** The factor for a step known to lie in phase k >= 1; no allocation, no phi check. */
  static double factorInPhase(double phi, Budget b, long step, int k) {
    long start = b.phaseStart(k);
    return factorAt(phi, b.phaseEnd(k) - start, step - start + 1, rising(b, k));
  }

  /** Whether phase k (>= 1) rises: (k - 1 + phase_offset) is odd (DESIGN.md §1.1). */
  static boolean rising(Budget b, int k) {
    return ((k - 1 + b.phaseOffset()) & 1) == 1;
  }

  /**
   * f at position j (1..length) of a phase of {@code length} steps in the given direction: the
   * factor of eq. 5 for a phase of its own, which the re-planning rule of DESIGN.md §1.5 uses for
   * the rest of a phase (j', L'). No allocation, no phi check.
   */
  static double factorAt(double phi, long length, long j, boolean rising) {
    // half of the in-phase angle a = (2j - 1)π / (2L), in (0, π/2)
    double half = (2 * j - 1) * Math.PI / (4.0 * length);
    double cos = Math.cos(half);
    double sin = Math.sin(half);
    // cos(a + nπ) = (-1)^n cos a, so 1 + cos θ is 2cos²(a/2) when n is even, 2sin²(a/2) when odd
    double p = rising ? sin * sin : cos * cos;
    double q = rising ? cos * cos : sin * sin;
    return 2 * p / (phi * q + 2 * p);
  }

  private static int phaseAfterWarmup(Budget b, long step) {
    int k = b.phaseOf(step);
    if (k == 0) {
      throw Checks.invalid("step", "must be >= warmup_steps = " + b.warmupSteps()
          + " for the UBA factor (warmup is linear)", "got " + step);
    }
    return k;
  }
}
