package io.stepsize.wire;

/** The Kafka record headers that carry meaning between processes. */
public final class RecordHeaders {
  private RecordHeaders() {}

  /** On a {@code stepsize.jobs} record: the tenant who created the job (absent without authentication). */
  public static final String OWNER = "stepsize.tenant";

  /** On a {@code stepsize.probes.dlq} record: why it was rejected (Kafka Streams' KIP-1034 handlers write it). */
  public static final String DLQ_REASON = "__streams.errors.message";

  /** On a {@code stepsize.probes.dlq} record: the exception class that rejected it. */
  public static final String DLQ_EXCEPTION = "__streams.errors.exception";

  /** On a {@code stepsize.probes.dlq} record: the topic the rejected record came from. */
  public static final String DLQ_TOPIC = "__streams.errors.topic";

  /** On a {@code stepsize.probes.dlq} record: the partition of the topic the rejected record came from. */
  public static final String DLQ_PARTITION = "__streams.errors.partition";

  /** On a {@code stepsize.probes.dlq} record: the offset of the rejected record in that partition. */
  public static final String DLQ_OFFSET = "__streams.errors.offset";
}
