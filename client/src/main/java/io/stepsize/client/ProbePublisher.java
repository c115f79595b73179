package io.stepsize.client;

import io.stepsize.proto.v1.ProbeReport;
import java.util.List;

/**
 * Where a trainer's probes go: through the service ({@link GrpcProbePublisher}) or straight to
 * Kafka when the trainer has a producer of its own ({@link KafkaProbePublisher}).
 */
public interface ProbePublisher extends AutoCloseable {
  /** Publishes the probes; returns how many were accepted. */
  long publish(List<ProbeReport> probes);

  @Override
  default void close() {}
}
