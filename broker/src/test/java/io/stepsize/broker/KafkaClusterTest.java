package io.stepsize.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(120)
class KafkaClusterTest {
  @TempDir Path dir;

  @Test
  void aTopicHasThreeReplicasAndKeepsEveryAcknowledgedRecordWhileOneNodeIsDown() throws Exception {
    try (KafkaCluster cluster = KafkaCluster.start(dir, 3)) {
      assertThat(cluster.bootstrapServers().split(",")).hasSize(3);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", cluster.bootstrapServers()))) {
        // no replication given: the broker default must be 3, with 2 in sync required
        admin.createTopics(List.of(new NewTopic("t", java.util.Optional.of(2), java.util.Optional.empty())))
            .all().get();
        TopicDescription d = admin.describeTopics(List.of("t")).allTopicNames().get().get("t");
        assertThat(d.partitions()).allSatisfy(p -> assertThat(p.replicas()).hasSize(3));
      }
      try (KafkaProducer<String, String> p = producer(cluster)) {
        for (int i = 0; i < 10; i++) {
          p.send(new ProducerRecord<>("t", "k" + i, "a" + i)).get();
        }
        cluster.stop(0);
        assertThat(cluster.isRunning(0)).isFalse();
        for (int i = 0; i < 10; i++) {
          p.send(new ProducerRecord<>("t", "k" + i, "b" + i)).get();
        }
        cluster.restart(0);
        cluster.stop(1);
        for (int i = 0; i < 10; i++) {
          p.send(new ProducerRecord<>("t", "k" + i, "c" + i)).get();
        }
        cluster.restart(1);
      }
      List<String> values = readAll(cluster.bootstrapServers(), "t", 30);
      assertThat(values).hasSize(30);
      for (String prefix : List.of("a", "b", "c")) {
        for (int i = 0; i < 10; i++) {
          assertThat(values).containsOnlyOnce(prefix + i);
        }
      }
    }
  }

  private static KafkaProducer<String, String> producer(KafkaCluster cluster) {
    Properties props = new Properties();
    props.put("bootstrap.servers", cluster.bootstrapServers());
    props.put("acks", "all");
    props.put("enable.idempotence", "true");
    return new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
  }

  private static List<String> readAll(String bootstrap, String topic, int expected) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("auto.offset.reset", "earliest");
    props.put("group.id", "reader-" + System.nanoTime());
    List<String> values = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      c.subscribe(Set.of(topic));
      long deadline = System.currentTimeMillis() + 20_000;
      while (System.currentTimeMillis() < deadline && values.size() < expected) {
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          values.add(r.value());
        }
      }
    }
    return values;
  }
}
