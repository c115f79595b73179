package io.stepsize.client;

import io.stepsize.proto.v1.ProbeReport;
import java.util.List;

/** Probes through ReportProbes: validated by the service before any is published. */
public final class GrpcProbePublisher implements ProbePublisher {
  private final StepsizeClient client;

  public GrpcProbePublisher(StepsizeClient client) {
    this.client = client;
  }

  @Override
  public long publish(List<ProbeReport> probes) {
    return client.reportProbes(probes);
  }
}
