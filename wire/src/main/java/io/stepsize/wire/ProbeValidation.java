package io.stepsize.wire;

import io.stepsize.proto.v1.LanczosProbe;
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

    /** The first violated rule of a proto probe, or empty. */
    public static Optional<String> violation(LanczosProbe probe) {
        return violation(toArray(probe.getAlphaList()), toArray(probe.getBetaList()));
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
