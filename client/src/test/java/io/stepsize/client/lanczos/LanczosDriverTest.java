package io.stepsize.client.lanczos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.proto.v1.ProbeReport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.api.Test;

class LanczosDriverTest {

    @Test
    void basisStaysOrthonormalAndTIsItsProjectionAfterConvergence() {
        // an isolated top converges within ~10 steps; plain Lanczos would then lose
        // orthogonality and duplicate it. The HVP sees each q_j, so record them.
        int n = 2000;
        double[] lambda = Spectra.uniformPlus(n, 0.0, 1.0, 100.0);
        KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 3, 21);
        List<double[]> q = new ArrayList<>();
        List<double[]> hq = new ArrayList<>();
        LanczosResult r = LanczosDriver.of(60).run((v, out) -> {
            h.apply(v, out);
            q.add(v.clone());
            hq.add(out.clone());
        }, n, 1);

        assertThat(r.steps()).isEqualTo(60);
        double worstOrth = 0.0;
        double worstProjection = 0.0;
        double[] alpha = r.alpha();
        double[] beta = r.beta();
        for (int i = 0; i < 60; i++) {
            for (int j = 0; j < 60; j++) {
                double g = Vectors.dot(q.get(i), q.get(j));
                worstOrth = Math.max(worstOrth, Math.abs(g - (i == j ? 1.0 : 0.0)));
                double t = i == j ? alpha[i] : Math.abs(i - j) == 1 ? beta[Math.min(i, j)] : 0.0;
                worstProjection = Math.max(worstProjection, Math.abs(Vectors.dot(q.get(i), hq.get(j)) - t));
            }
        }
        assertThat(worstOrth).isLessThan(1e-13);
        assertThat(worstProjection).isLessThan(1e-12 * 100.0);
        // no ghost copy of the converged top eigenvalue
        double[] theta = RitzReference.of(r).theta();
        assertThat(theta[58]).isLessThan(1.0 + 1e-9);
    }

    @Test
    void denseN300MatchesEjmlsEigenvalues() {
        int n = 300;
        SplittableRandom g = new SplittableRandom(300);
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double x = g.nextGaussian();
                a[i * n + j] = x;
                a[j * n + i] = x;
            }
        }
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, false, true);
        assertThat(eig.decompose(new DMatrixRMaj(n, n, true, a))).isTrue();
        double[] reference = new double[n];
        for (int i = 0; i < n; i++) {
            reference[i] = eig.getEigenvalue(i).real;
        }
        Arrays.sort(reference);
        double scale = Math.max(-reference[0], reference[n - 1]);
        DenseHvp h = DenseHvp.ofRowMajor(a, n);

        // m = n: the whole spectrum, exactly
        RitzReference full = RitzReference.of(LanczosDriver.of(n).run(h, n, 3));
        assertThat(full.theta()).hasSize(n);
        for (int i = 0; i < n; i++) {
            assertThat(Math.abs(full.theta()[i] - reference[i])).isLessThan(1e-11 * scale);
        }
        // m = 40: every bound contains an eigenvalue of the dense reference
        RitzReference part = RitzReference.of(LanczosDriver.of(40).run(h, n, 4));
        for (int i = 0; i < 40; i++) {
            assertThat(RitzReference.distanceToSpectrum(part.theta()[i], reference)).isLessThanOrEqualTo(part.bound()[i]);
        }
    }

    @Test
    void sameSeedGivesTheSameProbeAndAnotherSeedAnother() {
        double[] lambda = Spectra.uniformPlus(500, -1.0, 1.0, 3.0);
        KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 2, 5);
        LanczosDriver d = LanczosDriver.of(10).withStartVector(StartVector.GAUSSIAN);
        assertThat(d.run(h, 500, 77)).isEqualTo(d.run(h, 500, 77));
        assertThat(d.run(h, 500, 78)).isNotEqualTo(d.run(h, 500, 77));
    }

    @Test
    void startVectorsAreUnitAndRademacherHasEqualMagnitudes() {
        double[] q = new double[1000];
        StartVector.RADEMACHER.fill(q, 1);
        assertThat(Vectors.norm(q)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-15));
        assertThat(Arrays.stream(q).map(Math::abs).distinct().count()).isEqualTo(1);
        assertThat(Arrays.stream(q).filter(x -> x > 0).count()).isBetween(400L, 600L);
        StartVector.GAUSSIAN.fill(q, 1);
        assertThat(Vectors.norm(q)).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-15));
    }

    @Test
    void floatHvpFindsTheTopEigenvalueToFloatAccuracy() {
        int n = 2000;
        double[] lambda = Spectra.uniformPlus(n, 0.0, 10.0, 100.0);
        KnownSpectrumHvp h = KnownSpectrumHvp.of(lambda, 3, 8);
        double[] vd = new double[n];
        double[] od = new double[n];
        FloatHvp floatHvp = (v, out) -> {
            for (int i = 0; i < n; i++) {
                vd[i] = v[i];
            }
            h.apply(vd, od);
            for (int i = 0; i < n; i++) {
                out[i] = (float) od[i];
            }
        };
        RitzReference ritz = RitzReference.of(LanczosDriver.of(20).run(Hvp.ofFloat(floatHvp, n), n, 2));
        assertThat(Math.abs(ritz.max() - 100.0) / 100.0).isLessThan(1e-6);
    }

    @Test
    void zeroMatrixBreaksDownAtTheFirstStep() {
        LanczosResult r = LanczosDriver.of(20).run((v, out) -> Arrays.fill(out, 0.0), 50, 1);
        assertThat(r.steps()).isEqualTo(1);
        assertThat(r.brokeDown()).isTrue();
        assertThat(r.alpha()).containsExactly(0.0);
        assertThat(r.beta()).containsExactly(0.0);
    }

    @Test
    void moreStepsThanDimensionBreaksDownAtN() {
        double[][] rows = new double[10][10];
        for (int i = 0; i < 10; i++) {
            rows[i][i] = i + 1;
        }
        LanczosResult r = LanczosDriver.of(20).run(DenseHvp.of(rows), 10, 6);
        assertThat(r.steps()).isEqualTo(10);
        assertThat(r.brokeDown()).isTrue();
        double[] theta = RitzReference.of(r).theta();
        for (int i = 0; i < 10; i++) {
            assertThat(theta[i]).isCloseTo(i + 1, org.assertj.core.data.Offset.offset(1e-12 * 10));
        }
    }

    @Test
    void toProbeCarriesTheTridiagonalAndTheIds() {
        LanczosResult r = new LanczosResult(new double[] {2.0, 3.0}, new double[] {0.5, 0.25}, 2, false);
        ProbeReport p = r.toProbe("job-1", 123L, "worker-7");
        assertThat(p.getJobId()).isEqualTo("job-1");
        assertThat(p.getStep()).isEqualTo(123L);
        assertThat(p.getWorkerId()).isEqualTo("worker-7");
        assertThat(p.hasLanczos()).isTrue();
        assertThat(p.getLanczos().getAlphaList()).containsExactly(2.0, 3.0);
        assertThat(p.getLanczos().getBetaList()).containsExactly(0.5, 0.25);
        // a result made without start and operator is what every probe was before DESIGN §1.7
        assertThat(p.getLanczos().getStart()).isEqualTo(io.stepsize.proto.v1.Start.START_RANDOM);
        assertThat(p.getLanczos().getOperator()).isEqualTo(io.stepsize.proto.v1.Operator.OPERATOR_HESSIAN);
        assertThat(LanczosDriver.of(2).run(DenseHvp.of(new double[][] {{1, 0}, {0, 2}}), 2, 1).start())
                .isEqualTo(io.stepsize.proto.v1.Start.START_RANDOM);
    }

    @Test
    void resultIsImmutable() {
        double[] alpha = {1.0};
        LanczosResult r = new LanczosResult(alpha, new double[] {0.0}, 1, true);
        alpha[0] = 9.0;
        r.alpha()[0] = 9.0;
        assertThat(r.alpha()).containsExactly(1.0);
    }

    @Test
    void badArgumentsAreRejectedWithTheRule() {
        assertThatThrownBy(() -> LanczosDriver.of(0)).hasMessage("steps must satisfy 1 <= m <= 1000, got 0");
        assertThatThrownBy(() -> LanczosDriver.of(1001)).hasMessage("steps must satisfy 1 <= m <= 1000, got 1001");
        assertThatThrownBy(() -> LanczosDriver.of(5).run((v, o) -> { }, 0, 1))
                .hasMessage("dimension n must be >= 1, got 0");
        assertThatThrownBy(() -> LanczosDriver.of(5).run((v, o) -> Arrays.fill(o, Double.NaN), 4, 1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("HVP returned a non-finite vector at Lanczos step 1");
        assertThatThrownBy(() -> DenseHvp.of(new double[][] {{1, 2}, {3, 4}}))
                .hasMessage("matrix is not symmetric at (1, 0)");
        assertThatThrownBy(() -> new LanczosResult(new double[2], new double[1], 2, false))
                .hasMessage("alpha and beta must have length steps = 2, got 2 and 1");
    }
}
