package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/** The bytes of a job's timeline state: written and read back, old state read, foreign bytes rejected. */
class TimelineCodecTest {
  /**
   * The two-point timeline below as the estimator before the codec (commit a743b64, offset
   * arithmetic on one array) serialized it: its changelogs must read the same.
   */
  private static final String BEFORE_CODEC = "02" + "0000000000000009" + "0000000000000000" + "00" + "00000002"
      + "0000000000000028" + "000000000000002a" + "0000000000000001" + "0000000000000003"
      + "3fe0000000000000" + "4020800000000000" + "3ff8000000000000" + "4016000000000000" + "4023800000000000"
      + "0000000000000029" + "000000000000002b" + "0000000000000001" + "0000000000000003"
      + "3fe0000000000000" + "4020800000000000" + "3ff8000000000000" + "4030000000000000" + "4023800000000000";

  private static final Timeline TWO_POINTS = new Timeline(9, 0, false, List.of(
      new Timeline.Point(40, 42, 1, 3, 0.5, 8.25, 1.5, 5.5, 9.75),
      new Timeline.Point(41, 43, 1, 3, 0.5, 8.25, 1.5, 16.0, 9.75)));

  /**
   * Version 3 (DESIGN.md §1.7): each point followed by gradient_sharpness, lambda_harmonic,
   * negative_mass, edge_ratio and the operator byte; the second point preconditioned.
   */
  private static final String V3 = "03" + "0000000000000009" + "0000000000000000" + "00" + "00000002"
      + "0000000000000028" + "000000000000002a" + "0000000000000001" + "0000000000000003"
      + "3fe0000000000000" + "4020800000000000" + "3ff8000000000000" + "4016000000000000" + "4023800000000000"
      + "4004000000000000" + "3ff8000000000000" + "3fb999999999999a" + "3fe0000000000000" + "00"
      + "0000000000000029" + "000000000000002b" + "0000000000000001" + "0000000000000003"
      + "3fe0000000000000" + "4020800000000000" + "3ff8000000000000" + "4030000000000000" + "4023800000000000"
      + "7ff8000000000000" + "3ff8000000000000" + "0000000000000000" + "7ff8000000000000" + "01";

