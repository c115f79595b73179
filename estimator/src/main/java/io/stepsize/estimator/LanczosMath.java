package io.stepsize.estimator;

import io.stepsize.estimator.math.CurvatureEstimate;
import io.stepsize.estimator.math.CurvatureObservation;
import io.stepsize.estimator.math.EwmaState;
import io.stepsize.estimator.math.LogEwma;
import io.stepsize.estimator.math.LowerEdgeSettings;
import io.stepsize.estimator.math.ProbeMerge;
import io.stepsize.wire.ProbeValidation;
import io.stepsize.estimator.math.RitzSpectrum;
import io.stepsize.schedule.PhiPolicy;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link CurvatureMath} over the math package: Ritz spectra (EJML), the averaged SLQ density of a
 * step, its lower edge, and the log-space EWMA.
 *
 * <p>The spectra of a step's earlier probes are recomputed when another worker's probe arrives
 * (the state keeps the raw α, β): k probes of one step cost k(k+1)/2 decompositions, which is
 * nothing next to a Kafka round trip for the handful of workers a job has.
 */
final class LanczosMath implements CurvatureMath {

  @Override
  public void check(double[] alpha, double[] beta) {
    ProbeValidation.check(alpha, beta);
  }

  @Override
  public Smoothed estimate(long step, byte[] ewmaBefore, List<Probe> probes, PhiPolicy.ConditionNumber lowerEdge,
      double halfLifeProbes) {
    List<RitzSpectrum> spectra = new ArrayList<>(probes.size());
    for (Probe p : probes) {
      spectra.add(RitzSpectrum.of(p.alpha(), p.beta()));
    }
    CurvatureObservation observation =
        CurvatureObservation.of(step, ProbeMerge.merge(spectra), LowerEdgeSettings.from(lowerEdge));
    EwmaState before = ewmaBefore.length == 0 ? null : EwmaState.fromBytes(ewmaBefore);
    EwmaState after = LogEwma.update(before, observation, halfLifeProbes);
    // the apply delay is the topology's business; 0 here only to reuse the math's κ rule
    CurvatureEstimate e = CurvatureEstimate.of(after, 0);
    return new Smoothed(e.lambdaMin(), e.lambdaMax(), e.lambdaLow(), e.kappa(), e.lambdaMaxBound(), e.probes(),
        after.toBytes());
  }
}
