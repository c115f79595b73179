package io.stepsize.estimator.math;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Combines the probes of one step (several data-parallel workers, each with its own batch and
 * start vector) into one density: the average of their SLQ densities, i.e. the union of all
 * Ritz nodes with each weight divided by the number of probes. Averaging densities (rather
 * than λ's) is what SLQ prescribes: each probe is an unbiased quadrature of the same spectral
 * measure, so their mean has 1/k of the variance.
 *
 * <p>The extremes come out of the union directly: λ_max of the merge is the max over the probes
 * (every θ is a lower bound on the true λ_max, so the largest is the best), λ_min is the min
 * (every θ is an upper bound on the true λ_min), and the λ_max bound is the max of the probes'
 * bounds. Each node keeps its own residual bound, so the lower-edge rules see the same
 * convergence information as on a single probe.
 */
public final class ProbeMerge {

    private ProbeMerge() {
    }

    /** The averaged density of one step's probes; the list must not be empty. */
    public static SpectralDensity merge(List<RitzSpectrum> probes) {
        if (probes.isEmpty()) {
            throw new IllegalArgumentException("merge needs at least one probe");
        }
        int k = probes.size();
        if (k == 1) {
            // the common case: one worker per step; dividing by 1 and re-sorting sorted nodes is a no-op
            return probes.get(0).density();
        }
        int total = probes.stream().mapToInt(RitzSpectrum::size).sum();
        double[] theta = new double[total];
        double[] weight = new double[total];
        double[] bound = new double[total];
        double maxBound = Double.NEGATIVE_INFINITY;
        int at = 0;
        for (RitzSpectrum p : probes) {
            double[] t = p.theta();
            double[] w = p.weights();
            double[] r = p.residualBounds();
            for (int i = 0; i < t.length; i++, at++) {
                theta[at] = t[i];
                weight[at] = w[i] / k;
                bound[at] = r[i];
            }
            maxBound = Math.max(maxBound, p.lambdaMaxBound());
        }
        // stable sort by θ keeps equal nodes in probe order: the merge is deterministic
        Integer[] order = IntStream.range(0, total).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble(i -> theta[i]));
        double[] st = new double[total];
        double[] sw = new double[total];
        double[] sb = new double[total];
        for (int j = 0; j < total; j++) {
            st[j] = theta[order[j]];
            sw[j] = weight[order[j]];
            sb[j] = bound[order[j]];
        }
        return new SpectralDensity(st, sw, sb, k, maxBound);
    }
}
