package io.stepsize.wire;

import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Start;
import io.stepsize.schedule.Checks;
import io.stepsize.schedule.InvalidFieldException;
import java.util.List;
import java.util.Optional;

/**
 * The rules a Lanczos probe must satisfy before any math touches it (DESIGN §4): lengths
 * equal, 1 ≤ m ≤ 1,000, every number finite, beta[i] ≥ 0. Rules are checked in that order
 * and the first violation is reported; the message names the field and the rule, because it
 * travels to a person through the dead-letter topic's headers or an INVALID_ARGUMENT status.
 */
public final class ProbeValidation {

    /** Largest m a probe may carry. */
    public static final int MAX_STEPS = 1000;

    /** Most per-microbatch gradient norms a probe may carry (800 KB of doubles, under the record limit). */
    public static final int MAX_MICROBATCH_GRAD_NORMS = 100_000;

    private ProbeValidation() {
    }

    /** The first violated rule, or empty when the probe is valid. */
    public static Optional<String> violation(double[] alpha, double[] beta) {
        if (alpha == null || beta == null) {
            return Optional.of("lanczos.alpha and lanczos.beta must be present");
        }
        if (alpha.length != beta.length) {
            return Optional.of("lanczos.alpha and lanczos.beta must have equal lengths, got "
                    + alpha.length + " and " + beta.length);
        }
        int m = alpha.length;
        if (m < 1 || m > MAX_STEPS) {
            return Optional.of("lanczos must have 1 <= m <= " + MAX_STEPS + " steps, got m = " + m);
        }
        for (int i = 0; i < m; i++) {
            if (!Double.isFinite(alpha[i])) {
                return Optional.of("lanczos.alpha[" + i + "] must be finite, got " + alpha[i]);
            }
        }
        for (int i = 0; i < m; i++) {
            if (!Double.isFinite(beta[i])) {
                return Optional.of("lanczos.beta[" + i + "] must be finite, got " + beta[i]);
            }
            if (beta[i] < 0.0) {
                return Optional.of("lanczos.beta[" + i + "] must be >= 0, got " + beta[i]);
            }
        }
        return Optional.empty();
    }

    /**
     * The first violated rule of a whole report, or empty: its ids ({@link FieldRules}), step >= 0,
     * a payload, the Lanczos rules above or the gradient statistics' (loss finite, grad_norm and
     * every microbatch norm finite and >= 0, at most {@link #MAX_MICROBATCH_GRAD_NORMS} of them), and
     * the record size. What needs the job (the step below total_steps, the job known) is the
     * reader's to check, against its own view of the job.
     */
    public static Optional<String> violation(ProbeReport report) {
        Optional<String> ids = FieldRules.jobIdViolation(report.getJobId())
                .or(() -> FieldRules.workerIdViolation(report.getWorkerId()));
        if (ids.isPresent()) {
            return ids;
        }
        if (report.getStep() < 0) {
            return Optional.of("step: must be >= 0 (got " + report.getStep() + ")");
        }
        Optional<String> payload = switch (report.getPayloadCase()) {
            case LANCZOS -> violation(report.getLanczos());
            case GRADIENT -> violation(report.getGradient());
            case PAYLOAD_NOT_SET -> Optional.of("payload: one of lanczos or gradient is required");
        };
        return payload.or(() -> FieldRules.recordSizeViolation("probe", report.getSerializedSize()));
    }

    /** The first violated rule of gradient statistics, or empty; fields are named under {@code gradient.}. */
    public static Optional<String> violation(GradientStats g) {
        try {
            Checks.finite("gradient.loss", g.getLoss());
            Checks.finiteNonNegative("gradient.grad_norm", g.getGradNorm());
            int n = g.getMicrobatchGradNormsCount();
            if (n > MAX_MICROBATCH_GRAD_NORMS) {
                return Optional.of("gradient.microbatch_grad_norms: must have at most " + MAX_MICROBATCH_GRAD_NORMS
                        + " values (got " + n + ")");
            }
            for (int i = 0; i < n; i++) {
                Checks.finiteNonNegative("gradient.microbatch_grad_norms[" + i + "]", g.getMicrobatchGradNorms(i));
            }
            return Optional.empty();
        } catch (InvalidFieldException e) {
            return Optional.of(e.getMessage());
        }
    }

