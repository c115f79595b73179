package io.stepsize.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.proto.v1.LanczosProbe;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProbeValidationTest {

    private static String message(double[] alpha, double[] beta) {
        return ProbeValidation.violation(alpha, beta).orElse("valid");
    }

    @Test
    void validProbesPass() {
        assertThat(message(new double[] {1.0, -2.0}, new double[] {0.5, 0.0})).isEqualTo("valid");
        assertThat(message(new double[1000], new double[1000])).isEqualTo("valid");
        assertThat(message(new double[] {1.0}, new double[] {-0.0})).isEqualTo("valid");
    }

    @Test
    void nonFiniteNumbersNameTheEntry() {
        assertThat(message(new double[] {1, Double.NaN}, new double[] {1, 1}))
                .isEqualTo("lanczos.alpha[1] must be finite, got NaN");
        assertThat(message(new double[] {Double.POSITIVE_INFINITY}, new double[] {1}))
                .isEqualTo("lanczos.alpha[0] must be finite, got Infinity");
        assertThat(message(new double[] {1, 2}, new double[] {1, Double.NEGATIVE_INFINITY}))
                .isEqualTo("lanczos.beta[1] must be finite, got -Infinity");
        assertThat(message(new double[] {1, 2}, new double[] {Double.NaN, 1}))
                .isEqualTo("lanczos.beta[0] must be finite, got NaN");
    }

    @Test
    void negativeBetaIsRejected() {
        assertThat(message(new double[] {1, 2, 3}, new double[] {1, -0.5, 1}))
                .isEqualTo("lanczos.beta[1] must be >= 0, got -0.5");
    }

    @Test
    void lengthsAndStepCount() {
        assertThat(message(new double[] {1, 2, 3}, new double[] {1, 2}))
                .isEqualTo("lanczos.alpha and lanczos.beta must have equal lengths, got 3 and 2");
        assertThat(message(new double[0], new double[0]))
                .isEqualTo("lanczos must have 1 <= m <= 1000 steps, got m = 0");
        assertThat(message(new double[1001], new double[1001]))
                .isEqualTo("lanczos must have 1 <= m <= 1000 steps, got m = 1001");
        assertThat(message(null, new double[1])).isEqualTo("lanczos.alpha and lanczos.beta must be present");
    }

    @Test
    void checkThrowsTheSameMessageAndReadsProtoProbes() {
        assertThatThrownBy(() -> ProbeValidation.check(new double[] {1}, new double[] {-1}))
                .isInstanceOf(InvalidProbeException.class)
                .hasMessage("lanczos.beta[0] must be >= 0, got -1.0");
        LanczosProbe empty = LanczosProbe.getDefaultInstance();
        assertThatThrownBy(() -> ProbeValidation.check(empty))
                .hasMessage("lanczos must have 1 <= m <= 1000 steps, got m = 0");
        LanczosProbe ok = LanczosProbe.newBuilder().addAllAlpha(List.of(1.0, 2.0)).addAllBeta(List.of(0.5, 0.1)).build();
        assertThat(ProbeValidation.violation(ok)).isEmpty();
    }
}
