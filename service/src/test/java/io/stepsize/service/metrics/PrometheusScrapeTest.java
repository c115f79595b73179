package io.stepsize.service.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.service.StepsizeNode;
import io.stepsize.wire.Topics;
import java.net.ServerSocket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Debian's real {@code prometheus} scraping a real embedded node every second, with the alerting
 * rules of deploy/prometheus loaded: what Prometheus' HTTP API answers must be what the node knows
 * over gRPC, and the edge-ratio alert must go pending for a job whose lr is beyond the stable step.
 */
class PrometheusScrapeTest {
  @TempDir Path dir;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void prometheusReadsBackWhatTheNodeKnowsAndTheEdgeRatioAlertGoesPending() throws Exception {
    try (StepsizeNode node = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("node")).withHttpPort(0));
         StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10))) {
      assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
      // lr_max 1 on a Hessian whose λ_max is 8: η(20)·8/2 is well above 1
      client.createJob(JobSpec.newBuilder().setJobId("scraped").setTotalSteps(100).setLrMax(1.0).setLrMin(0.001)
          .build());
      // a diagonal T_m with beta_m = 0: the Ritz values are exactly 0.5, 2 and 8
      long before = System.currentTimeMillis();
      assertThat(client.reportProbes(List.of(ProbeReport.newBuilder().setJobId("scraped").setStep(20)
          .setWorkerId("w0").setLanczos(LanczosProbe.newBuilder().addAllAlpha(List.of(2.0, 8.0, 0.5))
              .addAllBeta(List.of(0.0, 0.0, 0.0))).build()))).isEqualTo(1);
      long after = System.currentTimeMillis();
      await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("scraped").getProbes() > 0);
      Curvature c = client.curvature("scraped");
      assertThat(c.getEdgeRatio()).isGreaterThan(1.0);

      // /metrics on the node's HTTP port, as deploy/prometheus/prometheus.yml scrapes it
      Process prometheus = startPrometheus(node.httpPort());
      try {
        int port = prometheusPort;
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(250))
            .until(() -> query(port, "stepsize_jobs").isPresent());
        assertThat(query(port, "stepsize_jobs")).contains(1.0);
        // the counter as scraped before any dead letter: growth is what the DLQ alert sees
        assertThat(query(port, "stepsize_probes_dead_lettered_total")).contains(0.0);
        // a record no probe parser accepts, straight onto the probes topic: the estimator dead-letters it
        deadLetterOne(node);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250)).until(() ->
            query(port, "stepsize_job_edge_ratio{job_id=\"scraped\"}").isPresent()
                && query(port, "stepsize_probes_dead_lettered_total").equals(Optional.of(1.0)));
        assertThat(query(port, "stepsize_job_edge_ratio{job_id=\"scraped\"}")).contains(c.getEdgeRatio());
        assertThat(query(port, "stepsize_job_kappa{job_id=\"scraped\"}")).contains(c.getKappa());
        // the probe's produce time, which ReportProbes set between these two clock readings
        double probeTime = query(port, "stepsize_job_last_probe_timestamp_seconds{job_id=\"scraped\"}").orElseThrow();
        assertThat(probeTime * 1000).isBetween((double) before, (double) after);
        assertThat(query(port, "stepsize_views_lag_records{topic=\"stepsize.curvature\"}")).contains(0.0);
        assertThat(query(port, "stepsize_views_lag_records{topic=\"stepsize.jobs\"}")).contains(0.0);
        // the deployed rule, evaluated every second on the scraped series: pending (its `for` is 10 minutes)
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250))
            .until(() -> alertState(port, "StepsizeEdgeRatioAboveOne", "scraped").isPresent());
        assertThat(alertState(port, "StepsizeEdgeRatioAboveOne", "scraped")).contains("pending");
        // the dead-letter rule has no `for`: it fires at its first evaluation after the growth
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(250))
            .until(() -> alertState(port, "StepsizeDeadLetters", null).isPresent());
        assertThat(alertState(port, "StepsizeDeadLetters", null)).contains("firing");
      } finally {
        stop(prometheus);
      }
    }
  }

  private int prometheusPort;

  /** Starts prometheus on a free loopback port, scraping the node and evaluating deploy/prometheus/alerts.yml every second. */
  private Process startPrometheus(int metricsPort) throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      prometheusPort = s.getLocalPort();
    }
    Path config = dir.resolve("prometheus.yml");
    Files.writeString(config, String.join("\n",
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "rule_files:",
        "  - '" + Tools.prometheusDir().resolve("alerts.yml") + "'",
        "scrape_configs:",
        "  - job_name: stepsize",
        "    static_configs:",
        "      - targets: ['127.0.0.1:" + metricsPort + "']",
        ""));
    Path log = dir.resolve("prometheus.log");
    List<String> command = new ArrayList<>(List.of("prometheus", "--config.file=" + config,
        "--web.listen-address=127.0.0.1:" + prometheusPort, "--storage.tsdb.path=" + dir.resolve("tsdb")));
    Process p;
    try {
      p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    } catch (java.io.IOException e) {
      throw new AssertionError("prometheus not found on PATH: install Debian's prometheus package", e);
    }
    // a JVM killed mid-test must not leave it running either
    Thread hook = new Thread(p::destroyForcibly);
    Runtime.getRuntime().addShutdownHook(hook);
    p.onExit().thenRun(() -> {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    });
    try {
      await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).until(() -> {
        if (!p.isAlive()) {
          throw new AssertionError("prometheus exited " + p.exitValue() + ":\n" + Files.readString(log));
        }
        return ready(prometheusPort);
      });
    } catch (RuntimeException | AssertionError e) {
      stop(p);
      throw e;
    }
    return p;
  }

  private static void stop(Process p) throws InterruptedException {
    p.destroy();
    if (!p.waitFor(10, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private boolean ready(int port) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/-/ready")).build(),
          HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
    } catch (Exception e) {
      return false;
    }
  }

  private JsonObject get(int port, String pathAndQuery) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
        .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    JsonObject body = JsonParser.parseString(r.body()).getAsJsonObject();
    assertThat(body.get("status").getAsString()).as(r.body()).isEqualTo("success");
    return body.getAsJsonObject("data");
  }

  /** The value of an instant query that selects at most one series; empty when none (yet). */
  private Optional<Double> query(int port, String promql) throws Exception {
    JsonArray result = get(port, "/api/v1/query?query=" + URLEncoder.encode(promql, StandardCharsets.UTF_8))
        .getAsJsonArray("result");
    assertThat(result.size()).as(promql + " → " + result).isLessThanOrEqualTo(1);
    // [unix time, "value"]: Prometheus prints the float's shortest exact form
    return result.isEmpty() ? Optional.empty()
        : Optional.of(Double.parseDouble(result.get(0).getAsJsonObject().getAsJsonArray("value").get(1).getAsString()));
  }

  /** The state (pending, firing) of the alert named {@code name}, for {@code jobId} unless null. */
  private Optional<String> alertState(int port, String name, String jobId) throws Exception {
    for (JsonElement e : get(port, "/api/v1/alerts").getAsJsonArray("alerts")) {
      JsonObject labels = e.getAsJsonObject().getAsJsonObject("labels");
      if (labels.get("alertname").getAsString().equals(name)
          && (jobId == null || labels.has("job_id") && labels.get("job_id").getAsString().equals(jobId))) {
        return Optional.of(e.getAsJsonObject().get("state").getAsString());
      }
    }
    return Optional.empty();
  }

  private static void deadLetterOne(StepsizeNode node) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.broker().bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      producer.send(new ProducerRecord<>(Topics.PROBES, "scraped", new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff}))
          .get();
    }
  }
}
