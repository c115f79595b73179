package io.stepsize.client.lanczos;

/**
 * The operator P^{-1/2}·H·P^{-1/2} of DESIGN §1.7 for a diagonal P, as an HVP: the curvature that an
 * Adam step sees, P = diag(√v̂ + ε) from the optimizer's second moments. It is symmetric when H is,
 * and similar to P^{-1}H, whose eigenvalues are what Adam's stability threshold bounds.
 *
 * <p>{@link LanczosDriver} marks a run on this operator {@code OPERATOR_PRECONDITIONED}, and a
 * gradient start on it begins at the normalized P^{-1/2}g ({@link #toOperatorCoordinates}): in the
 * coordinates y = P^{1/2}θ the Hessian is this operator, the gradient is P^{-1/2}g, and Adam's
 * step (momentum aside) is plain gradient descent there.
 */
public final class PreconditionedHvp implements Hvp {

    private final Hvp hessian;
    private final double[] scaling; // P^{-1/2}
    private final double[] work;

    private PreconditionedHvp(Hvp hessian, double[] scaling) {
        this.hessian = hessian;
        this.scaling = scaling;
        this.work = new double[scaling.length];
    }

    /** For the diagonal {@code p} of P (every entry finite and > 0; copied). */
    public static PreconditionedHvp of(Hvp hessian, double[] p) {
        if (p.length < 1) {
            throw new IllegalArgumentException("the diagonal of P must have at least one entry");
        }
        double[] scaling = new double[p.length];
        for (int i = 0; i < p.length; i++) {
            if (!(p[i] > 0.0) || !Double.isFinite(p[i])) {
                throw new IllegalArgumentException("P[" + i + "] must be finite and > 0, got " + p[i]);
            }
            scaling[i] = 1.0 / Math.sqrt(p[i]);
        }
        return new PreconditionedHvp(hessian, scaling);
    }

    /**
     * P = diag(√v̂ + ε) of Adam/AdamW after {@code step} ≥ 1 updates: v̂ = v / (1 − β₂^step), v the
     * exponential average of squared gradients ({@code exp_avg_sq} in PyTorch; {@code max_exp_avg_sq}
     * with amsgrad), exactly the denominator of the optimizer's update.
     */
    public static PreconditionedHvp adam(Hvp hessian, double[] secondMoment, long step, double beta2, double eps) {
        if (step < 1) {
            throw new IllegalArgumentException("step must be >= 1 (Adam has no second moments before its first "
                    + "update), got " + step);
        }
        if (!(beta2 >= 0.0 && beta2 < 1.0)) {
            throw new IllegalArgumentException("beta2 must be in [0, 1), got " + beta2);
        }
        if (!(eps > 0.0) || !Double.isFinite(eps)) {
            throw new IllegalArgumentException("eps must be finite and > 0, got " + eps);
        }
        double correction = 1.0 - Math.pow(beta2, step);
        double[] p = new double[secondMoment.length];
        for (int i = 0; i < p.length; i++) {
            if (!(secondMoment[i] >= 0.0) || !Double.isFinite(secondMoment[i])) {
                throw new IllegalArgumentException("secondMoment[" + i + "] must be finite and >= 0, got "
                        + secondMoment[i]);
            }
            p[i] = Math.sqrt(secondMoment[i] / correction) + eps;
        }
        return of(hessian, p);
    }

    public int dimension() {
        return scaling.length;
    }

    /** P^{-1/2}·g: a gradient of the parameters in the coordinates where this operator is the Hessian. */
    public double[] toOperatorCoordinates(double[] g) {
        if (g.length != scaling.length) {
            throw new IllegalArgumentException("gradient has " + g.length + " entries, P has " + scaling.length);
        }
        double[] out = new double[g.length];
        for (int i = 0; i < g.length; i++) {
            out[i] = scaling[i] * g[i];
        }
        return out;
    }

    /** Not thread-safe: one scratch vector is reused. */
    @Override
    public void apply(double[] v, double[] out) {
        for (int i = 0; i < v.length; i++) {
            work[i] = scaling[i] * v[i];
        }
        hessian.apply(work, out);
        for (int i = 0; i < out.length; i++) {
            out[i] *= scaling[i];
        }
    }
}
