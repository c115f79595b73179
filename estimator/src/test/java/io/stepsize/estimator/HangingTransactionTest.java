package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.broker.EmbeddedKafka;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.internals.Topic;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12, item 3: a transaction that no coordinator will ever close, as a SIGKILL or an
 * OutOfMemoryError of an embedded node left behind. It is made here on purpose: a transactional
 * producer with the estimator's transactional-id pattern writes to an output topic, a changelog and
 * the group's offsets, and is abandoned; then the transaction coordinator's log is wiped while the
 * broker is down, so the restarted coordinator knows nothing of it. Its pending offsets alone keep
 * every offset fetch of the group answering UNSTABLE_OFFSET_COMMIT: without the abort at start the
 * estimator stays REBALANCING and this test fails with "estimator not RUNNING after PT40S".
 */
class HangingTransactionTest {
  private static final Duration WAIT = Duration.ofSeconds(40);
  @TempDir Path dir;

  @Test
  void aHangingTransactionIsAbortedAtStartAndEveryProbeIsEstimatedOnce() throws Exception {
    Topics topics = new Topics("hang");
    String app = topics.applicationId();
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("broker"), 0);
        KafkaProducer<String, byte[]> plain = plainProducer(kafka)) {
      try (Admin admin = admin(kafka)) {
        topics.createIfMissing(admin, 2);
      }
      send(plain, topics.jobs().name(), "job", Probes.job("job", 1000).toByteArray());
      try (EstimatorApp first = start(kafka, topics)) {
        assertThat(first.hangsClosedAtStart()).isEmpty();
        for (long s = 0; s < 10; s++) {
          send(plain, topics.probes().name(), "job", probe(s).toByteArray());
        }
        await(kafka, topics, 10);
      }

      // a live transaction of the application's id pattern is its coordinator's business: left alone
      try (KafkaProducer<String, byte[]> live = transactionalProducer(kafka, app + "-live-1"); Admin admin = admin(kafka)) {
        live.initTransactions();
        live.beginTransaction();
        live.send(new ProducerRecord<>(topics.curvatureHistory().name(), 1, "job", new byte[] {3})).get();
        live.flush();
        assertThat(HangingTransactions.closeHanging(admin, topics, app, true)).isEmpty();
        live.abortTransaction();
      }

      TopicPartition history = new TopicPartition(topics.curvatureHistory().name(), 0);
      TopicPartition changelog = new TopicPartition(app + "-" + CurvatureTopology.STATE_STORE + "-changelog", 1);
      TopicPartition offsets;
      try (Admin admin = admin(kafka)) {
        int n = admin.describeTopics(List.of(Topic.GROUP_METADATA_TOPIC_NAME)).allTopicNames().get()
            .get(Topic.GROUP_METADATA_TOPIC_NAME).partitions().size();
        offsets = new TopicPartition(Topic.GROUP_METADATA_TOPIC_NAME, Utils.abs(app.hashCode()) % n);
      }
      KafkaProducer<String, byte[]> abandoned = transactionalProducer(kafka, app + "-3f1c0a2e-dead-4bad-8c0d-000000000000-1");
      abandoned.initTransactions();
      abandoned.beginTransaction();
      abandoned.send(new ProducerRecord<>(history.topic(), history.partition(), "job", new byte[] {1})).get();
      abandoned.send(new ProducerRecord<>(changelog.topic(), changelog.partition(), "job", new byte[] {2})).get();
      abandoned.sendOffsetsToTransaction(Map.of(new TopicPartition(topics.probes().name(), 0), new OffsetAndMetadata(0)),
          new ConsumerGroupMetadata(app));
      abandoned.flush();

      // the coordinator forgets the transaction; the partitions keep it open
      kafka.stop();
      abandoned.close(Duration.ZERO);
      wipeTransactionLog(dir.resolve("broker").resolve("kafka"));
      kafka.restart();

      for (long s = 10; s < 20; s++) {
        send(plain, topics.probes().name(), "job", probe(s).toByteArray());
      }
      try (EstimatorApp second = start(kafka, topics)) {
        assertThat(second.state()).isEqualTo(KafkaStreams.State.RUNNING);
        assertThat(second.hangsClosedAtStart()).extracting(HangingTransactions.Hang::partition)
            .containsExactlyInAnyOrder(history, changelog, offsets);
        assertThat(second.hangsClosedAtStart()).extracting(HangingTransactions.Hang::reason).allSatisfy(r ->
            assertThat(r).startsWith("no coordinator knows producer id "));
        List<Curvature> estimates = await(kafka, topics, 20);
        assertThat(estimates).extracting(Curvature::getStep).containsExactlyElementsOf(LongStream.range(0, 20).boxed().toList());
        assertThat(estimates.get(19).getProbes()).isEqualTo(20);
      }
      // nothing is left open: a third start finds nothing to abort
      try (EstimatorApp third = start(kafka, topics)) {
        assertThat(third.hangsClosedAtStart()).isEmpty();
      }
    }
  }

  /**
   * The kind the kill loop met: the coordinator committed, one partition never got the marker.
   * Made here by cutting the COMMIT marker off the end of a history partition while the broker is
   * down. The start writes the marker its coordinator would have written, so the committed
   * estimate stays; an abort (all that Admin offers) would drop it.
   */
  @Test
  void aCommittedTransactionThatLostItsMarkerIsCommittedAtStart() throws Exception {
    Topics topics = new Topics("lost");
    String app = topics.applicationId();
    TopicPartition history = new TopicPartition(topics.curvatureHistory().name(), 1);
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir.resolve("broker"), 0)) {
      try (Admin admin = admin(kafka)) {
        topics.createIfMissing(admin, 2);
      }
      Curvature committed = Curvature.newBuilder().setJobId("job").setStep(7).setProbes(1).build();
      try (KafkaProducer<String, byte[]> p = transactionalProducer(kafka, app + "-5e1f-lost-1")) {
        p.initTransactions();
        p.beginTransaction();
        p.send(new ProducerRecord<>(history.topic(), history.partition(), "job", committed.toByteArray())).get();
        p.commitTransaction();
      }
      kafka.stop();
      cutCommitMarker(dir.resolve("broker").resolve("kafka").resolve(history.toString()));
      kafka.restart();

      try (EstimatorApp app1 = start(kafka, topics)) {
        assertThat(app1.hangsClosedAtStart()).hasSize(1);
        HangingTransactions.Hang h = app1.hangsClosedAtStart().get(0);
        assertThat(h.partition()).isEqualTo(history);
        assertThat(h.coordinatorState()).isEqualTo(org.apache.kafka.clients.admin.TransactionState.COMPLETE_COMMIT);
        assertThat(h.committed()).isTrue();
        assertThat(h.action()).isEqualTo(HangingTransactions.Action.COMMITTED);
        assertThat(await(kafka, topics, 1)).containsExactly(committed);
      }
    }
  }

  /** Truncates a partition's only segment before its last batch (the COMMIT marker) and drops its caches. */
  private static void cutCommitMarker(Path partitionDir) throws IOException {
    Path log = partitionDir.resolve("00000000000000000000.log");
    long cut = -1;
    try (org.apache.kafka.common.record.internal.FileRecords records =
        org.apache.kafka.common.record.internal.FileRecords.open(log.toFile())) {
      long position = 0;
      for (var batch : records.batches()) {
        if (batch.isControlBatch()) {
          cut = position;
        }
        position += batch.sizeInBytes();
      }
    }
    assertThat(cut).as("a COMMIT marker in " + log).isGreaterThan(0);
    try (var channel = java.nio.channels.FileChannel.open(log, java.nio.file.StandardOpenOption.WRITE)) {
      channel.truncate(cut);
    }
    // indexes and producer snapshots still describe the marker: the broker rebuilds them from the log
    try (Stream<Path> files = Files.list(partitionDir)) {
      for (Path f : files.toList()) {
        String n = f.getFileName().toString();
        if (n.endsWith(".index") || n.endsWith(".timeindex") || n.endsWith(".txnindex") || n.endsWith(".snapshot")) {
          Files.delete(f);
        }
      }
    }
  }

  private EstimatorApp start(EmbeddedKafka kafka, Topics topics) {
    return EstimatorApp.start(kafka.bootstrapServers(), topics, dir.resolve("state"), new Properties(), 2, WAIT);
  }

  private static ProbeReport probe(long step) {
    return Probes.diagonal("job", step, "w0", 1 + step % 5, 10 + step);
  }

  /** Deletes the transaction coordinator's partitions, as if its writes had never happened. */
  private static void wipeTransactionLog(Path logDir) throws IOException {
    List<Path> parts;
    try (Stream<Path> s = Files.list(logDir)) {
      parts = s.filter(p -> p.getFileName().toString().startsWith(Topic.TRANSACTION_STATE_TOPIC_NAME + "-")).toList();
    }
    assertThat(parts).isNotEmpty();
    for (Path p : parts) {
      try (Stream<Path> files = Files.walk(p)) {
        for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
          Files.delete(f);
        }
      }
    }
  }

  /** The history topic, read_committed, until {@code count} estimates are there (and then to its end). */
  private static List<Curvature> await(EmbeddedKafka kafka, Topics topics, int count) throws Exception {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    List<Curvature> all = new ArrayList<>();
    String topic = topics.curvatureHistory().name();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic, WAIT).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (all.size() < count) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          all.add(Curvature.parseFrom(r.value()));
        }
        assertThat(System.nanoTime()).as("waiting for %d estimates, have %d", count, all.size()).isLessThan(deadline);
      }
      Map<TopicPartition, Long> end = c.endOffsets(parts);
      while (parts.stream().anyMatch(tp -> c.position(tp) < end.get(tp))) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          all.add(Curvature.parseFrom(r.value()));
        }
      }
    }
    all.sort(Comparator.comparingLong(Curvature::getStep));
    return all;
  }

  private static void send(KafkaProducer<String, byte[]> producer, String topic, String key, byte[] value)
      throws InterruptedException, ExecutionException {
    producer.send(new ProducerRecord<>(topic, key, value)).get();
  }

  private static KafkaProducer<String, byte[]> plainProducer(EmbeddedKafka kafka) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  private static KafkaProducer<String, byte[]> transactionalProducer(EmbeddedKafka kafka, String transactionalId) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
    p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    // longer than the test: only the abort at start may end it
    p.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "900000");
    return new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
  }

  private static Admin admin(EmbeddedKafka kafka) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
  }
}
