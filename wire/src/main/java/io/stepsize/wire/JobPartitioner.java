package io.stepsize.wire;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Utils;

/**
 * The partition of a job's records: Java's default partitioner (murmur2) of the job id, the same for
 * every record of the job, curvature segments included, so a reader sees them in write order.
 */
public final class JobPartitioner {
  private JobPartitioner() {}

  /** The partition of {@code jobId} among {@code partitions}. */
  public static int partitionOf(String jobId, int partitions) {
    return Utils.toPositive(Utils.murmur2(jobId.getBytes(StandardCharsets.UTF_8))) % partitions;
  }
}
