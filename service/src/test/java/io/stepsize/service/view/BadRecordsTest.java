package io.stepsize.service.view;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.GradientStatsPoint;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.Source;
import io.stepsize.service.StepsizeNode;
import io.stepsize.wire.RecordHeaders;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DESIGN.md §4: a bad record on a topic the service reads is skipped and counted, never fatal. A
 * foreign producer writes bad records straight to a real broker's stepsize.jobs,
 * stepsize.curvature and stepsize.gradient-stats, then good ones; the node answers the good ones,
 * counts the bad ones by kind, and after a restart on the same data reaches SERVING and answers
 * the same. The estimator does not run: nothing but this test writes curvature and statistics.
 */
class BadRecordsTest {
  private static final String JOBS = "stepsize.jobs";
  private static final String CURVATURE = "stepsize.curvature";
  private static final String STATS = "stepsize.gradient-stats";
  private static final byte[] GARBAGE = {(byte) 0xff, (byte) 0xff}; // a varint that never ends
  @TempDir Path dir;

  private static JobSpec spec(String id, double lrMax) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(lrMax).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.newBuilder()
            .setScale(0.5).setExponent(1))).build();
  }

  /** An estimate of probe step 20 (kappa 16), applying from step 21. */
  private static Curvature estimate(String id) {
    CurvaturePoint point = CurvaturePoint.newBuilder().setStep(20).setAppliesFromStep(21).setPhase(1)
        .setLambdaMin(0.5).setLambdaLow(0.5).setLambdaMax(8).setKappa(16).setLambdaMaxBound(8).setProbes(1).build();
    return Curvature.newBuilder().setJobId(id).setPhase(1).setStep(20).setAppliesFromStep(21).setLambdaMin(0.5)
        .setLambdaLow(0.5).setLambdaMax(8).setKappa(16).setLambdaMaxBound(8).setProbes(1).addTimeline(point).build();
  }

  /** Gradient statistics of two steps, as the estimator writes them. */
  private static GradientStatsTimeline stats(String id) {
    return GradientStatsTimeline.newBuilder().setJobId(id).setReports(3)
        .addPoints(GradientStatsPoint.newBuilder().setStep(1).setLoss(2).setGradNorm(0.5).setWorkers(2))
        .addPoints(GradientStatsPoint.newBuilder().setStep(2).setLoss(1).setGradNorm(0.25).setWorkers(1)
            .addMicrobatchGradNorms(0.5)).build();
  }

  private static ProducerRecord<String, byte[]> record(String topic, String key, byte[] value, String tenant) {
    ProducerRecord<String, byte[]> r = new ProducerRecord<>(topic, key, value);
    if (tenant != null) {
      r.headers().add(RecordHeaders.OWNER, tenant.getBytes(StandardCharsets.UTF_8));
    }
    return r;
  }

  /** Every bad kind written below, with how many records of it. */
  private static final Map<String, Double> EXPECTED = Map.ofEntries(
      Map.entry("{kind=\"bad_key\",topic=\"stepsize.curvature\"}", 3.0),
      Map.entry("{kind=\"unparsable\",topic=\"stepsize.curvature\"}", 1.0),
      Map.entry("{kind=\"key_mismatch\",topic=\"stepsize.curvature\"}", 1.0),
      Map.entry("{kind=\"no_key\",topic=\"stepsize.curvature\"}", 1.0),
      Map.entry("{kind=\"unparsable\",topic=\"stepsize.gradient-stats\"}", 1.0),
      Map.entry("{kind=\"key_mismatch\",topic=\"stepsize.gradient-stats\"}", 1.0),
      Map.entry("{kind=\"no_key\",topic=\"stepsize.gradient-stats\"}", 1.0),
      Map.entry("{kind=\"unparsable\",topic=\"stepsize.jobs\"}", 1.0),
      Map.entry("{kind=\"key_mismatch\",topic=\"stepsize.jobs\"}", 1.0),
      Map.entry("{kind=\"invalid_spec\",topic=\"stepsize.jobs\"}", 1.0),
      Map.entry("{kind=\"no_key\",topic=\"stepsize.jobs\"}", 1.0),
      Map.entry("{kind=\"foreign_owner\",topic=\"stepsize.jobs\"}", 1.0));

  @Test
  void badRecordsAreSkippedAndCountedAndTheNodeServesTheGoodOnesAcrossARestart() throws Exception {
    StepsizeNode.Config config = StepsizeNode.Config.embedded(dir).withRunEstimator(false).withMetricsPort(0);
    try (StepsizeNode node = StepsizeNode.start(config);
         StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10))) {
      assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, node.broker().bootstrapServers());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      try (KafkaProducer<String, byte[]> foreign = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
        // what a remote estimator dead-letters is counted too: the replica reads the topic, whoever writes it
        foreign.send(record(io.stepsize.wire.Topics.PROBES_DLQ, "good", GARBAGE, null)).get();
        // curvature: a segment key without its second mark, as a value and as a tombstone, a
        // segment index that is no number, garbage, an estimate under another job's key, an empty key (the broker refuses none on a compacted topic)
        foreign.send(record(CURVATURE, "\0xyz", estimate("xyz").toByteArray(), null)).get();
        foreign.send(record(CURVATURE, "\0xyz", null, null)).get();
        foreign.send(record(CURVATURE, "\0one\0good", estimate("good").toByteArray(), null)).get();
        foreign.send(record(CURVATURE, "garbage", GARBAGE, null)).get();
        foreign.send(record(CURVATURE, "good", estimate("other").toByteArray(), null)).get();
        foreign.send(record(CURVATURE, "", estimate("good").toByteArray(), null)).get();
        // jobs: garbage, a spec under another job's key, a spec that breaks a rule, an empty key, the
        // tombstone of a job never written (harmless: nothing to remove, not counted)
        foreign.send(record(JOBS, "junk", GARBAGE, null)).get();
        foreign.send(record(JOBS, "good", spec("other", 0.1).toByteArray(), null)).get();
        foreign.send(record(JOBS, "broken", spec("broken", 0.1).toBuilder().setTotalSteps(0).build().toByteArray(),
            null)).get();
        foreign.send(record(JOBS, "", spec("good", 0.1).toByteArray(), null)).get();
        foreign.send(record(JOBS, "\0xyz", null, null)).get();
        // a job's first record decides its owner: a later one under another tenant changes nothing
        foreign.send(record(JOBS, "owned", spec("owned", 0.1).toByteArray(), "alice")).get();
        foreign.send(record(JOBS, "owned", spec("owned", 0.9).toByteArray(), "bob")).get();
        // gradient statistics: garbage, a timeline under another job's key, an empty key
        foreign.send(record(STATS, "good", GARBAGE, null)).get();
        foreign.send(record(STATS, "good", stats("other").toByteArray(), null)).get();
        foreign.send(record(STATS, "", stats("good").toByteArray(), null)).get();
        // then the good records
        foreign.send(record(JOBS, "good", spec("good", 0.1).toByteArray(), null)).get();
        foreign.send(record(CURVATURE, "good", estimate("good").toByteArray(), null)).get();
        foreign.send(record(STATS, "good", stats("good").toByteArray(), null)).get();
      }
      await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(client.curvature("good"))
          .isEqualTo(estimate("good")));
      assertAnswers(client);
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertCounted(node));
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(deadLettered(node)).isEqualTo(1.0));
      // the node wrote alice's record again after bob's, so compaction, which keeps a key's
      // latest record, keeps hers
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(ownedRecords(node))
          .containsExactly("alice:0.1", "bob:0.9", "alice:0.1"));
    }
    try (StepsizeNode node = StepsizeNode.start(config);
         StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10))) {
      assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
      assertAnswers(client);
      assertCounted(node);
      // the dead-letter topic is read from its end: a restarted replica counts from 0 (Prometheus'
      // increase() takes a counter reset for a restart, not for a drop)
      assertThat(deadLettered(node)).isEqualTo(0.0);
      // the owner's record is already the latest: nothing written again
      Thread.sleep(500);
      assertThat(ownedRecords(node)).containsExactly("alice:0.1", "bob:0.9", "alice:0.1");
    }
  }

  /** The records of job "owned" on stepsize.jobs in order, as "tenant:lr_max". */
  private static List<String> ownedRecords(StepsizeNode node) throws Exception {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, node.broker().bootstrapServers());
    List<String> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(JOBS).stream().map(i -> new TopicPartition(JOBS, i.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          if ("owned".equals(r.key())) {
            out.add(new String(r.headers().lastHeader(RecordHeaders.OWNER).value(), StandardCharsets.UTF_8) + ":"
                + JobSpec.parseFrom(r.value()).getLrMax());
          }
        }
      }
    }
    return out;
  }

  private static void assertAnswers(StepsizeClient client) {
    assertThat(client.getJob("good").getSpec()).isEqualTo(spec("good", 0.1));
    assertThat(client.curvature("good")).isEqualTo(estimate("good"));
    assertThat(client.learningRate("good", 50).getSource()).isEqualTo(Source.SOURCE_CURVATURE);
    assertThat(client.learningRate("good", 50).getPhi()).isEqualTo(16.0); // 0.5 · 2κ
    assertThat(client.getJob("owned").getSpec()).isEqualTo(spec("owned", 0.1));
    assertThat(client.gradientStats("good")).isEqualTo(stats("good"));
  }

  private static String scrape(StepsizeNode node) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://127.0.0.1:" + node.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static double deadLettered(StepsizeNode node) throws Exception {
    String series = "stepsize_probes_dead_lettered_total ";
    return scrape(node).lines().filter(l -> l.startsWith(series)).findFirst()
        .map(l -> Double.parseDouble(l.substring(series.length()).trim()))
        .orElseThrow(() -> new AssertionError("no series " + series));
  }

  private static void assertCounted(StepsizeNode node) throws Exception {
    String body = scrape(node);
    Map<String, Double> counted = new java.util.TreeMap<>();
    body.lines().filter(l -> l.startsWith("stepsize_bad_records_total{")).forEach(l -> {
      int space = l.lastIndexOf(' ');
      counted.put(l.substring("stepsize_bad_records_total".length(), space), Double.parseDouble(l.substring(space + 1)));
    });
    assertThat(counted).isEqualTo(new java.util.TreeMap<>(EXPECTED));
  }
}
