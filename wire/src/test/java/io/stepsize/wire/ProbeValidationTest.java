package io.stepsize.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.Optimizer;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Start;
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

    private static ProbeReport.Builder lanczosReport() {
        return ProbeReport.newBuilder().setJobId("job-1").setStep(3).setWorkerId("w0")
                .setLanczos(LanczosProbe.newBuilder().addAlpha(2).addAlpha(8).addBeta(0.5).addBeta(0));
    }

    private static ProbeReport.Builder gradientReport(GradientStats.Builder g) {
        return ProbeReport.newBuilder().setJobId("job-1").setStep(3).setGradient(g);
    }

    private static String message(ProbeReport.Builder report) {
        return ProbeValidation.violation(report.build()).orElse("valid");
    }

    @Test
    void aWholeReportIsCheckedIdsFirstThenStepThenPayload() {
        assertThat(message(lanczosReport())).isEqualTo("valid");
        assertThat(message(gradientReport(GradientStats.newBuilder().setLoss(-1.5).setGradNorm(0)
                .addMicrobatchGradNorms(0).addMicrobatchGradNorms(2)))).isEqualTo("valid");
        assertThat(message(lanczosReport().setJobId(""))).isEqualTo("job_id: must not be empty");
        assertThat(message(lanczosReport().setJobId("j\n"))).isEqualTo(
                "job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+000A at index 1)");
        assertThat(message(lanczosReport().setWorkerId("w".repeat(3_900_000)))).isEqualTo(
                "worker_id: must be at most 128 characters (got 3900000)");
        assertThat(message(lanczosReport().setStep(-1))).isEqualTo("step: must be >= 0 (got -1)");
        assertThat(message(lanczosReport().clearLanczos())).isEqualTo("payload: one of lanczos or gradient is required");
        assertThat(message(lanczosReport().setLanczos(LanczosProbe.newBuilder().addAlpha(1).addBeta(-1))))
                .isEqualTo("lanczos.beta[0] must be >= 0, got -1.0");
        // an unknown field can make a valid-looking report larger than a record may be
        ProbeReport big = lanczosReport().setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder()
                .addField(99, com.google.protobuf.UnknownFieldSet.Field.newBuilder()
                        .addLengthDelimited(com.google.protobuf.ByteString.copyFrom(new byte[1_000_000])).build())
                .build()).build();
        assertThat(ProbeValidation.violation(big)).contains("probe: must serialize to at most 1000000 bytes, the "
                + "largest record Stepsize publishes (got " + big.getSerializedSize() + ")");
    }

    @Test
    void gradientStatisticsAreFiniteAndNormsNonNegative() {
        assertThat(message(gradientReport(GradientStats.newBuilder().setLoss(Double.NaN))))
                .isEqualTo("gradient.loss: must be finite (got NaN)");
        assertThat(message(gradientReport(GradientStats.newBuilder().setGradNorm(Double.POSITIVE_INFINITY))))
                .isEqualTo("gradient.grad_norm: must be finite and >= 0 (got Infinity)");
        assertThat(message(gradientReport(GradientStats.newBuilder().setGradNorm(-1))))
                .isEqualTo("gradient.grad_norm: must be finite and >= 0 (got -1.0)");
        assertThat(message(gradientReport(GradientStats.newBuilder().addMicrobatchGradNorms(1)
                .addMicrobatchGradNorms(Double.NaN)))).isEqualTo("gradient.microbatch_grad_norms[1]: must be finite and >= 0 (got NaN)");
        assertThat(message(gradientReport(GradientStats.newBuilder().addMicrobatchGradNorms(Double.NEGATIVE_INFINITY))))
                .isEqualTo("gradient.microbatch_grad_norms[0]: must be finite and >= 0 (got -Infinity)");
        assertThat(message(gradientReport(GradientStats.newBuilder().addMicrobatchGradNorms(-0.5))))
                .isEqualTo("gradient.microbatch_grad_norms[0]: must be finite and >= 0 (got -0.5)");
        GradientStats.Builder most = GradientStats.newBuilder();
        for (int i = 0; i < 100_000; i++) {
            most.addMicrobatchGradNorms(1);
        }
        assertThat(message(gradientReport(most))).isEqualTo("valid");
        assertThat(message(gradientReport(most.addMicrobatchGradNorms(1))))
                .isEqualTo("gradient.microbatch_grad_norms: must have at most 100000 values (got 100001)");
    }

    @Test
    void aLanczosProbeOlderThanTheNewestProcessedStepIsOutOfOrder() {
        assertThat(ProbeValidation.outOfOrder(20, 20)).isEmpty();
        assertThat(ProbeValidation.outOfOrder(21, 20)).isEmpty();
        assertThat(ProbeValidation.outOfOrder(19, 20))
                .contains("step: out of order, older than the job's latest processed step 20 (got 19)");
    }

    /** DESIGN.md §1.7's fields: known values only; the preconditioned operator for AdamW jobs only; one operator per step. */
    @Test
    void startAndOperatorRules() {
        LanczosProbe ok = LanczosProbe.newBuilder().addAlpha(1).addBeta(0).setStart(Start.START_GRADIENT).build();
        assertThat(ProbeValidation.violation(ok)).isEmpty();
        assertThat(ProbeValidation.violation(ok.toBuilder().setStartValue(3).build())).contains(
                "lanczos.start: must be one of START_UNSPECIFIED, START_RANDOM, START_GRADIENT (got 3)");
        assertThat(ProbeValidation.violation(ok.toBuilder().setOperatorValue(42).build())).contains(
                "lanczos.operator: must be one of OPERATOR_UNSPECIFIED, OPERATOR_HESSIAN, OPERATOR_PRECONDITIONED (got 42)");
        // a gradient start's alpha[0] is under the finite-numbers rule like every alpha
        assertThat(ProbeValidation.violation(ok.toBuilder().setAlpha(0, Double.NaN).build()))
                .contains("lanczos.alpha[0] must be finite, got NaN");

        LanczosProbe pre = ok.toBuilder().setOperator(Operator.OPERATOR_PRECONDITIONED).build();
        JobSpec sgd = JobSpec.newBuilder().setJobId("j").setOptimizer(Optimizer.OPTIMIZER_SGD).build();
        JobSpec other = sgd.toBuilder().setOptimizer(Optimizer.OPTIMIZER_OTHER).build();
        JobSpec adam = sgd.toBuilder().setOptimizer(Optimizer.OPTIMIZER_ADAMW).build();
        assertThat(ProbeValidation.operatorViolation(pre, sgd)).contains(
                "lanczos.operator: OPERATOR_PRECONDITIONED needs an OPTIMIZER_ADAMW job (job 'j' is OPTIMIZER_SGD)");
        assertThat(ProbeValidation.operatorViolation(pre, other)).contains(
                "lanczos.operator: OPERATOR_PRECONDITIONED needs an OPTIMIZER_ADAMW job (job 'j' is OPTIMIZER_OTHER)");
        assertThat(ProbeValidation.operatorViolation(pre, adam)).isEmpty();
        // Hessian probes suit every job, an AdamW one too (its edge ratio is then NaN, not an error)
        assertThat(ProbeValidation.operatorViolation(ok, sgd)).isEmpty();
        assertThat(ProbeValidation.operatorViolation(ok, adam)).isEmpty();

        assertThat(ProbeValidation.mixedOperator(7, true, true)).isEmpty();
        assertThat(ProbeValidation.mixedOperator(7, false, true)).contains("lanczos.operator: OPERATOR_PRECONDITIONED "
                + "differs from the OPERATOR_HESSIAN of the earlier probes of step 7; the probes of one step must share "
                + "an operator");
    }
}
