package io.stepsize.service.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.wire.CurvatureAssembly;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/** The compacted curvature topic as a reader sees it: read_committed, to its end, each job's records folded. */
public final class CompactedView {
  private CompactedView() {}

  public static Map<String, Curvature> read(String bootstrapServers, String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    CurvatureAssembly last = new CurvatureAssembly();
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = new ArrayList<>();
      for (PartitionInfo info : c.partitionsFor(topic, Duration.ofSeconds(30))) {
        parts.add(new TopicPartition(info.topic(), info.partition()));
      }
      c.assign(parts);
      c.seekToBeginning(parts);
      Map<TopicPartition, Long> end = new HashMap<>(c.endOffsets(parts, Duration.ofSeconds(30)));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!end.isEmpty() && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(200))) {
          try {
            last.apply(r.key(), r.value() == null ? null : Curvature.parseFrom(r.value()));
          } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new AssertionError("unreadable curvature record at offset " + r.offset(), e);
          }
        }
        end.entrySet().removeIf(e -> c.position(e.getKey()) >= e.getValue());
      }
      assertThat(end).as("curvature partitions not read to their end").isEmpty();
    }
    return last.all();
  }
}
