package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/** The bytes of a job's estimator state: written and read back, old state read, foreign bytes rejected. */
class JobStateCodecTest {
  /** The state below as the estimator before the codec (commit a743b64) serialized it. */
  private static final String BEFORE_CODEC = "01" + "00000002" + "0000000000000029" + "0000000000000005"
      + "00000003" + "010203" + "00000001" + "ff"
      + "00000002"
      + "00000002" + "4010000000000000" + "4004000000000000" + "00000001" + "3fd0000000000000"
      + "00000001" + "3ff0000000000000" + "00000000";

  /**
   * The same state in version 2 (DESIGN.md §1.7): a flags byte after each probe's beta, here the first
   * probe a gradient start on the preconditioned operator (3), the second a random-start Hessian probe (0).
   */
  private static final String V2 = "02" + "00000002" + "0000000000000029" + "0000000000000005"
      + "00000003" + "010203" + "00000001" + "ff"
      + "00000002"
      + "00000002" + "4010000000000000" + "4004000000000000" + "00000001" + "3fd0000000000000" + "03"
      + "00000001" + "3ff0000000000000" + "00000000" + "00";

  private static final JobState STATE_V2 = new JobState(2, 41, 5, new byte[] {1, 2, 3}, new byte[] {-1}, List.of(
      new CurvatureMath.Probe(new double[] {4.0, 2.5}, new double[] {0.25}, true, true),
      new CurvatureMath.Probe(new double[] {1.0}, new double[] {}, false, false)));

  private static final JobState STATE = new JobState(2, 41, 5, new byte[] {1, 2, 3}, new byte[] {-1}, List.of(
      new CurvatureMath.Probe(new double[] {4.0, 2.5}, new double[] {0.25}),
      new CurvatureMath.Probe(new double[] {1.0}, new double[] {})));

  private static byte[] hex(String s) {
    return HexFormat.of().parseHex(s);
  }

  /** Field by field: the record's equals compares its arrays by identity. */
  private static void assertSame(JobState actual, JobState expected) {
    assertThat(actual.phase()).isEqualTo(expected.phase());
    assertThat(actual.step()).isEqualTo(expected.step());
    assertThat(actual.jobProbesBefore()).isEqualTo(expected.jobProbesBefore());
    assertThat(actual.ewmaBefore()).isEqualTo(expected.ewmaBefore());
    assertThat(actual.ewmaAfter()).isEqualTo(expected.ewmaAfter());
    assertThat(actual.probes()).hasSameSizeAs(expected.probes());
    for (int i = 0; i < expected.probes().size(); i++) {
      assertThat(actual.probes().get(i).alpha()).isEqualTo(expected.probes().get(i).alpha());
      assertThat(actual.probes().get(i).beta()).isEqualTo(expected.probes().get(i).beta());
      assertThat(actual.probes().get(i).gradientStart()).isEqualTo(expected.probes().get(i).gradientStart());
      assertThat(actual.probes().get(i).preconditioned()).isEqualTo(expected.probes().get(i).preconditioned());
    }
  }

  @Test
  void everyFieldRoundTrips() {
    JobState s = new JobState(Integer.MAX_VALUE, Long.MAX_VALUE, Long.MIN_VALUE, new byte[0], new byte[] {0, -128, 127},
        List.of(new CurvatureMath.Probe(new double[] {Double.NaN, -0.0, 1e-310}, new double[] {7, 8}, true, false)));
    byte[] bytes = JobStateCodec.encode(s);
    assertThat(bytes).hasSize(1 + 4 + 8 + 8 + 4 + 0 + 4 + 3 + 4 + (4 + 3 * 8) + (4 + 2 * 8) + 1);
    JobState back = JobStateCodec.decode(bytes);
    assertSame(back, s);
    assertThat(Double.doubleToRawLongBits(back.probes().get(0).alpha()[1])).isEqualTo(Long.MIN_VALUE); // -0.0 kept
    JobState none = new JobState(0, 0, 0, new byte[0], new byte[0], List.of());
    assertSame(JobStateCodec.decode(JobStateCodec.encode(none)), none);
  }

