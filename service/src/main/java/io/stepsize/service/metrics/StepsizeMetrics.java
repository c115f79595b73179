package io.stepsize.service.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.Unit;
import io.stepsize.service.view.LocalViews;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The metrics of one replica in their own registry (not the JVM-global default, so two nodes in
 * one test JVM do not collide). Per-job series are limited to the {@code maxJobSeries} jobs whose
 * estimate changed last: a cluster with a million jobs still exports a bounded number of series
 * (four per-job gauges: at most 4 × {@code maxJobSeries} per-job series per replica).
 */
public final class StepsizeMetrics implements AutoCloseable {
  public static final int DEFAULT_MAX_JOB_SERIES = 50;

  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final ExpositionFormats formats = ExpositionFormats.init();
  private final Histogram requestSeconds;
  private final Counter probesReported;
  private final Counter deadLetters;
  private final Counter badRecords;
  private final Histogram freshnessSeconds;
  private final Gauge viewLag;
  private HTTPServer http;

  public StepsizeMetrics(LocalViews views, int maxJobSeries) {
    requestSeconds = Histogram.builder()
        .name("stepsize_grpc_request_seconds")
        .help("gRPC request latency on this replica by method and status code")
        .unit(Unit.SECONDS)
        .labelNames("method", "code")
        .classicUpperBounds(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2, 0.1, 1)
        .register(registry);
    probesReported = Counter.builder()
        .name("stepsize_probes_reported")
        .help("probes accepted by ReportProbes on this replica")
        .register(registry);
    deadLetters = Counter.builder()
        .name("stepsize_probes_dead_lettered")
        .help("records the estimator sent to the dead-letter topic (rejected probes and job records)"
            + " since this replica started, as its view read them")
        .register(registry);
    badRecords = Counter.builder()
        .name("stepsize_bad_records")
        .help("records this replica's views skipped as bad, by topic and kind (DESIGN.md §4)")
        .labelNames("topic", "kind")
        .register(registry);
    freshnessSeconds = Histogram.builder()
        .name("stepsize_estimate_lag_seconds")
        .help("estimator lag: from a probe's produce time to its estimate in this replica's view")
        .unit(Unit.SECONDS)
        .classicUpperBounds(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
        .register(registry);
    GaugeWithCallback.builder()
        .name("stepsize_jobs")
        .help("jobs in this replica's view")
        .callback(cb -> cb.call(views.jobCount()))
        .register(registry);
    registry.register(new JobGauges(views, maxJobSeries));
    viewLag = Gauge.builder()
        .name("stepsize_views_lag_records")
        .help("records this replica's local views are behind the end of each topic they read (jobs, curvature, ...)")
        .labelNames("topic")
        .register(registry);
  }

  public PrometheusRegistry registry() {
    return registry;
  }

  public void observeRequest(String method, String code, double seconds) {
    requestSeconds.labelValues(method, code).observe(seconds);
  }

  public void probesReported(long n) {
    probesReported.inc(n);
  }

  public void deadLettered() {
    deadLetters.inc();
  }

  /** A record of {@code topic} the local views skipped, of {@code kind} (see ViewLoader#onBadRecord). */
  public void badRecord(String topic, String kind) {
    badRecords.labelValues(topic, kind).inc();
  }

  /** The local views are {@code records} behind the end of {@code topic} (see ViewLoader#onLag). */
  public void viewLag(String topic, long records) {
    viewLag.labelValues(topic).set(records);
  }

  public void estimateLag(double seconds) {
    freshnessSeconds.observe(Math.max(0, seconds));
  }

  /**
   * Writes one scrape of the registry to {@code out} in the format {@code accept} asks for (text,
   * OpenMetrics or protobuf, as the standalone exporter of {@link #serve} answers); returns its content type.
   */
  public String scrape(String accept, OutputStream out) throws IOException {
    ExpositionFormatWriter writer = formats.findWriter(accept);
    writer.write(out, registry.scrape());
    return writer.getContentType();
  }

  /**
   * The per-job gauges from one read of the recently updated jobs per scrape, so the four series
   * name the same jobs and a scrape walks the list once.
   */
  private record JobGauges(LocalViews views, int maxJobSeries) implements MultiCollector {
    @Override
    public MetricSnapshots collect() {
      List<LocalViews.JobCurvature> jobs = views.recentlyUpdated(maxJobSeries);
      return new MetricSnapshots(
          gauge("stepsize_job_kappa", "latest condition number estimate per job (the most recently updated jobs only)",
              jobs, LocalViews.JobCurvature::kappa),
          gauge("stepsize_job_phi", "phi in force per job (the most recently updated jobs only)",
              jobs, LocalViews.JobCurvature::phi),
          gauge("stepsize_job_edge_ratio", "edge ratio eta*lambda_max/threshold at each job's latest curvature point,"
              + " NaN when unknown (the most recently updated jobs only)", jobs, LocalViews.JobCurvature::edgeRatio),
          // a timestamp, not an age: "no probe for M minutes" is time() - x > M*60 in PromQL, and the
          // value does not change between probes; a job whose probe time is unknown has no series
          gauge("stepsize_job_last_probe_timestamp_seconds", "produce time (Unix seconds) of the probe behind each"
              + " job's latest estimate (the most recently updated jobs only)",
              jobs.stream().filter(j -> j.probeTimeMillis() >= 0).toList(), j -> j.probeTimeMillis() / 1000.0));
    }

    private static GaugeSnapshot gauge(String name, String help, List<LocalViews.JobCurvature> jobs,
        ToDoubleFunction<LocalViews.JobCurvature> value) {
      GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
      for (LocalViews.JobCurvature j : jobs) {
        b.dataPoint(GaugeDataPointSnapshot.builder().value(value.applyAsDouble(j))
            .labels(Labels.of("job_id", j.jobId())).build());
      }
      return b.build();
    }

    @Override
    public List<String> getPrometheusNames() {
      return List.of("stepsize_job_kappa", "stepsize_job_phi", "stepsize_job_edge_ratio",
          "stepsize_job_last_probe_timestamp_seconds");
    }
  }

  /** Serves /metrics on {@code address}:{@code port} (0 = any free port); returns the port. */
  public int serve(String address, int port) {
    try {
      http = HTTPServer.builder().hostname(address).port(port).registry(registry).buildAndStart();
    } catch (IOException e) {
      throw new UncheckedIOException("metrics: cannot listen on " + address + " port " + port, e);
    }
    return http.getPort();
  }

  @Override
  public void close() {
    if (http != null) {
      http.close();
    }
  }
}
