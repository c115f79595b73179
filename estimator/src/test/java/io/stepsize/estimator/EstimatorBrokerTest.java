package io.stepsize.estimator;

import io.stepsize.wire.JobPartitioner;
import io.stepsize.wire.Topics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.broker.EmbeddedKafka;
import io.stepsize.client.lanczos.KnownSpectrumHvp;
import io.stepsize.client.lanczos.LanczosDriver;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import io.stepsize.wire.CurvatureAssembly;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The estimator on a real single-node KRaft broker in this JVM: plain Kafka producers in,
 * read_committed consumers out, dead letters with their reasons, a restart mid-stream, and the
 * topics' configurations. Each test uses its own topic prefix, so its own application id.
 */
class EstimatorBrokerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  /** Partitions of the topics the tests' estimators create. */
  private static final int PARTITIONS = 2;
  @TempDir static Path dir;
  private static EmbeddedKafka kafka;
  private static KafkaProducer<String, byte[]> producer;

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start(dir.resolve("broker"), 0);
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  @AfterAll
  static void stopBroker() {
    if (producer != null) {
      producer.close(Duration.ofSeconds(5));
    }
    if (kafka != null) {
      kafka.close();
    }
  }

  private static EstimatorApp startApp(Topics topics, String stateName) {
    return startApp(topics, stateName, new Properties());
  }

  private static EstimatorApp startApp(Topics topics, String stateName, Properties settings) {
    return EstimatorApp.start(kafka.bootstrapServers(), topics, dir.resolve(stateName), settings, PARTITIONS,
        Duration.ofSeconds(60));
  }

  /** A short grace period for probes of unknown jobs, so a test sees them dead-lettered. */
  private static Properties grace(long ms) {
    Properties p = new Properties();
    p.put(ProbeParking.GRACE_MS_CONFIG, String.valueOf(ms));
    return p;
  }

  private static void send(String topic, String key, byte[] value) {
    try {
      producer.send(new ProducerRecord<>(topic, key, value)).get();
    } catch (InterruptedException | ExecutionException e) {
      throw new AssertionError("producing to " + topic + " failed", e);
    }
  }

  private static void sendProbe(Topics topics, ProbeReport p) {
    send(topics.probes().name(), p.getJobId(), p.toByteArray());
  }

  /** Every committed record of {@code topic} from the beginning, polled until {@code done} holds. */
  private static List<ConsumerRecord<String, byte[]>> readUntil(String topic,
      Predicate<List<ConsumerRecord<String, byte[]>>> done) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    // what a downstream reader of an exactly-once application must use: aborted writes stay invisible
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    List<ConsumerRecord<String, byte[]>> all = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic, WAIT).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (true) {
        c.poll(Duration.ofMillis(200)).forEach(all::add);
        if (done.test(all)) {
          // read on to the current end, so a test sees any extra (duplicate) record that followed
          Map<TopicPartition, Long> end = c.endOffsets(parts);
          while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
            c.poll(Duration.ofMillis(200)).forEach(all::add);
          }
          return all;
        }
        if (System.nanoTime() > deadline) {
          throw new AssertionError("waited " + WAIT + " on " + topic + "; read " + all.size() + " records");
        }
      }
    }
  }

  private static Curvature parse(ConsumerRecord<String, byte[]> r) {
    try {
      return Curvature.parseFrom(r.value());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** The compacted view as a reader builds it: the last value per key. */
  /** Each job's curvature, its records folded in offset order (a job's records share a partition). */
  private static Map<String, Curvature> lastPerKey(List<ConsumerRecord<String, byte[]>> records) {
    CurvatureAssembly view = new CurvatureAssembly();
    records.stream().sorted(Comparator.comparingLong(ConsumerRecord::offset))
        .forEach(r -> view.apply(r.key(), r.value() == null ? null : parse(r)));
    return view.all();
  }

  private static Predicate<List<ConsumerRecord<String, byte[]>>> latestStepIs(String jobId, long step) {
    return records -> {
      Curvature c = lastPerKey(records).get(jobId);
      return c != null && c.getStep() == step;
    };
  }

  /** The sum of {@code topic}'s end offsets: its records ever written plus its transaction markers. */
  private static long written(String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic, WAIT).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      return c.endOffsets(parts).values().stream().mapToLong(Long::longValue).sum();
    }
  }

  private static String header(ConsumerRecord<?, ?> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void probesFromAPlainProducerBecomeEstimatesAndBadRecordsGoToTheDeadLetterTopic() throws Exception {
    Topics topics = new Topics("e2e");
    try (EstimatorApp app = startApp(topics, "state-e2e", grace(1000))) {
      send(topics.jobs().name(), "job", Probes.withDelay(Probes.job("job", 1000), 2).toByteArray());

      // 1. a real probe: the trainer's driver on a 2,000-dimensional matrix with an isolated top at 100
      double[] lambda = new double[2000];
      for (int i = 0; i < 1999; i++) {
        lambda[i] = 10.0 * i / 1998;
      }
      lambda[1999] = 100.0;
      ProbeReport real = LanczosDriver.of(20).run(KnownSpectrumHvp.of(lambda, 3, 5), 2000, 7).toProbe("job", 10, "w0");
      sendProbe(topics, real);
      Curvature first = lastPerKey(readUntil(topics.curvature().name(), latestStepIs("job", 10))).get("job");
      assertThat(Math.abs(first.getLambdaMax() - 100.0) / 100.0).isLessThan(1e-8);
      assertThat(first.getLambdaMaxBound()).isGreaterThanOrEqualTo(100.0 - 1e-9);
      assertThat(first.getAppliesFromStep()).isEqualTo(12);
      assertThat(first.getProbes()).isEqualTo(1);

      // 2. bytes that are no protobuf (a deserialization failure) and a NaN (a processing failure)
      byte[] garbage = "not a protobuf".getBytes(StandardCharsets.UTF_8);
      assertThatThrownBy(() -> ProbeReport.parseFrom(garbage)).as("the garbage really is undecodable")
          .isInstanceOf(com.google.protobuf.InvalidProtocolBufferException.class);
      send(topics.probes().name(), "job", garbage);
      ProbeReport nan = Probes.diagonal("job", 11, "w0", 1.0, Double.NaN);
      sendProbe(topics, nan);
      ProbeReport unknown = Probes.diagonal("ghost", 11, "w0", 1.0, 2.0);
      sendProbe(topics, unknown);

      // 3. the next good probe still yields an estimate
      sendProbe(topics, Probes.diagonal("job", 12, "w0", 2.0, 50.0));
      List<ConsumerRecord<String, byte[]>> curvature = readUntil(topics.curvature().name(), latestStepIs("job", 12));
      Curvature latest = lastPerKey(curvature).get("job");
      assertThat(latest.getTimelineList()).extracting(CurvaturePoint::getStep).containsExactly(10L, 12L);
      assertThat(latest.getProbes()).isEqualTo(2);
      assertThat(latest.getAppliesFromStep()).isEqualTo(14);
      assertThat(app.state()).isEqualTo(KafkaStreams.State.RUNNING);

      List<ConsumerRecord<String, byte[]>> dead = readUntil(topics.probesDlq().name(), r -> r.size() >= 3);
      assertThat(dead).hasSize(3);
      Map<String, ConsumerRecord<String, byte[]>> byValue = dead.stream().collect(Collectors.toMap(
          r -> new String(r.value(), StandardCharsets.ISO_8859_1), r -> r));

      ConsumerRecord<String, byte[]> undecodable = byValue.get(new String(garbage, StandardCharsets.ISO_8859_1));
      assertThat(undecodable).as("the garbage record, bytes unchanged").isNotNull();
      assertThat(undecodable.key()).isEqualTo("job");
      assertThat(header(undecodable, "__streams.errors.exception"))
          .isEqualTo("org.apache.kafka.common.errors.SerializationException");
      assertThat(header(undecodable, "__streams.errors.message"))
          .startsWith("value: not a stepsize.v1.ProbeReport protobuf (14 bytes on " + topics.probes().name() + ")");
      assertThat(header(undecodable, "__streams.errors.topic")).isEqualTo(topics.probes().name());

      ConsumerRecord<String, byte[]> invalid = byValue.get(new String(nan.toByteArray(), StandardCharsets.ISO_8859_1));
      assertThat(invalid).as("the NaN probe, bytes unchanged").isNotNull();
      assertThat(header(invalid, "__streams.errors.exception"))
          .isEqualTo("io.stepsize.wire.InvalidProbeException");
      assertThat(header(invalid, "__streams.errors.message")).isEqualTo("lanczos.alpha[1] must be finite, got NaN");
      assertThat(header(invalid, "__streams.errors.offset")).isNotNull();

      ConsumerRecord<String, byte[]> noJob = byValue.get(new String(unknown.toByteArray(), StandardCharsets.ISO_8859_1));
      assertThat(noJob).isNotNull();
      // changed with issue 12: a probe of an unknown job waits for it, here 1 s, before it is bad
      assertThat(header(noJob, "__streams.errors.message")).isEqualTo("job_id: no job 'ghost' arrived within 1 s of its probe");
      assertThat(header(noJob, "__streams.errors.topic")).isEqualTo(topics.probes().name());

      List<ConsumerRecord<String, byte[]>> history = readUntil(topics.curvatureHistory().name(), r -> r.size() >= 2);
      assertThat(history).extracting(r -> parse(r).getStep()).containsExactly(10L, 12L);
      // keyed by job_id with Java's partitioner, every probe was on its job's partition already
      assertThat(written(topics.probesByJob().name())).as("nothing took the repartition topic").isZero();
    }
  }

  /**
   * Issue 12, item 1: a trainer's own producer may use any partitioner (librdkafka's default is
   * CRC32, not Java's murmur2) and any key. Every probe here goes to the partition its job's record
   * is NOT on, keyed in another case or not at all, a quarter of them before their job exists; all
   * are estimated and none is dead-lettered. A job record keyed other than its job_id is no job.
   */
  @Test
  void probesFindTheirJobWhateverTheirPartitionAndKey() throws Exception {
    Topics topics = new Topics("anypart");
    int partitions = 2;
    try (EstimatorApp app = startApp(topics, "state-anypart", grace(3000))) {
      List<String> ids = IntStream.range(0, 20).mapToObj(i -> "Job-" + i).toList();
      for (String id : ids.subList(5, ids.size())) {
        send(topics.jobs().name(), id, Probes.job(id, 100).toByteArray());
      }
      for (int i = 0; i < ids.size(); i++) {
        String id = ids.get(i);
        int other = (JobPartitioner.partitionOf(id, partitions) + 1) % partitions;
        String key = switch (i % 3) {
          case 0 -> id.toUpperCase(java.util.Locale.ROOT);
          case 1 -> id.toLowerCase(java.util.Locale.ROOT);
          default -> null;
        };
        producer.send(new ProducerRecord<>(topics.probes().name(), other, key,
            Probes.diagonal(id, 1, "w", 1.0, 10.0 + i).toByteArray())).get();
      }
      // the first five jobs come after their probes, as a trainer racing its CreateJob would see it
      for (String id : ids.subList(0, 5)) {
        send(topics.jobs().name(), id, Probes.job(id, 100).toByteArray());
      }
      send(topics.jobs().name(), "MisKeyed", Probes.job("miskeyed", 100).toByteArray());
      sendProbe(topics, Probes.diagonal("miskeyed", 1, "w", 1.0, 2.0));

      List<ConsumerRecord<String, byte[]>> history = readUntil(topics.curvatureHistory().name(), r -> r.size() >= 20);
      assertThat(history).extracting(ConsumerRecord::key).containsExactlyInAnyOrderElementsOf(ids);
      assertThat(history).allSatisfy(r -> {
        Curvature c = parse(r);
        assertThat(c.getStep()).isEqualTo(1);
        assertThat(c.getLambdaMax()).isEqualTo(10.0 + ids.indexOf(r.key()));
        assertThat(r.partition()).as("an estimate on its job's partition")
            .isEqualTo(JobPartitioner.partitionOf(r.key(), partitions));
      });

      List<ConsumerRecord<String, byte[]>> dead = readUntil(topics.probesDlq().name(), r -> r.size() >= 2);
      assertThat(dead).extracting(r -> header(r, "__streams.errors.message")).containsExactlyInAnyOrder(
          "job_id: must equal the record key (key 'MisKeyed', job_id 'miskeyed')",
          "job_id: no job 'miskeyed' arrived within 3 s of its probe");
      assertThat(app.state()).isEqualTo(KafkaStreams.State.RUNNING);

      // the internal topic carries the prefix, and Streams made it as wide as stepsize.jobs
      Properties p = new Properties();
      p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
      try (Admin admin = Admin.create(p)) {
        assertThat(topics.probesByJob().name()).isEqualTo("anypart.stepsize-estimator-probes-by-job-repartition");
        assertThat(admin.describeTopics(List.of(topics.probesByJob().name())).allTopicNames().get()
            .get(topics.probesByJob().name()).partitions()).hasSize(partitions);
      }
      // the 20 on the other partition took it (each transaction's commit marker takes an offset
      // too, and Streams deletes consumed records, so the end offsets are all there is to count)
      assertThat(written(topics.probesByJob().name())).isGreaterThanOrEqualTo(20);
    }
  }

  /**
   * Probes that wait for their job are state, not memory: parked, then the estimator stopped and
   * started on an empty state directory (the store rebuilt from its changelog), and the job's
   * arrival releases every one of them, in the order they came.
   */
  @Test
  void parkedProbesSurviveARestartOnAnEmptyStateDirectory() throws Exception {
    Topics topics = new Topics("parkrestart");
    String changelog = topics.applicationId() + "-" + CurvatureTopology.PARKED_STORE + "-changelog";
    try (EstimatorApp app = startApp(topics, "state-park-1")) {
      for (long s = 1; s <= 3; s++) {
        sendProbe(topics, Probes.diagonal("late", s, "w", 1.0, 10.0 * s));
      }
      readUntil(changelog, r -> r.size() >= 3); // committed: parked for good
    }
    try (EstimatorApp app = startApp(topics, "state-park-2")) {
      send(topics.jobs().name(), "late", Probes.job("late", 100).toByteArray());
      List<ConsumerRecord<String, byte[]>> history = readUntil(topics.curvatureHistory().name(), r -> r.size() >= 3);
      assertThat(history).extracting(r -> parse(r).getStep()).containsExactly(1L, 2L, 3L);
      // the job counts all three, and the first estimate is its probe's own λ_max (later ones are smoothed)
      assertThat(history).extracting(r -> parse(r).getProbes()).containsExactly(1L, 2L, 3L);
      assertThat(parse(history.get(0)).getLambdaMax()).isEqualTo(10.0);
      assertThat(readUntil(topics.probesDlq().name(), r -> true)).as("nothing dead-lettered").isEmpty();
    }
  }

  @Test
  void restartingMidStreamLosesNoEstimateAndDuplicatesNone() throws Exception {
    Topics topics = new Topics("restart");
    JobSpec spec = Probes.withHalfLife(Probes.job("job", 10_000, 40, 10_000), 2);
    int steps = 150; // past two segment boundaries (CurvatureRecords.SEGMENT = 64)
    List<ProbeReport> probes = new ArrayList<>();
    for (long s = 0; s < steps; s++) {
      // two workers on every third step, so merges straddle the restarts too; phase 2 from step 40
      probes.add(Probes.diagonal("job", s, "w1", 1 + s % 7, 10 + 0.5 * s, -0.1 * (s % 3)));
      if (s % 3 == 0) {
        probes.add(Probes.diagonal("job", s, "w2", 0.5 + s % 5, 12 + 0.25 * s));
      }
    }
    EstimatorApp app = null;
    CompletableFuture<Void> feeding = null;
    try {
      app = startApp(topics, "state-restart"); // creates the topics
      send(topics.jobs().name(), "job", spec.toByteArray());
      // a producer that never pauses: the estimator is stopped and started under its feet
      AtomicInteger sent = new AtomicInteger();
      feeding = CompletableFuture.runAsync(() -> {
        for (ProbeReport p : probes) {
          sendProbe(topics, p);
          sent.incrementAndGet();
          try {
            Thread.sleep(25);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
          }
        }
      });
      readUntil(topics.curvatureHistory().name(), r -> r.size() >= 15);
      app.close();
      int sentAtStop = sent.get();
      assertThat(sentAtStop).as("stopped mid-stream").isLessThan(probes.size());
      assertThat(app.state()).isEqualTo(KafkaStreams.State.NOT_RUNNING);
      app = startApp(topics, "state-restart"); // same local state
      readUntil(topics.curvatureHistory().name(), r -> r.stream().anyMatch(x -> parse(x).getStep() >= 50));
      app.close();
      // a fresh state directory: the stores must come back from their changelogs
      app = startApp(topics, "state-restart-elsewhere");
      feeding.get();
      List<ConsumerRecord<String, byte[]>> curvature = readUntil(topics.curvature().name(), latestStepIs("job", steps - 1));

      // the reference: the same records through the same topology with nothing stopped
      Curvature expected = uninterrupted(spec, probes);
      assertThat(expected.getTimelineCount()).isEqualTo(steps);

      Curvature view = lastPerKey(curvature).get("job");
      assertThat(view.getTimelineList()).extracting(CurvaturePoint::getStep)
          .containsExactlyElementsOf(LongStream.range(0, steps).boxed().toList());
      assertThat(view).isEqualTo(expected);
      assertThat(view.getProbes()).isEqualTo(probes.size());
      // the edge ratios compared above rest on the job's earlier points, which the restarts (the last on
      // an empty state directory) had to read back from their store
      assertThat(view.getTimelineList()).allSatisfy(p -> assertThat(p.getEdgeRatio()).isFinite().isPositive());

      // the append-only history: one estimate per probe, each exactly once, as committed
      List<ConsumerRecord<String, byte[]>> history = readUntil(topics.curvatureHistory().name(),
          r -> r.stream().anyMatch(x -> parse(x).getStep() == steps - 1));
      assertThat(history).hasSize(probes.size());
      List<String> seen = history.stream().sorted(Comparator.comparingLong(ConsumerRecord::offset))
          .map(r -> parse(r).getStep() + "/" + parse(r).getTimeline(0).getProbes()).toList();
      assertThat(Set.copyOf(seen)).as("no estimate twice").hasSize(seen.size());
      assertThat(readUntil(topics.probesDlq().name(), r -> true)).as("nothing rejected").isEmpty();
      System.out.printf("restart: first stop after %d of %d probes were produced; %d estimates, none twice%n",
          sentAtStop, probes.size(), history.size());
    } finally {
      if (feeding != null) {
        feeding.cancel(true);
      }
      if (app != null) {
        app.close();
      }
    }
  }

  /** The same job and probes through a TopologyTestDriver: the estimate of an uninterrupted run. */
  private static Curvature uninterrupted(JobSpec spec, List<ProbeReport> probes) throws Exception {
    return uninterrupted(List.of(spec), probes).get(spec.getJobId());
  }

  /** The jobs and probes through one TopologyTestDriver: one instance's estimates, nothing stopped. */
  private static Map<String, Curvature> uninterrupted(List<JobSpec> specs, List<ProbeReport> probes) throws Exception {
    Topics topics = Topics.unprefixed();
    Path state = Files.createTempDirectory(dir, "driver");
    Properties config = CurvatureTopology.config("unused:9092", topics, state, "reference");
    try (TopologyTestDriver driver = new TopologyTestDriver(CurvatureTopology.topology(config, topics), config)) {
      TestInputTopic<String, byte[]> jobs =
          driver.createInputTopic(topics.jobs().name(), new StringSerializer(), new ByteArraySerializer());
      specs.forEach(spec -> jobs.pipeInput(spec.getJobId(), spec.toByteArray()));
      TestInputTopic<String, byte[]> in =
          driver.createInputTopic(topics.probes().name(), new StringSerializer(), new ByteArraySerializer());
      probes.forEach(p -> in.pipeInput(p.getJobId(), p.toByteArray()));
      driver.advanceWallClockTime(Duration.ofMillis(CurvatureTopology.EMIT_INTERVAL_MS));
      CurvatureAssembly view = new CurvatureAssembly();
      for (var r : driver.createOutputTopic(topics.curvature().name(), new StringDeserializer(), new ByteArrayDeserializer())
          .readRecordsToList()) {
        view.apply(r.key(), r.value() == null ? null : Curvature.parseFrom(r.value()));
      }
      return view.all();
    }
  }

  /**
   * Two estimator instances of one application on one cluster split the partitions between them, and
   * together give every job the estimates one instance gives, point for point (issue 16's scale-out).
   */
  @Test
  void twoInstancesSplitThePartitionsAndEstimateAsOneDoes() throws Exception {
    Topics topics = new Topics("scaleout");
    int jobs = 24;
    int steps = 12;
    List<JobSpec> specs = IntStream.range(0, jobs)
        .mapToObj(j -> Probes.withHalfLife(Probes.job("job-" + j, 1_000, 500, 1_000), 2)).toList();
    List<ProbeReport> probes = new ArrayList<>();
    for (long s = 0; s < steps; s++) {
      for (int j = 0; j < jobs; j++) {
        probes.add(Probes.diagonal("job-" + j, s, "w1", 1 + (s + j) % 7, 10 + 0.5 * s + j, -0.1 * (s % 3)));
      }
    }
    EstimatorApp first = null;
    EstimatorApp second = null;
    try {
      first = startApp(topics, "state-scaleout-1");
      second = startApp(topics, "state-scaleout-2");
      String probesTopic = topics.probes().name();
      EstimatorApp a = first;
      EstimatorApp b = second;
      // the second instance's join rebalances the group (the first may run every partition for a while):
      // wait until both run and each holds some of the probes' partitions
      long deadline = System.nanoTime() + WAIT.toNanos();
      Set<Integer> ofFirst;
      Set<Integer> ofSecond;
      while (true) {
        ofFirst = partitionsOf(a, probesTopic);
        ofSecond = partitionsOf(b, probesTopic);
        if (a.state() == KafkaStreams.State.RUNNING && b.state() == KafkaStreams.State.RUNNING
            && !ofFirst.isEmpty() && !ofSecond.isEmpty() && ofFirst.size() + ofSecond.size() == PARTITIONS) {
          break;
        }
        assertThat(System.nanoTime()).as("partitions split within %s: %s and %s", WAIT, ofFirst, ofSecond)
            .isLessThan(deadline);
        Thread.sleep(100);
      }
      assertThat(ofFirst).as("each instance runs some partitions").isNotEmpty().doesNotContainAnyElementsOf(ofSecond);
      assertThat(ofSecond).isNotEmpty();
      Set<Integer> homes = specs.stream().map(j -> JobPartitioner.partitionOf(j.getJobId(), PARTITIONS))
          .collect(Collectors.toSet());
      assertThat(homes).as("the jobs live on both instances").containsAnyElementsOf(ofFirst)
          .containsAnyElementsOf(ofSecond);

      specs.forEach(spec -> send(topics.jobs().name(), spec.getJobId(), spec.toByteArray()));
      probes.forEach(p -> sendProbe(topics, p));
      List<ConsumerRecord<String, byte[]>> curvature = readUntil(topics.curvature().name(), records -> {
        Map<String, Curvature> view = lastPerKey(records);
        return specs.stream().allMatch(s -> view.containsKey(s.getJobId())
            && view.get(s.getJobId()).getStep() == steps - 1);
      });
      Map<String, Curvature> expected = uninterrupted(specs, probes);
      Map<String, Curvature> view = lastPerKey(curvature);
      for (JobSpec spec : specs) {
        assertThat(view.get(spec.getJobId())).as(spec.getJobId()).isEqualTo(expected.get(spec.getJobId()));
        assertThat(view.get(spec.getJobId()).getTimelineCount()).isEqualTo(steps);
      }
      List<ConsumerRecord<String, byte[]>> history = readUntil(topics.curvatureHistory().name(),
          r -> r.size() >= probes.size());
      assertThat(history).as("one estimate per probe, none twice").hasSize(probes.size());
      assertThat(readUntil(topics.probesDlq().name(), r -> true)).as("nothing rejected").isEmpty();
      System.out.printf("scale-out: instance 1 ran probe partitions %s, instance 2 %s; %d jobs, %d estimates%n",
          ofFirst, ofSecond, jobs, history.size());
    } finally {
      if (second != null) {
        second.close();
      }
      if (first != null) {
        first.close();
      }
    }
  }

  private static Set<Integer> partitionsOf(EstimatorApp app, String topic) {
    return app.activePartitions().stream().filter(tp -> tp.topic().equals(topic)).map(TopicPartition::partition)
        .collect(Collectors.toSet());
  }

  @Test
  void topicsAreCreatedWithTheirCleanupPoliciesAndPartitionCount() throws Exception {
    Topics topics = new Topics("cfg");
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    try (Admin admin = Admin.create(p)) {
      topics.createIfMissing(admin, 3);
      Map<String, Integer> partitions = admin.describeTopics(Stream.of(topics.jobs().name(), topics.probes().name(),
              topics.curvature().name(), topics.curvatureHistory().name(), topics.probesDlq().name(),
              topics.gradientStats().name()).toList()).allTopicNames().get()
          .entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey, e -> e.getValue().partitions().size()));
      assertThat(partitions.values()).containsOnly(3);
      assertThat(partitions).hasSize(6);

      Map<ConfigResource, Config> configs = admin.describeConfigs(partitions.keySet().stream()
          .map(t -> new ConfigResource(ConfigResource.Type.TOPIC, t)).toList()).all().get();
      java.util.function.BiFunction<String, String, String> value =
          (topic, key) -> configs.get(new ConfigResource(ConfigResource.Type.TOPIC, topic)).get(key).value();
      for (String compacted : List.of(topics.jobs().name(), topics.curvature().name(), topics.gradientStats().name())) {
        assertThat(value.apply(compacted, TopicConfig.CLEANUP_POLICY_CONFIG)).as(compacted).isEqualTo("compact");
      }
      long day = Duration.ofDays(1).toMillis();
      assertThat(value.apply(topics.probes().name(), TopicConfig.CLEANUP_POLICY_CONFIG)).isEqualTo("delete");
      assertThat(value.apply(topics.probes().name(), TopicConfig.RETENTION_MS_CONFIG)).isEqualTo(String.valueOf(7 * day));
      assertThat(value.apply(topics.curvatureHistory().name(), TopicConfig.CLEANUP_POLICY_CONFIG)).isEqualTo("delete");
      assertThat(value.apply(topics.curvatureHistory().name(), TopicConfig.RETENTION_MS_CONFIG))
          .isEqualTo(String.valueOf(7 * day));
      assertThat(value.apply(topics.probesDlq().name(), TopicConfig.CLEANUP_POLICY_CONFIG)).isEqualTo("delete");
      assertThat(value.apply(topics.probesDlq().name(), TopicConfig.RETENTION_MS_CONFIG)).isEqualTo(String.valueOf(30 * day));

      // a second call is a no-op on existing topics, whatever count it is given
      topics.createIfMissing(admin, 5);
      assertThat(admin.describeTopics(List.of(topics.probes().name())).allTopicNames().get().get(topics.probes().name())
          .partitions()).hasSize(3);

      // jobs and probes partitioned differently cannot be joined per task: refused before Streams starts
      Topics skew = new Topics("skew");
      admin.createTopics(List.of(new NewTopic(skew.jobs().name(), 2, (short) 1), new NewTopic(skew.probes().name(), 3, (short) 1)))
          .all().get();
      assertThatThrownBy(() -> EstimatorApp.start(kafka.bootstrapServers(), skew, dir.resolve("state-skew"),
          new Properties(), 2, Duration.ofSeconds(30)))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("skew.stepsize.jobs has 2 partitions but skew.stepsize.probes has 3: they must be "
              + "co-partitioned by job_id (same count)");
    }
  }
}
