package io.stepsize.client.lanczos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lanczos + Ritz values against matrices whose spectrum is known exactly (n = 2,000). */
class LanczosKnownSpectrumTest {

    private static final int N = 2000;

    @Test
    void isolatedTopEigenvalueIsFoundWithin1e8RelativeAtM20() {
        double[] lambda = Spectra.uniformPlus(N, 0.0, 10.0, 100.0);
        KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 3, 11);
        LanczosResult r = LanczosDriver.of(20).run(h, N, 42);
        RitzReference ritz = RitzReference.of(r);

        double relError = Math.abs(ritz.max() - 100.0) / 100.0;
        assertThat(r.steps()).isEqualTo(20);
        assertThat(r.brokeDown()).isFalse();
        assertThat(relError).isLessThan(1e-8);
        // converged: the bound itself certifies the accuracy
        assertThat(ritz.bound()[19]).isLessThan(1e-8 * 100.0);
    }

    @Test
    void negativeLambdaMinOfAnIndefiniteSpectrumIsFoundWithItsSign() {
        double[] lambda = Spectra.uniformPlus(N, 0.1, 10.0, -5.0);
        lambda[0] = 50.0; // an isolated top as well: both ends at once
        KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 4, 12);
        LanczosResult r = LanczosDriver.of(20).withStartVector(StartVector.GAUSSIAN).run(h, N, 7);
        RitzReference ritz = RitzReference.of(r);

        assertThat(ritz.min()).isNegative();
        assertThat(Math.abs(ritz.min() + 5.0) / 5.0).isLessThan(1e-8);
        assertThat(Math.abs(ritz.max() - 50.0) / 50.0).isLessThan(1e-8);
    }

    @Test
    void everyRitzValueHasATrueEigenvalueWithinItsResidualBound() {
        List<double[]> spectra = new ArrayList<>();
        spectra.add(Spectra.uniformPlus(N, 0.0, 10.0, 100.0));
        spectra.add(Spectra.uniformPlus(N, 0.1, 10.0, -5.0));
        spectra.add(clustered());
        double[] random = new double[N];
        java.util.SplittableRandom g = new java.util.SplittableRandom(3);
        for (int i = 0; i < N; i++) {
            random[i] = g.nextGaussian();
        }
        spectra.add(random);
        int checked = 0;
        double worstRatio = 0.0;
        for (double[] lambda : spectra) {
            for (int m : new int[] {5, 20, 60}) {
                for (long seed = 1; seed <= 2; seed++) {
                    KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 3, 100 + seed);
                    RitzReference ritz = RitzReference.of(LanczosDriver.of(m).run(h, N, seed));
                    for (int i = 0; i < ritz.theta().length; i++) {
                        double d = RitzReference.distanceToSpectrum(ritz.theta()[i], lambda);
                        worstRatio = Math.max(worstRatio, d / ritz.bound()[i]);
                        assertThat(d).as("theta %s, m %s", ritz.theta()[i], m).isLessThanOrEqualTo(ritz.bound()[i]);
                        checked++;
                    }
                }
            }
        }
        assertThat(checked).isEqualTo(4 * 2 * (5 + 20 + 60));
        // measured 0.50: the bounds are valid yet not wildly pessimistic
        assertThat(worstRatio).isGreaterThan(0.01);
    }

    @Test
    void clusteredSpectrumConvergesSlowlyAtTheBottomAndItsBoundSaysSo() {
        double[] lambda = clustered();
        double trueMin = Spectra.min(lambda);
        KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 3, 13);
        RitzReference ritz = RitzReference.of(LanczosDriver.of(20).run(h, N, 5));
        double theta1 = ritz.min();
        double r1 = ritz.bound()[0];
        // truly unconverged: 7e-4 above λ_min, i.e. 7 % relative
        assertThat(theta1 - trueMin).isGreaterThan(0.03 * trueMin);
        // the bound is honest: it is larger than the actual distance to λ_min (measured ×5.9)
        assertThat(r1).isGreaterThan(2.0 * (theta1 - trueMin));
        // so smallest_positive (default tol 1e-2) must skip every Ritz value but the top one …
        for (int i = 0; i < 19; i++) {
            assertThat(ritz.bound()[i]).isGreaterThan(1e-2 * ritz.theta()[i]);
        }
        assertThat(ritz.bound()[19]).isLessThan(1e-2 * ritz.theta()[19]);
        // … and with tol 1e-3 nothing qualifies, so it falls back to the floor rule
        for (int i = 0; i < 20; i++) {
            assertThat(ritz.bound()[i]).isGreaterThan(1e-3 * ritz.theta()[i]);
        }
    }

    @Test
    void fewDistinctEigenvaluesBreakDownAtKWithExactRitzValues() {
        double[] distinct = {-2.0, 0.5, 1.0, 3.0, 7.0};
        double[] lambda = new double[N];
        for (int i = 0; i < N; i++) {
            lambda[i] = distinct[i % distinct.length];
        }
        KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 3, 14);
        LanczosResult r = LanczosDriver.of(20).run(h, N, 9);
        // the residual the 1e-10 threshold cut off was rounding noise (measured 1.1e-13 absolute)
        LanczosResult noTolerance = LanczosDriver.of(5).withBreakdownTolerance(0).run(h, N, 9);
        assertThat(noTolerance.residualNorm()).isLessThan(1e-12).isPositive();
        assertThat(r.steps()).isEqualTo(5);
        assertThat(r.brokeDown()).isTrue();
        assertThat(r.residualNorm()).isZero();
        RitzReference ritz = RitzReference.of(r);
        for (int i = 0; i < 5; i++) {
            assertThat(ritz.theta()[i]).isCloseTo(distinct[i], org.assertj.core.data.Offset.offset(1e-12 * 7.0));
        }
    }

    /**
     * 2,000 eigenvalues in [0.01, 1] crowded toward both ends (arcsine law, spacing ~1e-6 at
     * the edges): no extreme eigenvalue is isolated, so nothing converges in 20 steps.
     */
    static double[] clustered() {
        double[] l = new double[N];
        for (int i = 0; i < N; i++) {
            double t = (double) i / (N - 1);
            double s = (1 - Math.cos(Math.PI * t)) / 2;
            l[i] = 0.01 + 0.99 * (1 - Math.cos(Math.PI * s)) / 2;
        }
        return l;
    }
}
