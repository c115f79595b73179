package io.stepsize.client.lanczos;

import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Start;
import java.util.Arrays;
import java.util.Objects;

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
 * @param start     the start vector the run really used: {@code START_GRADIENT} or {@code START_RANDOM}
 *                  (a zero gradient falls back to random, see {@link LanczosDriver#runFromGradient})
 * @param operator  {@code OPERATOR_HESSIAN}, or {@code OPERATOR_PRECONDITIONED} for a {@link PreconditionedHvp}
 */
public record LanczosResult(double[] alpha, double[] beta, int steps, boolean brokeDown, Start start,
        Operator operator) {

    public LanczosResult {
        if (alpha.length != steps || beta.length != steps) {
            throw new IllegalArgumentException("alpha and beta must have length steps = " + steps
                    + ", got " + alpha.length + " and " + beta.length);
        }
        Objects.requireNonNull(start, "start");
        Objects.requireNonNull(operator, "operator");
        alpha = alpha.clone();
        beta = beta.clone();
    }

    /** A random-start probe of the Hessian (what every probe was before DESIGN §1.7). */
    public LanczosResult(double[] alpha, double[] beta, int steps, boolean brokeDown) {
        this(alpha, beta, steps, brokeDown, Start.START_RANDOM, Operator.OPERATOR_HESSIAN);
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

    /** The proto payload of this probe, with its start and operator. */
    public LanczosProbe toLanczosProbe() {
        LanczosProbe.Builder b = LanczosProbe.newBuilder().setStart(start).setOperator(operator);
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
                && Arrays.equals(alpha, r.alpha) && Arrays.equals(beta, r.beta) && start == r.start
                && operator == r.operator;
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(alpha), Arrays.hashCode(beta), steps, brokeDown, start, operator);
    }

    @Override
    public String toString() {
        return "LanczosResult[steps=" + steps + ", brokeDown=" + brokeDown + ", start=" + start
                + ", operator=" + operator + ", alpha=" + Arrays.toString(alpha) + ", beta=" + Arrays.toString(beta) + "]";
    }
}