  private static final Timeline TWO_POINTS_V3 = new Timeline(9, 0, false, List.of(
      new Timeline.Point(40, 42, 1, 3, 0.5, 8.25, 1.5, 5.5, 9.75, 2.5, 1.5, 0.1, 0.5, false),
      new Timeline.Point(41, 43, 1, 3, 0.5, 8.25, 1.5, 16.0, 9.75, Double.NaN, 1.5, 0.0, Double.NaN, true)));

  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s);
  }

  private static Curvature estimate(long jobProbes, long step, double kappa) {
    return Curvature.newBuilder().setProbes(jobProbes).addTimeline(CurvaturePoint.newBuilder().setStep(step)
        .setAppliesFromStep(step + 2).setPhase(1).setProbes(3).setLambdaMin(0.5).setLambdaMax(8.25)
        .setLambdaLow(1.5).setKappa(kappa).setLambdaMaxBound(9.75).setGradientSharpness(Double.NaN)
        .setLambdaHarmonic(Double.NaN).setNegativeMass(Double.NaN).setEdgeRatio(Double.NaN)).build();
  }

  @Test
  void everyFieldRoundTrips() {
    Timeline.Point seven = new Timeline.Point(7, 9, 2, 4, -1.25, 3e300, Double.MIN_VALUE, Double.NaN,
        Double.POSITIVE_INFINITY, -3.5, 1e-300, 1.0, Double.NEGATIVE_INFINITY, true);
    Timeline.Point lowest = new Timeline.Point(Long.MIN_VALUE, 0, 0, 1, 0.0, -0.0, 1e-300, 42, 6.5, 0.0, -0.0, 0.25,
        2.0, false);
    Timeline t = new Timeline(Long.MAX_VALUE, 3, true, List.of(lowest, seven));
    byte[] bytes = TimelineCodec.encode(t);
    assertThat(bytes).hasSize(22 + 2 * 105);
    assertThat(TimelineCodec.decode(bytes)).isEqualTo(t);
    // a timeline's steps rise (EarlierPoints relies on it): bytes whose steps do not are refused
    byte[] falling = TimelineCodec.encode(new Timeline(Long.MAX_VALUE, 3, true, List.of(seven, lowest)));
    assertThatThrownBy(() -> TimelineCodec.decode(falling)).isInstanceOf(SerializationException.class)
        .hasMessage("curvature timeline: point 1 has step -9223372036854775808, not after 7 (232 bytes)");
    assertThat(TimelineCodec.decode(TimelineCodec.encode(Timeline.empty()))).isEqualTo(Timeline.empty());
    assertThat(TimelineCodec.encode(Timeline.empty())).isEqualTo(hex("03" + "00".repeat(21)));
  }

  @Test
  void stateWrittenBeforeTheCodecReadsTheSame() {
    // version 2, before DESIGN.md §1.7: its points read with NaN statistics and the Hessian
    Timeline old = TimelineCodec.decode(hex(BEFORE_CODEC));
    assertThat(old).isEqualTo(TWO_POINTS);
    assertThat(old.openSegment().get(0).lambdaHarmonic()).isNaN();
    assertThat(old.openSegment().get(0).preconditioned()).isFalse();
    // written again in version 3, it reads the same
    assertThat(TimelineCodec.decode(TimelineCodec.encode(old))).isEqualTo(TWO_POINTS);
    // and add() builds the same state from the same two estimates
    Timeline added = Timeline.empty().add("j", estimate(7, 40, 5.5)).timeline()
        .add("j", estimate(9, 41, 16.0)).timeline().withDirty(false);
    assertThat(added).isEqualTo(TWO_POINTS);
    // an estimate of an earlier step is a bug upstream (the estimator refuses such probes), not a point
    assertThatThrownBy(() -> added.add("j", estimate(10, 39, 2.0))).isInstanceOf(IllegalStateException.class)
        .hasMessage("job 'j': estimate of step 39 after step 41");
  }

  @Test
  void version3CarriesTheStatisticsTheEdgeRatioAndTheOperator() {
    assertThat(TimelineCodec.encode(TWO_POINTS_V3)).isEqualTo(hex(V3));
    assertThat(TimelineCodec.decode(hex(V3))).isEqualTo(TWO_POINTS_V3);
    // the proto points the job record carries
    Curvature record = TWO_POINTS_V3.jobRecord("j");
    assertThat(record.getTimeline(0).getGradientSharpness()).isEqualTo(2.5);
    assertThat(record.getTimeline(0).getOperator()).isEqualTo(io.stepsize.proto.v1.Operator.OPERATOR_UNSPECIFIED);
    assertThat(record.getTimeline(1).getOperator()).isEqualTo(io.stepsize.proto.v1.Operator.OPERATOR_PRECONDITIONED);
    // and the latest fields are the newest point's
    assertThat(record.getGradientSharpness()).isNaN();
    assertThat(record.getLambdaHarmonic()).isEqualTo(1.5);
    assertThat(record.getNegativeMass()).isEqualTo(0.0);
    assertThat(record.getEdgeRatio()).isNaN();
    assertThat(record.getOperator()).isEqualTo(io.stepsize.proto.v1.Operator.OPERATOR_PRECONDITIONED);
  }

  @Test
  void aWrongVersionIsRejectedWithTheReset() {
    byte[] v1 = hex(BEFORE_CODEC);
    v1[0] = 1;
    assertThatThrownBy(() -> TimelineCodec.decode(v1)).isInstanceOf(SerializationException.class)
        .hasMessage("curvature timeline: version 1, expected 2 to 3 (166 bytes); state from another Stepsize version "
            + "must be reset (kafka-streams-application-reset, or a fresh data directory)");
    assertThatThrownBy(() -> TimelineCodec.decode(new byte[0])).isInstanceOf(SerializationException.class)
        .hasMessage("curvature timeline: empty (0 bytes), expected version 2 to 3");
  }

  @Test
  void truncatedOrOverlongBytesAreRejected() {
    byte[] whole = hex(BEFORE_CODEC);
    // cut inside the header
    assertThatThrownBy(() -> TimelineCodec.decode(Arrays.copyOf(whole, 10)))
        .isInstanceOf(SerializationException.class).hasMessage("curvature timeline: truncated (10 bytes)");
    // cut inside the second point: the count promises more than is left
    assertThatThrownBy(() -> TimelineCodec.decode(Arrays.copyOf(whole, 165)))
        .isInstanceOf(SerializationException.class)
        .hasMessage("curvature timeline: openCount 2 does not fit the 143 bytes left (165 bytes)");
    // a whole point more than the count says
    byte[] longer = Arrays.copyOf(whole, whole.length + 72);
    assertThatThrownBy(() -> TimelineCodec.decode(longer)).isInstanceOf(SerializationException.class)
        .hasMessage("curvature timeline: 72 bytes after the last field (238 bytes)");
    byte[] negative = whole.clone();
    negative[18] = (byte) 0xff;
    assertThatThrownBy(() -> TimelineCodec.decode(negative)).isInstanceOf(SerializationException.class)
        .hasMessage("curvature timeline: openCount -16777214 does not fit the 144 bytes left (166 bytes)");
  }

  @Test
  void theSerdeUsesTheCodecAndPassesNull() {
    var serde = Timeline.serde();
    assertThat(serde.serializer().serialize("t", TWO_POINTS_V3)).isEqualTo(hex(V3));
    assertThat(serde.deserializer().deserialize("t", hex(V3))).isEqualTo(TWO_POINTS_V3);
    assertThat(serde.serializer().serialize("t", null)).isNull();
    assertThat(serde.deserializer().deserialize("t", null)).isNull();
  }
}
