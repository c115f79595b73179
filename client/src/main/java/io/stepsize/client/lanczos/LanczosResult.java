package io.stepsize.client.lanczos;

import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.ProbeReport;
import java.util.Arrays;

/**
 * The tridiagonal T_{m'} of one Lanczos probe, in the convention of DESIGN §1.4:
 * {@code alpha[0..m'-1]} is the diagonal, {@code beta[i]} couples i and i+1, and
 * {@code beta[m'-1]} is the residual norm β_{m'} (0 after a breakdown, where the Krylov space
 * became invariant and the Ritz values are exact).
 *
 * @param alpha     diagonal of T, length {@code steps}
 * @param beta      off-diagonal and residual norm, length {@code steps}
 * @param steps     m', the number of Lanczos steps done (≤ the m requested)
 * @param brokeDown true when β fell to rounding level and the run stopped there
 */
public record LanczosResult(double[] alpha, double[] beta, int steps, boolean brokeDown) {

    public LanczosResult {
        if (alpha.length != steps || beta.length != steps) {
            throw new IllegalArgumentException("alpha and beta must have length steps = " + steps
                    + ", got " + alpha.length + " and " + beta.length);
        }
        alpha = alpha.clone();
        beta = beta.clone();
    }

    @Override
    public double[] alpha() {
        return alpha.clone();
    }

    @Override
    public double[] beta() {
        return beta.clone();
    }

    /** β_{m'}, the norm of the last residual; 0 after a breakdown. */
    public double residualNorm() {
        return beta[steps - 1];
    }

    /** The proto payload of this probe. */
    public LanczosProbe toLanczosProbe() {
        LanczosProbe.Builder b = LanczosProbe.newBuilder();
        for (double a : alpha) {
            b.addAlpha(a);
        }
        for (double x : beta) {
            b.addBeta(x);
        }
        return b.build();
    }

    /** The probe report a trainer publishes for global step {@code step}. */
    public ProbeReport toProbe(String jobId, long step, String workerId) {
        return ProbeReport.newBuilder()
                .setJobId(jobId)
                .setStep(step)
                .setWorkerId(workerId)
                .setLanczos(toLanczosProbe())
                .build();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LanczosResult r && steps == r.steps && brokeDown == r.brokeDown
                && Arrays.equals(alpha, r.alpha) && Arrays.equals(beta, r.beta);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * Arrays.hashCode(alpha) + Arrays.hashCode(beta)) + 2 * steps + (brokeDown ? 1 : 0);
    }

    @Override
    public String toString() {
        return "LanczosResult[steps=" + steps + ", brokeDown=" + brokeDown
                + ", alpha=" + Arrays.toString(alpha) + ", beta=" + Arrays.toString(beta) + "]";
    }
}
