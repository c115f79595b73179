package io.stepsize.estimator;

import io.stepsize.estimator.math.CurvatureEstimate;
import io.stepsize.estimator.math.CurvatureObservation;
import io.stepsize.estimator.math.EwmaState;
import io.stepsize.estimator.math.LogEwma;
import io.stepsize.estimator.math.LowerEdge;
import io.stepsize.estimator.math.LowerEdgeSettings;
import io.stepsize.estimator.math.SpectralDensity;
import io.stepsize.estimator.math.ProbeMerge;
import io.stepsize.estimator.math.RitzSpectrum;
import io.stepsize.schedule.LowerEdgeRule;
import io.stepsize.schedule.PhiPolicy;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * {@link CurvatureMath} over the math package: Ritz spectra (EJML), the averaged SLQ density of a
 * step, its lower edge, and the log-space EWMA.
 *
 * <p>A step's estimate merges the spectra of all its probes so far, so each worker's probe needs the
 * earlier workers' spectra again. They are remembered per stream thread, by probe: the job's state
 * hands back the very {@link Probe} objects of its step (the estimator's stores cache objects), so k
 * probes of a step cost k decompositions, not k(k+1)/2. A probe read back from its bytes (after a
 * restart) is another object and is decomposed again: the result is the same, and never depends on
 * what is remembered.
 */
final class LanczosMath implements CurvatureMath {
  /**
   * Ritz values remembered per stream thread, over all its spectra: about 4 MB (θ, weight and bound,
   * and the probe's α and β, 40 bytes a value), the current step of some 5,000 probes at m = 20, of
   * 100 at m = 1,000.
   */
  static final int REMEMBERED_VALUES = 100_000;

  private final boolean statistics;
  private final ThreadLocal<Remembered> spectra = ThreadLocal.withInitial(Remembered::new);

  /** The spectra of one stream thread's recent probes, least recently used first. */
  private static final class Remembered {
    final LinkedHashMap<Probe, RitzSpectrum> byProbe = new LinkedHashMap<>(64, 0.75f, true);
    long values;
  }

  LanczosMath() {
    this(true);
  }

  /** {@code statistics}: false leaves λ_h, the negative mass and the gradient sharpness NaN (to measure their cost). */
  LanczosMath(boolean statistics) {
    this.statistics = statistics;
  }

  /** Validates by solving: {@link RitzSpectrum#of} checks the probe first, and the spectrum is kept for its estimate. */
  @Override
  public void check(Probe probe) {
    spectrum(probe);
  }

  @Override
  public Smoothed estimate(long step, byte[] ewmaBefore, List<Probe> probes, PhiPolicy.ConditionNumber lowerEdge,
      double halfLifeProbes) {
    List<RitzSpectrum> spectra = new ArrayList<>(probes.size());
    for (Probe p : probes) {
      spectra.add(spectrum(p));
    }
    LowerEdgeSettings settings = LowerEdgeSettings.from(lowerEdge);
    SpectralDensity density = ProbeMerge.merge(spectra);
    CurvatureObservation observation = statistics
        ? CurvatureObservation.of(step, density, settings, gradientSharpness(probes))
        : new CurvatureObservation(step, density.lambdaMin(), LowerEdge.lambdaLow(density, settings),
            density.lambdaMax(), density.lambdaMaxBound(), density.probes());
    EwmaState before = ewmaBefore.length == 0 ? null : EwmaState.fromBytes(ewmaBefore);
    EwmaState after = LogEwma.update(before, observation, halfLifeProbes);
    if (statistics && settings.rule() == LowerEdgeRule.GRADIENT_HARMONIC && Double.compare(after.lambdaLow(),
        after.lambdaHarmonic()) != 0) {
      // only after a revision switched the job to this rule mid-phase (λ_low's average still holds the
      // old rule's values): from here on λ_low is λ_h's average, so the two stay one number
      after = new EwmaState(after.step(), after.lambdaMin(), after.lambdaHarmonic(), after.lambdaMax(),
          after.lambdaMaxBound(), after.probes(), after.observations(), after.lambdaHarmonic());
    }
    // the apply delay is the topology's business; 0 here only to reuse the math's κ rule
    CurvatureEstimate e = CurvatureEstimate.of(after, 0);
    return new Smoothed(e.lambdaMin(), e.lambdaMax(), e.lambdaLow(), e.kappa(), e.lambdaMaxBound(), e.probes(),
        after.toBytes(), after.lambdaHarmonic(), observation.negativeMass(), observation.gradientSharpness());
  }

  /**
   * The probe's Ritz spectrum, remembered by the probe object: a record's equality compares its
   * arrays by reference, so only the same α and β arrays (never changed after parsing) match.
   */
  RitzSpectrum spectrum(Probe p) {
    Remembered remembered = spectra.get();
    RitzSpectrum s = remembered.byProbe.get(p);
    if (s == null) {
      s = RitzSpectrum.of(p.alpha(), p.beta());
      remembered.byProbe.put(p, s);
      remembered.values += s.size();
      Iterator<RitzSpectrum> eldest = remembered.byProbe.values().iterator();
      while (remembered.values > REMEMBERED_VALUES && eldest.hasNext()) {
        remembered.values -= eldest.next().size();
        eldest.remove();
      }
    }
    return s;
  }

  /**
   * ĝᵀHĝ of the step: the mean alpha[0] of its gradient-start probes (the workers' mean, as their
   * densities are averaged), NaN when every probe started at random. Random-start probes of the same
   * step are left out of this mean: their alpha[0] is the curvature along a random direction.
   */
  static double gradientSharpness(List<Probe> probes) {
    double sum = 0.0;
    int n = 0;
    for (Probe p : probes) {
      if (p.gradientStart()) {
        sum += p.alpha()[0];
        n++;
      }
    }
    return n == 0 ? Double.NaN : sum / n;
  }
}