  @Test
  void stateWrittenBeforeTheCodecReadsTheSame() {
    // version 1 (before the flags): every probe reads as a random-start Hessian probe
    assertSame(JobStateCodec.decode(hex(BEFORE_CODEC)), STATE);
    assertThat(STATE.probes().get(0).gradientStart()).isFalse();
    // written again, it takes the current layout, which reads the same
    assertThat(JobStateCodec.encode(STATE)).isEqualTo(hex(V2.replace("3fd0000000000000" + "03",
        "3fd0000000000000" + "00")));
    assertSame(JobStateCodec.decode(JobStateCodec.encode(STATE)), STATE);
  }

  @Test
  void version2CarriesEachProbesStartAndOperator() {
    assertThat(JobStateCodec.encode(STATE_V2)).isEqualTo(hex(V2));
    assertSame(JobStateCodec.decode(hex(V2)), STATE_V2);
  }

  @Test
  void aWrongVersionIsRejectedWithTheReset() {
    byte[] v3 = hex(V2);
    v3[0] = 3;
    assertThatThrownBy(() -> JobStateCodec.decode(v3)).isInstanceOf(SerializationException.class)
        .hasMessage("estimator job state: version 3, expected 1 to 2 (87 bytes); state from another Stepsize version "
            + "must be reset (kafka-streams-application-reset, or a fresh data directory)");
    assertThatThrownBy(() -> JobStateCodec.decode(new byte[0])).isInstanceOf(SerializationException.class)
        .hasMessage("estimator job state: empty (0 bytes), expected version 1 to 2");
  }

  @Test
  void truncatedOrOverlongBytesAreRejected() {
    byte[] whole = hex(BEFORE_CODEC);
    assertThatThrownBy(() -> JobStateCodec.decode(Arrays.copyOf(whole, 12)))
        .isInstanceOf(SerializationException.class).hasMessage("estimator job state: truncated (12 bytes)");
    // cut inside the last probe's beta length
    assertThatThrownBy(() -> JobStateCodec.decode(Arrays.copyOf(whole, 83)))
        .isInstanceOf(SerializationException.class).hasMessage("estimator job state: truncated (83 bytes)");
    // cut inside the first probe's alpha: its length promises more than is left
    assertThatThrownBy(() -> JobStateCodec.decode(Arrays.copyOf(whole, 55)))
        .isInstanceOf(SerializationException.class)
        .hasMessage("estimator job state: alpha length 2 does not fit the 14 bytes left (55 bytes)");
    // cut so short that two probes (each at least its two lengths) cannot follow the count
    assertThatThrownBy(() -> JobStateCodec.decode(Arrays.copyOf(whole, 44)))
        .isInstanceOf(SerializationException.class)
        .hasMessage("estimator job state: probes count 2 does not fit the 7 bytes left (44 bytes)");
    byte[] longer = Arrays.copyOf(whole, whole.length + 1);
    assertThatThrownBy(() -> JobStateCodec.decode(longer)).isInstanceOf(SerializationException.class)
        .hasMessage("estimator job state: 1 bytes after the last field (86 bytes)");
    byte[] huge = whole.clone();
    huge[21] = (byte) 0x7f; // ewmaBefore length 0x7f000003
    assertThatThrownBy(() -> JobStateCodec.decode(huge)).isInstanceOf(SerializationException.class)
        .hasMessage("estimator job state: ewmaBefore length 2130706435 does not fit the 60 bytes left (85 bytes)");
  }

  @Test
  void theSerdeUsesTheCodecAndPassesNull() {
    var serde = JobState.serde();
    assertThat(serde.serializer().serialize("t", STATE_V2)).isEqualTo(hex(V2));
    assertSame(serde.deserializer().deserialize("t", hex(V2)), STATE_V2);
    assertThat(serde.serializer().serialize("t", null)).isNull();
    assertThat(serde.deserializer().deserialize("t", null)).isNull();
  }
}
