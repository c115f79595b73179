package io.stepsize.client.lanczos;

import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.Start;
import io.stepsize.wire.ProbeValidation;
import java.util.Arrays;

/**
 * Runs m steps of the symmetric Lanczos process on an HVP, on the trainer, where the vectors
 * live; only the tridiagonal (alpha, beta) leaves the process.
 *
 * <p>Every new vector is reorthogonalized against ALL previous ones, twice, by classical
 * Gram–Schmidt ("twice is enough": after the second pass the basis is orthonormal to a few
 * ulps whatever the first pass lost). Without it, the finite-precision Lanczos basis loses
 * orthogonality as soon as a Ritz value converges and T_m grows spurious copies of converged
 * eigenvalues ("ghosts"), which would corrupt the SLQ weights and the residual bounds that
 * the estimator relies on. The cost, 4·j·n flops at step j, is small next to an HVP for
 * m ≈ 20; the memory is m·n doubles.
 *
 * <p>A probe starts at the normalized minibatch gradient ({@link #runFromGradient}, DESIGN §1.7:
 * alpha[0] = ĝᵀHĝ and the SLQ weights are the gradient's energy per Ritz direction) or at a seeded
 * random vector ({@link #run(Hvp, int, long)}). A run on a {@link PreconditionedHvp} is marked
 * {@code OPERATOR_PRECONDITIONED}; every other HVP is taken to be the Hessian.
 *
 * <p>Instances are immutable; {@code with…} methods return modified copies.
 */
public final class LanczosDriver {

    /** Largest m a probe may carry (DESIGN §4). */
    public static final int MAX_STEPS = ProbeValidation.MAX_STEPS;

    /**
     * Default breakdown threshold, relative to the largest ‖H q_j‖ seen. After two
     * Gram–Schmidt passes the residual of an invariant subspace is rounding noise, about
     * 1e-15 of the scale (measured 1.1e-13 against a scale of ~7 for n = 2,000); 1e-10 separates
     * that noise from any
     * residual worth another step by four orders of magnitude while perturbing T by at most
     * 1e-10 of its norm when it declares a breakdown.
     */
    public static final double DEFAULT_BREAKDOWN_TOLERANCE = 1e-10;

    private final int steps;
    private final StartVector startVector;
    private final double breakdownTolerance;

    private LanczosDriver(int steps, StartVector startVector, double breakdownTolerance) {
        if (steps < 1 || steps > MAX_STEPS) {
            throw new IllegalArgumentException("steps must satisfy 1 <= m <= " + MAX_STEPS + ", got " + steps);
        }
        if (!(breakdownTolerance >= 0.0 && breakdownTolerance < 1.0)) {
            throw new IllegalArgumentException("breakdownTolerance must be in [0, 1), got " + breakdownTolerance);
        }
        this.steps = steps;
        this.startVector = startVector;
        this.breakdownTolerance = breakdownTolerance;
    }

    /** A driver for m Lanczos steps from a Rademacher start vector. */
    public static LanczosDriver of(int steps) {
        return new LanczosDriver(steps, StartVector.RADEMACHER, DEFAULT_BREAKDOWN_TOLERANCE);
    }

    public LanczosDriver withStartVector(StartVector startVector) {
        return new LanczosDriver(steps, startVector, breakdownTolerance);
    }

    public LanczosDriver withBreakdownTolerance(double tolerance) {
        return new LanczosDriver(steps, startVector, tolerance);
    }

    public int steps() {
        return steps;
    }

    /** Runs on an HVP of dimension n from the seeded random start vector ({@code START_RANDOM}). */
    public LanczosResult run(Hvp hvp, int n, long seed) {
        if (n < 1) {
            throw new IllegalArgumentException("dimension n must be >= 1, got " + n);
        }
        double[] q = new double[n];
        startVector.fill(q, seed);
        return runNormalized(hvp, q, Start.START_RANDOM);
    }

    /**
     * Runs from a given start vector (normalized here; it must be finite and non-zero). The result
     * says {@code START_RANDOM}: a vector the driver knows nothing about is read as a density probe;
     * a gradient start goes through {@link #runFromGradient}.
     */
    public LanczosResult run(Hvp hvp, double[] start) {
        return runNormalized(hvp, normalized(start, "start vector"), Start.START_RANDOM);
    }

