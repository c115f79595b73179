package io.stepsize.estimator;

import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.InvalidProbeException;
import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The first step of every probe (DESIGN.md §4): keys it by its payload's job_id, whatever key and
 * partition its producer gave it, for the repartition that brings it to its job's task. The record
 * key is only a routing hint of the producer: it may differ from the job_id in case or encoding, or
 * be missing. Where the probe came from travels along in {@link #SOURCE_KEY},
 * {@link #SOURCE_PARTITION} and {@link #SOURCE_OFFSET}, so a dead letter written after the
 * repartition still shows the record as it arrived.
 *
 * <p>Only what no job is needed for is checked here; a rejection throws {@link InvalidProbeException},
 * and Streams' handler dead-letters the record exactly as it was read from {@code stepsize.probes}.
 */
final class ProbeRouter implements Processor<String, ProbeReport, String, ProbeReport> {
  /** The probe's record key on {@code stepsize.probes}, UTF-8; absent when it had none. */
  static final String SOURCE_KEY = "stepsize.source.key";
  /** Its partition on {@code stepsize.probes}, in decimal, as Streams writes it on a dead letter. */
  static final String SOURCE_PARTITION = "stepsize.source.partition";
  /** Its offset on {@code stepsize.probes}, in decimal. */
  static final String SOURCE_OFFSET = "stepsize.source.offset";

  private ProcessorContext<String, ProbeReport> context;

  @Override
  public void init(ProcessorContext<String, ProbeReport> context) {
    this.context = context;
  }

  @Override
  public void process(Record<String, ProbeReport> record) {
    ProbeReport probe = record.value();
    if (probe == null) {
      throw new InvalidProbeException("value: must be a ProbeReport (got an empty record)");
    }
    String jobId = probe.getJobId();
    if (jobId.isEmpty()) {
      throw new InvalidProbeException("job_id: must not be empty");
    }
    Headers headers = record.headers();
    // a producer's own header of these names must not pass for the estimator's
    stripSource(headers);
    if (record.key() != null) {
      headers.add(SOURCE_KEY, record.key().getBytes(StandardCharsets.UTF_8));
    }
    context.recordMetadata().ifPresent((RecordMetadata m) -> {
      headers.add(SOURCE_PARTITION, Integer.toString(m.partition()).getBytes(StandardCharsets.UTF_8));
      headers.add(SOURCE_OFFSET, Long.toString(m.offset()).getBytes(StandardCharsets.UTF_8));
    });
    context.forward(record.withKey(jobId));
  }

  static void stripSource(Headers headers) {
    headers.remove(SOURCE_KEY);
    headers.remove(SOURCE_PARTITION);
    headers.remove(SOURCE_OFFSET);
  }

  /** The bytes of header {@code name}, or null. */
  static byte[] value(Headers headers, String name) {
    Header h = headers.lastHeader(name);
    return h == null ? null : h.value();
  }
}
