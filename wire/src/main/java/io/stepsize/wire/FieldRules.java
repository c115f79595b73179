package io.stepsize.wire;

import java.util.Optional;

/**
 * The size and character rules of the fields and records that cross process boundaries, in one
 * place for every reader and writer: {@link JobSpecs} (a spec's job_id), {@link ProbeValidation}
 * (a probe's ids and size), the service before it publishes, the estimator before it uses a record.
 *
 * <p>Why these rules: ids are Kafka keys, metric labels, log fields and parts of error messages, so
 * they must stay short and free of control characters; and a record larger than Kafka accepts fails
 * in the producer with a message that names no field. Each violation reads {@code field: rule (detail)}.
 */
public final class FieldRules {
  /** Longest job_id and worker_id, in characters. */
  public static final int MAX_ID_CHARS = 128;

  /**
   * Largest serialized record (a job spec or a probe) a writer may publish: below Kafka's default
   * 1 MiB ({@code max.request.size} of producers, {@code message.max.bytes} of brokers), leaving room
   * for the key, the headers and the batch overhead.
   */
  public static final int MAX_RECORD_BYTES = 1_000_000;

  /** The characters of a job_id besides ASCII letters and digits. */
  private static final String JOB_ID_PUNCTUATION = "._:/-";

  private FieldRules() {}

  /**
   * job_id: 1 to {@link #MAX_ID_CHARS} characters of {@code [A-Za-z0-9._:/-]}; the first violation,
   * or empty.
   */
  public static Optional<String> jobIdViolation(String jobId) {
    if (jobId == null || jobId.isEmpty()) {
      return Optional.of("job_id: must not be empty");
    }
    if (jobId.length() > MAX_ID_CHARS) {
      return Optional.of("job_id: must be at most " + MAX_ID_CHARS + " characters (got " + jobId.length() + ")");
    }
    for (int i = 0; i < jobId.length(); i++) {
      char c = jobId.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || JOB_ID_PUNCTUATION.indexOf(c) >= 0;
      if (!ok) {
        return Optional.of("job_id: must contain only the characters [A-Za-z0-9._:/-] (got " + describe(c)
            + " at index " + i + ")");
      }
    }
    return Optional.empty();
  }

  /** worker_id: at most {@link #MAX_ID_CHARS} printable ASCII characters (may be empty); the first violation, or empty. */
  public static Optional<String> workerIdViolation(String workerId) {
    if (workerId.length() > MAX_ID_CHARS) {
      return Optional.of("worker_id: must be at most " + MAX_ID_CHARS + " characters (got " + workerId.length() + ")");
    }
    for (int i = 0; i < workerId.length(); i++) {
      char c = workerId.charAt(i);
      if (c < 0x20 || c > 0x7e) {
        return Optional.of("worker_id: must be printable ASCII (got " + describe(c) + " at index " + i + ")");
      }
    }
    return Optional.empty();
  }

  /** A record of {@code what} (e.g. "spec", "probe") must serialize to at most {@link #MAX_RECORD_BYTES}. */
  public static Optional<String> recordSizeViolation(String what, long serializedBytes) {
    return serializedBytes > MAX_RECORD_BYTES
        ? Optional.of(what + ": must serialize to at most " + MAX_RECORD_BYTES + " bytes, the largest record "
            + "Stepsize publishes (got " + serializedBytes + ")")
        : Optional.empty();
  }

  /** A character as a person can read it in a message: printable ASCII quoted, anything else as U+XXXX. */
  static String describe(char c) {
    return c >= 0x21 && c <= 0x7e ? "'" + c + "'" : String.format("U+%04X", (int) c);
  }
}
