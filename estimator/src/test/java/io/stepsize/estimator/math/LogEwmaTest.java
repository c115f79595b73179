package io.stepsize.estimator.math;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.assertj.core.data.Offset.offset;

import org.junit.jupiter.api.Test;

class LogEwmaTest {

    private static CurvatureObservation obs(long step, double min, double low, double max, int probes) {
        return new CurvatureObservation(step, min, low, max, max * 1.5, probes);
    }

    @Test
    void halfLifeOneByHand() {
        // h = 1 → a = 1/2: log values halve the distance, λ_min averages linearly
        EwmaState s1 = LogEwma.update(null, obs(10, -1, 1, 16, 2), 1);
        assertThat(s1).isEqualTo(new EwmaState(10, -1, 1, 16, 24, 2, 1)); // first: as is
        EwmaState s2 = LogEwma.update(s1, obs(20, 1, 4, 4, 2), 1);
        assertThat(s2.lambdaLow()).isCloseTo(2.0, offset(1e-14));      // √(1·4)
        assertThat(s2.lambdaMax()).isCloseTo(8.0, offset(1e-14));      // √(16·4)
        assertThat(s2.lambdaMaxBound()).isCloseTo(12.0, offset(1e-14)); // √(24·6)
        assertThat(s2.lambdaMin()).isEqualTo(0.0);                      // (−1 + 1)/2
        EwmaState s3 = LogEwma.update(s2, obs(30, 3, 16, 64, 1), 1);
        assertThat(s3.lambdaLow()).isCloseTo(Math.sqrt(32), offset(1e-13));  // √(2·16)
        assertThat(s3.lambdaMax()).isCloseTo(Math.sqrt(512), offset(1e-13)); // √(8·64)
        assertThat(s3.lambdaMin()).isEqualTo(1.5);
        assertThat(s3.step()).isEqualTo(30);
        assertThat(s3.probes()).isEqualTo(5);
        assertThat(s3.observations()).isEqualTo(3);
        assertThat(CurvatureEstimate.of(s3, 1).kappa()).isCloseTo(4.0, offset(1e-13)); // √(512/32)
    }

    @Test
    void halfLifeTwoByHand() {
        double a = 1 - Math.pow(2, -0.5); // 0.2928932188…
        assertThat(LogEwma.newWeight(2)).isCloseTo(0.29289321881345254, offset(1e-16));
        EwmaState s = LogEwma.update(null, obs(0, 0, 1, 16, 1), 2);
        s = LogEwma.update(s, obs(1, 0, 1, 4, 1), 2);
        assertThat(s.lambdaMax()).isCloseTo(Math.pow(2, 4 - 2 * a), offset(1e-13)); // 10.66…
        s = LogEwma.update(s, obs(2, 0, 1, 4, 1), 2);
        assertThat(s.lambdaMax()).isCloseTo(Math.pow(2, 2 + 2 * (1 - a) * (1 - a)), offset(1e-13));
    }

    @Test
    void afterHalfLifeUpdatesTheLogValueIsHalfWay() {
        for (int h : new int[] {1, 3, 8}) {
            EwmaState s = LogEwma.update(null, obs(0, 0, 1, 1, 1), h); // log2 λ_max = 0
            for (int k = 1; k <= h; k++) {
                s = LogEwma.update(s, obs(k, 0, 1, 1024, 1), h);          // jump to log2 = 10
                if (k < h) {
                    assertThat(Math.log(s.lambdaMax()) / Math.log(2)).isLessThan(5.0);
                }
            }
            assertThat(Math.log(s.lambdaMax()) / Math.log(2)).as("h = %d", h).isCloseTo(5.0, offset(1e-12));
        }
    }

    @Test
    void anObservationWithoutConditionNumberResetsAndTheNextRestarts() {
        EwmaState s = LogEwma.update(null, obs(0, -1, 1, 16, 1), 1);
        s = LogEwma.update(s, new CurvatureObservation(1, -3, -1e-6, -1, -0.5, 1), 1);
        assertThat(s.hasConditionNumber()).isFalse();
        assertThat(s.lambdaLow()).isEqualTo(-1e-6);
        assertThat(s.lambdaMin()).isEqualTo(-2.0); // λ_min keeps averaging linearly
        assertThat(CurvatureEstimate.of(s, 1).kappa()).isNaN();
        s = LogEwma.update(s, obs(2, 0, 2, 8, 1), 1);
        assertThat(s.lambdaLow()).isEqualTo(2.0);  // taken as is
        assertThat(s.lambdaMax()).isEqualTo(8.0);
        assertThat(s.observations()).isEqualTo(3);
    }