    /**
     * Runs from the normalized {@code gradient} of the probe's own batch at the probed weights
     * ({@code START_GRADIENT}); on a {@link PreconditionedHvp} from the normalized P^{-1/2}g, the
     * gradient in the coordinates where that operator is the Hessian. A gradient that is exactly zero
     * (a stationary point) has no direction: the run falls back to the random start of {@code seed}
     * and says {@code START_RANDOM}, so the estimator reads it as the density probe it is. A gradient
     * that is not finite is an error: the weights or the loss have diverged.
     *
     * @throws ArithmeticException when the gradient has a non-finite entry
     */
    public LanczosResult runFromGradient(Hvp hvp, double[] gradient, long seed) {
        double[] g = hvp instanceof PreconditionedHvp p ? p.toOperatorCoordinates(gradient) : gradient.clone();
        double norm = Vectors.norm(g);
        if (!Double.isFinite(norm)) {
            throw new ArithmeticException("gradient start: the gradient is not finite (norm = " + norm
                    + "): the weights or the loss have diverged");
        }
        if (norm == 0.0) {
            return run(hvp, g.length, seed);
        }
        Vectors.scale(g, 1.0 / norm);
        return runNormalized(hvp, g, Start.START_GRADIENT);
    }

    private static double[] normalized(double[] v, String what) {
        double norm = Vectors.norm(v);
        if (!(norm > 0.0) || !Double.isFinite(norm)) {
            throw new IllegalArgumentException(what + " must be finite and non-zero, norm = " + norm);
        }
        double[] q = v.clone();
        Vectors.scale(q, 1.0 / norm);
        return q;
    }

    private LanczosResult runNormalized(Hvp hvp, double[] q0, Start start) {
        int n = q0.length;
        double[][] basis = new double[steps][];
        double[] alpha = new double[steps];
        double[] beta = new double[steps];
        double[] coefficients = new double[steps];
        basis[0] = q0;
        double scale = 0.0; // running lower bound on ‖H‖: max ‖H q_j‖
        int done = 0;
        boolean brokeDown = false;
        for (int j = 0; j < steps; j++) {
            double[] qj = basis[j];
            double[] w = new double[n];
            hvp.apply(qj, w);
            double normHq = Vectors.norm(w);
            if (!Double.isFinite(normHq)) {
                throw new IllegalStateException("HVP returned a non-finite vector at Lanczos step " + (j + 1));
            }
            scale = Math.max(scale, normHq);

            double a = Vectors.dot(qj, w);
            Vectors.axpy(-a, qj, w);
            if (j > 0) {
                Vectors.axpy(-beta[j - 1], basis[j - 1], w);
            }
            for (int pass = 0; pass < 2; pass++) {
                // classical Gram–Schmidt: all coefficients against the same w, then subtract
                for (int i = 0; i <= j; i++) {
                    coefficients[i] = Vectors.dot(basis[i], w);
                }
                for (int i = 0; i <= j; i++) {
                    Vectors.axpy(-coefficients[i], basis[i], w);
                }
                // the q_j component is a correction to the Rayleigh quotient (as ARPACK does);
                // the others are lost orthogonality, not part of T, and are simply removed
                a += coefficients[j];
            }
            alpha[j] = a;
            double b = Vectors.norm(w);
            done = j + 1;
            if (b <= breakdownTolerance * scale) {
                // the Krylov space is invariant: T_{j+1} holds exact eigenvalues of H
                beta[j] = 0.0;
                brokeDown = true;
                break;
            }
            beta[j] = b;
            if (j + 1 < steps) {
                Vectors.scale(w, 1.0 / b);
                basis[j + 1] = w;
            }
        }
        Operator operator = hvp instanceof PreconditionedHvp
                ? Operator.OPERATOR_PRECONDITIONED : Operator.OPERATOR_HESSIAN;
        return new LanczosResult(Arrays.copyOf(alpha, done), Arrays.copyOf(beta, done),
                done, brokeDown, start, operator);
    }
}