    /**
     * A Lanczos probe older than the newest step already processed for its job is out of order: the
     * estimator's state has moved past it. The estimator dead-letters such a probe with this reason,
     * and the service refuses it with it up front when its view already shows the newer step.
     * Gradient statistics are not subject to it.
     *
     * @param newestStep the job's newest processed probe step
     */
    public static Optional<String> outOfOrder(long step, long newestStep) {
        return step < newestStep
                ? Optional.of("step: out of order, older than the job's latest processed step " + newestStep
                        + " (got " + step + ")")
                : Optional.empty();
    }

    /**
     * The first violated rule of a proto probe, or empty: known {@code start} and {@code operator}
     * values (a value this version does not know cannot be read as either of the known ones, since
     * the statistics of DESIGN §1.7 and the smoothing depend on them), then the rules of T_m. A
     * START_GRADIENT probe's alpha[0] = ĝᵀHĝ falls under the finite-numbers rule like every alpha.
     */
    public static Optional<String> violation(LanczosProbe probe) {
        if (probe.getStart() == Start.UNRECOGNIZED) {
            return Optional.of(unknown("lanczos.start", Start.values(), probe.getStartValue()));
        }
        if (probe.getOperator() == Operator.UNRECOGNIZED) {
            return Optional.of(unknown("lanczos.operator", Operator.values(), probe.getOperatorValue()));
        }
        return violation(toArray(probe.getAlphaList()), toArray(probe.getBetaList()));
    }

    /**
     * A Lanczos probe of Adam's preconditioned operator (DESIGN §1.7) for a job whose optimizer is not
     * AdamW: no such operator exists for that job, and its spectrum would be read as the Hessian's.
     * The reason names the field, the rule and the job's optimizer as its spec says it.
     */
    public static Optional<String> operatorViolation(LanczosProbe probe, JobSpec job) {
        if (probe.getOperator() == Operator.OPERATOR_PRECONDITIONED
                && job.getOptimizer() != io.stepsize.proto.v1.Optimizer.OPTIMIZER_ADAMW) {
            return Optional.of("lanczos.operator: OPERATOR_PRECONDITIONED needs an OPTIMIZER_ADAMW job (job '"
                    + job.getJobId() + "' is " + job.getOptimizer() + ")");
        }
        return Optional.empty();
    }

    /**
     * The probes of one step must share an operator (DESIGN §1.7): their densities are averaged, and
     * the Hessian's and the preconditioned operator's spectra are not one spectrum. The estimator keeps
     * the first operator a step's probes arrived with and dead-letters a later probe of another.
     */
    public static Optional<String> mixedOperator(long step, boolean stepPreconditioned, boolean preconditioned) {
        return stepPreconditioned == preconditioned
                ? Optional.empty()
                : Optional.of("lanczos.operator: " + name(preconditioned) + " differs from the " + name(stepPreconditioned)
                        + " of the earlier probes of step " + step + "; the probes of one step must share an operator");
    }

    /** The name of an operator as a reason shows it: the Hessian's is OPERATOR_HESSIAN, set or not. */
    private static String name(boolean preconditioned) {
        return (preconditioned ? Operator.OPERATOR_PRECONDITIONED : Operator.OPERATOR_HESSIAN).name();
    }

    private static String unknown(String field, Enum<?>[] values, int got) {
        StringBuilder known = new StringBuilder();
        for (Enum<?> v : values) {
            if (!v.name().equals("UNRECOGNIZED")) {
                known.append(known.length() == 0 ? "" : ", ").append(v.name());
            }
        }
        return field + ": must be one of " + known + " (got " + got + ")";
    }

    /** Throws {@link InvalidProbeException} with the rule's message when the probe is invalid. */
    public static void check(double[] alpha, double[] beta) {
        Optional<String> v = violation(alpha, beta);
        if (v.isPresent()) {
            throw new InvalidProbeException(v.get());
        }
    }

    /** Throws {@link InvalidProbeException} with the rule's message when the probe is invalid. */
    public static void check(LanczosProbe probe) {
        check(toArray(probe.getAlphaList()), toArray(probe.getBetaList()));
    }

    /** Unboxes a proto repeated double. */
    public static double[] toArray(List<Double> values) {
        double[] a = new double[values.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = values.get(i);
        }
        return a;
    }
}
