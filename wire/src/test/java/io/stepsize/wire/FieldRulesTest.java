package io.stepsize.wire;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The id and record-size rules, with the exact messages every reader and writer gives. */
class FieldRulesTest {

  private static String jobId(String id) {
    return FieldRules.jobIdViolation(id).orElse("valid");
  }

  private static String workerId(String id) {
    return FieldRules.workerIdViolation(id).orElse("valid");
  }

  @Test
  void jobIdIsOneTo128CharactersOfTheSafeSet() {
    assertThat(jobId("a")).isEqualTo("valid");
    assertThat(jobId("team-a/run_7:trial.3")).isEqualTo("valid");
    assertThat(jobId("x".repeat(128))).isEqualTo("valid");
    assertThat(jobId("")).isEqualTo("job_id: must not be empty");
    assertThat(jobId("x".repeat(129))).isEqualTo("job_id: must be at most 128 characters (got 129)");
    assertThat(jobId("x".repeat(1_000_000))).isEqualTo("job_id: must be at most 128 characters (got 1000000)");
    assertThat(jobId("run\n1")).isEqualTo("job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+000A at index 3)");
    assertThat(jobId("a\tb")).isEqualTo("job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0009 at index 1)");
    assertThat(jobId("\u0000xyz")).isEqualTo("job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0000 at index 0)");
    assertThat(jobId("a b")).isEqualTo("job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0020 at index 1)");
    assertThat(jobId("a*b")).isEqualTo("job_id: must contain only the characters [A-Za-z0-9._:/-] (got '*' at index 1)");
    assertThat(jobId("é")).isEqualTo("job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+00E9 at index 0)");
  }

  @Test
  void workerIdIsAtMost128PrintableAsciiCharacters() {
    assertThat(workerId("")).isEqualTo("valid");
    assertThat(workerId("rank 3 @ node-7 (gpu:0)")).isEqualTo("valid");
    assertThat(workerId("w".repeat(128))).isEqualTo("valid");
    assertThat(workerId("w".repeat(129))).isEqualTo("worker_id: must be at most 128 characters (got 129)");
    assertThat(workerId("w".repeat(3_900_000))).isEqualTo("worker_id: must be at most 128 characters (got 3900000)");
    assertThat(workerId("w\u0000")).isEqualTo("worker_id: must be printable ASCII (got U+0000 at index 1)");
    assertThat(workerId("\u007f")).isEqualTo("worker_id: must be printable ASCII (got U+007F at index 0)");
  }

  @Test
  void recordsAreAtMostOneMillionBytes() {
    assertThat(FieldRules.MAX_RECORD_BYTES).isEqualTo(1_000_000).isLessThan(1 << 20);
    assertThat(FieldRules.recordSizeViolation("spec", 1_000_000)).isEmpty();
    assertThat(FieldRules.recordSizeViolation("spec", 1_000_001)).contains(
        "spec: must serialize to at most 1000000 bytes, the largest record Stepsize publishes (got 1000001)");
  }
}