    @Test
    void halfLifeZeroTakesTheNewValueAndNegativeIsRejected() {
        EwmaState s = LogEwma.update(null, obs(0, 0, 1, 16, 1), 0);
        s = LogEwma.update(s, obs(1, 0, 3, 7, 1), 0);
        assertThat(s.lambdaMax()).isEqualTo(7.0);
        assertThat(s.lambdaLow()).isEqualTo(3.0);
        assertThatThrownBy(() -> LogEwma.update(null, obs(0, 0, 1, 2, 1), -1))
                .hasMessage("half-life must be >= 0, got -1.0");
        assertThatThrownBy(() -> LogEwma.newWeight(Double.NaN)).hasMessage("half-life must be >= 0, got NaN");
    }

    @Test
    void stateRoundTripsThroughBytes() {
        EwmaState s = new EwmaState(123_456_789_012L, -0.0, Math.PI, 1e300, Double.MIN_VALUE, 7, 3, 2.5);
        byte[] bytes = s.toBytes();
        assertThat(bytes).hasSize(65);
        assertThat(EwmaState.fromBytes(bytes)).isEqualTo(s);
        EwmaState noKappa = new EwmaState(0, -2, -1e-6, -1, -0.5, 1, 1, -1e-6);
        assertThat(EwmaState.fromBytes(noKappa.toBytes())).isEqualTo(noKappa);
        assertThatThrownBy(() -> EwmaState.fromBytes(new byte[3]))
                .hasMessage("EwmaState bytes must be 65 bytes of version 2 (or 57 of version 1), got 3 bytes of version 0");
        byte[] future = s.toBytes();
        future[0] = 3;
        assertThatThrownBy(() -> EwmaState.fromBytes(future))
                .hasMessage("EwmaState bytes must be 65 bytes of version 2 (or 57 of version 1), got 65 bytes of version 3");
    }

    /** Version 1 (before λ_h): its bytes, as that code wrote them, read with λ_h NaN. */
    @Test
    void version1BytesReadWithoutHarmonic() {
        byte[] v1 = java.util.HexFormat.of().parseHex("01" + "0000000000000028" + "0000000000000007"
                + "0000000000000003" + "bff0000000000000" + "3ff8000000000000" + "4020800000000000"
                + "4023800000000000");
        assertThat(EwmaState.fromBytes(v1)).isEqualTo(new EwmaState(40, -1.0, 1.5, 8.25, 9.75, 7, 3, Double.NaN));
        // the next observation restarts λ_h's average (taken as is) and mixes the rest as before
        EwmaState next = LogEwma.update(EwmaState.fromBytes(v1),
                new CurvatureObservation(41, -1.0, 1.5, 8.25, 9.75, 1, 2.0, 0.1, 3.0), 3);
        assertThat(next.lambdaHarmonic()).isEqualTo(2.0);
        assertThat(next.lambdaLow()).isEqualTo(1.5, within(1e-15));
    }

    @Test
    void estimateAppliesAfterTheDelayAndMapsToTheSchedulesPoint() {
        EwmaState s = new EwmaState(100, -0.5, 2, 50, 51, 8, 4);
        CurvatureEstimate e = CurvatureEstimate.of(s, 3);
        assertThat(e).isEqualTo(new CurvatureEstimate(100, 103, -0.5, 2, 50, 25, 51, 8));
        var point = e.toCurvaturePoint(2);
        assertThat(point.appliesFromStep()).isEqualTo(103);
        assertThat(point.phase()).isEqualTo(2);
        assertThat(point.kappaEff()).isEqualTo(25.0);
        assertThat(point.hasConditionNumber()).isTrue();
        assertThatThrownBy(() -> CurvatureEstimate.of(s, -1)).hasMessage("apply_delay_steps must be >= 0, got -1");
    }
}
