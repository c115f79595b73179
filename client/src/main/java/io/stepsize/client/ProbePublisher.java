package io.stepsize.client;

import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.proto.v1.ProbeReport;
import java.util.List;

/**
 * Where a trainer's probes go: through the service ({@link GrpcProbePublisher}) or straight to
 * Kafka when the trainer has a producer of its own ({@link KafkaProbePublisher}).
 */
public interface ProbePublisher extends AutoCloseable {
  /** Publishes the probes; returns how many were accepted. */
  long publish(List<ProbeReport> probes);

  /**
   * Publishes one Lanczos run as the probe of {@code step}: alpha, beta, and the run's start and
   * operator (DESIGN §1.7), so the estimator reads a gradient-start or preconditioned probe as one.
   */
  default long publishLanczos(String jobId, long step, String workerId, LanczosResult result) {
    return publish(List.of(result.toProbe(jobId, step, workerId)));
  }

  @Override
  default void close() {}
}
