package io.stepsize.broker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {
  @TempDir Path dir;

  @Test
  void recordsAndTopicsSurviveARestartOnTheSameDataDirectory() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.start(dir, 0)) {
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        admin.createTopics(List.of(new NewTopic("t", 1, (short) 1))).all().get();
      }
      try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of("bootstrap.servers",
          kafka.bootstrapServers()), new StringSerializer(), new StringSerializer())) {
        p.send(new ProducerRecord<>("t", "k", "before restart")).get();
      }
      int port = kafka.port();
      kafka.restart();
      assertThat(kafka.port()).isEqualTo(port);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        assertThat(admin.listTopics().names().get()).contains("t");
      }
      assertThat(readAll(kafka.bootstrapServers(), "t")).containsExactly("before restart");
    }
    // a second broker on the same directory finds the formatted storage and the record
    try (EmbeddedKafka again = EmbeddedKafka.start(dir, 0)) {
      assertThat(readAll(again.bootstrapServers(), "t")).containsExactly("before restart");
    }
  }

  private static List<String> readAll(String bootstrap, String topic) {
    Properties props = new Properties();
    props.put("bootstrap.servers", bootstrap);
    props.put("auto.offset.reset", "earliest");
    props.put("group.id", "reader-" + System.nanoTime());
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
      c.subscribe(Set.of(topic));
      long deadline = System.currentTimeMillis() + 15_000;
      while (System.currentTimeMillis() < deadline) {
        List<String> values = new java.util.ArrayList<>();
        for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
          values.add(r.value());
        }
        if (!values.isEmpty()) {
          return values;
        }
      }
      return List.of();
    }
  }
}
