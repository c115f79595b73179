package io.stepsize.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.broker.EmbeddedKafka;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.ProbeReport;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
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
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code stepsize estimator} in-process against a real broker: it estimates, it stops, bad flags exit 2. */
class EstimatorCommandTest {
  @TempDir static Path dir;
  private static EmbeddedKafka kafka;

  private final CliHarness cli = new CliHarness("estimator");
  private final StringWriter out = cli.out;
  private final StringWriter err = cli.err;

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start(dir.resolve("broker"), 0);
  }

  @AfterAll
  static void stopBroker() {
    if (kafka != null) {
      kafka.close();
    }
  }

  private int run(String... args) {
    return cli.run(args);
  }

  private static Properties client() {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    return p;
  }

  @Test
  void runsAgainstABrokerUntilStopped() throws Exception {
    // a thread of its own: the verb blocks until interrupted, like the CLI until SIGTERM
    AtomicReference<Integer> exit = new AtomicReference<>();
    Thread worker = new Thread(() -> exit.set(run("--bootstrap-servers", kafka.bootstrapServers(), "--topic-prefix",
        "cli", "--partitions", "3", "--state-dir", dir.resolve("state").toString())), "estimator-verb");
    worker.start();
    try (Admin admin = Admin.create(client())) {
      Set<String> topics = Set.of("cli.stepsize.jobs", "cli.stepsize.probes", "cli.stepsize.curvature",
          "cli.stepsize.curvature.history", "cli.stepsize.probes.dlq");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!admin.listTopics().names().get().containsAll(topics)) {
        assertThat(worker.isAlive()).as(err.toString()).isTrue();
        assertThat(System.nanoTime()).as("topics created").isLessThan(deadline);
        Thread.sleep(100);
      }
      Map<String, Integer> partitions = admin.describeTopics(topics).allTopicNames().get().entrySet().stream()
          .collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().partitions().size()));
      assertThat(partitions.values()).as("--partitions 3").containsOnly(3);

      Properties pp = client();
      pp.put(ProducerConfig.ACKS_CONFIG, "all");
      try (KafkaProducer<String, byte[]> producer =
               new KafkaProducer<>(pp, new StringSerializer(), new ByteArraySerializer())) {
        JobSpec job = JobSpec.newBuilder().setJobId("cli-job").setTotalSteps(100).setLrMax(0.1).setLrMin(0.001).build();
        producer.send(new ProducerRecord<>("cli.stepsize.jobs", "cli-job", job.toByteArray())).get();
        // T = [[2, 1], [1, 2]]: Ritz values 1 and 3 exactly, so κ = 3 (both converged: β_m = 1e-9)
        ProbeReport probe = ProbeReport.newBuilder().setJobId("cli-job").setStep(7).setWorkerId("w")
            .setLanczos(LanczosProbe.newBuilder().addAlpha(2).addAlpha(2).addBeta(1).addBeta(1e-9)).build();
        producer.send(new ProducerRecord<>("cli.stepsize.probes", "cli-job", probe.toByteArray())).get();
      }
      Curvature c = awaitCurvature("cli.stepsize.curvature", "cli-job");
      assertThat(c.getStep()).isEqualTo(7);
      assertThat(c.getLambdaMax()).isCloseTo(3.0, org.assertj.core.data.Offset.offset(1e-14));
      assertThat(c.getLambdaLow()).isCloseTo(1.0, org.assertj.core.data.Offset.offset(1e-14));
      assertThat(c.getKappa()).isCloseTo(3.0, org.assertj.core.data.Offset.offset(1e-13));
      assertThat(c.getAppliesFromStep()).isEqualTo(8);
      assertThat(worker.isAlive()).isTrue();

      // stopping: the verb closes the application, leaves the group and exits 0
      worker.interrupt();
      worker.join(60_000);
      assertThat(worker.isAlive()).isFalse();
      assertThat(exit.get()).as(err.toString()).isZero();
      ConsumerGroupDescription group = admin.describeConsumerGroups(List.of("cli.stepsize-estimator"))
          .describedGroups().get("cli.stepsize-estimator").get();
      assertThat(group.members()).as("left the group on close").isEmpty();
    } finally {
      if (worker.isAlive()) {
        worker.interrupt();
        worker.join(60_000);
      }
    }
  }

  private static Curvature awaitCurvature(String topic, String jobId) throws Exception {
    Properties p = client();
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic).stream().map(i -> new TopicPartition(topic, i.partition()))
          .toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          if (r.key().equals(jobId)) {
            return Curvature.parseFrom(r.value());
          }
        }
      }
    }
    throw new AssertionError("no estimate for " + jobId + " on " + topic);
  }

  @Test
  void badFlagsExitTwoNamingTheFlag() {
    String[][] cases = {
        {"Missing required option: '--bootstrap-servers=<bootstrapServers>'"},
        {"--partitions: must be >= 1 (got 0)", "--bootstrap-servers", "localhost:1", "--partitions", "0"},
        {"Invalid value for option '--partitions': 'three' is not an int",
            "--bootstrap-servers", "localhost:1", "--partitions", "three"},
        {"--bootstrap-servers: must not be empty", "--bootstrap-servers", " "},
        {"--topic-prefix: must use only letters, digits, '.', '_' and '-' (at most 180) (got 'a/b')",
            "--bootstrap-servers", "localhost:1", "--topic-prefix", "a/b"},
        {"Unknown option: '--bogus'", "--bootstrap-servers", "localhost:1", "--bogus"},
    };
    for (String[] c : cases) {
      err.getBuffer().setLength(0);
      String[] args = java.util.Arrays.copyOfRange(c, 1, c.length);
      assertThat(run(args)).as(String.join(" ", args)).isEqualTo(2);
      assertThat(err.toString()).as(String.join(" ", args)).contains(c[0]);
    }
  }

  @Test
  void helpExitsZero() {
    assertThat(run("--help")).isZero();
    assertThat(out.toString()).contains("--bootstrap-servers").contains("--topic-prefix").contains("--partitions");
  }
}
