package io.stepsize.estimator;

import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.InvalidProbeException;
import io.stepsize.wire.JobPartitioner;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The first step of every probe (DESIGN.md §4.1): keys it by its payload's job_id, whatever key and
 * partition its producer gave it, and sends it to its job's task. The record
 * key is only a routing hint of the producer: it may differ from the job_id in case or encoding, or
 * be missing. Where the probe came from travels along in {@link #SOURCE_KEY},
 * {@link #SOURCE_PARTITION} and {@link #SOURCE_OFFSET}, so a dead letter written after the
 * repartition still shows the record as it arrived.
 *
 * <p>A probe that is on its job's partition already (its producer partitioned as
 * {@link JobPartitioner} does: the service, the Java and Python clients) goes on to
 * {@link CurvatureTopology#HOME} in the same task; any other to {@link CurvatureTopology#AWAY}, the
 * repartition topic. The partition count that decides it is {@link #PARTITIONS_CONFIG} in the
 * application's configuration; without it every probe takes the repartition topic.
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
  /**
   * The partition count of {@code stepsize.probes} and {@code stepsize.jobs}, set by
   * {@link EstimatorApp} from the topics it checked; absent, no probe counts as on its job's partition.
   */
  static final String PARTITIONS_CONFIG = "stepsize.estimator.internal.partitions";

  private ProcessorContext<String, ProbeReport> context;
  private int partitions;

  @Override
  public void init(ProcessorContext<String, ProbeReport> context) {
    this.context = context;
    Object n = context.appConfigs().get(PARTITIONS_CONFIG);
    this.partitions = n == null ? 0 : Integer.parseInt(n.toString());
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
    int partition = -1;
    Optional<RecordMetadata> m = context.recordMetadata();
    if (m.isPresent()) {
      partition = m.get().partition();
      headers.add(SOURCE_PARTITION, Integer.toString(partition).getBytes(StandardCharsets.UTF_8));
      headers.add(SOURCE_OFFSET, Long.toString(m.get().offset()).getBytes(StandardCharsets.UTF_8));
    }
    boolean home = partitions > 0 && partition == JobPartitioner.partitionOf(jobId, partitions);
    context.forward(record.withKey(jobId), home ? CurvatureTopology.HOME : CurvatureTopology.AWAY);
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
