package io.stepsize.client;

import io.stepsize.proto.v1.ProbeReport;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Probes straight to the probes topic, keyed by job_id so a job's probes stay in order on one
 * partition. Bad probes sent this way are not rejected here: the estimator dead-letters them.
 */
public final class KafkaProbePublisher implements ProbePublisher {
  private final Producer<String, byte[]> producer;
  private final String topic;
  private final boolean ownsProducer;

  public KafkaProbePublisher(Producer<String, byte[]> producer, String topic) {
    this(producer, topic, false);
  }

  private KafkaProbePublisher(Producer<String, byte[]> producer, String topic, boolean ownsProducer) {
    this.producer = producer;
    this.topic = topic;
    this.ownsProducer = ownsProducer;
  }

  /** An idempotent producer of its own to {@code bootstrapServers}; topic e.g. "stepsize.probes". */
  public static KafkaProbePublisher create(String bootstrapServers, String topic, Properties extra) {
    Properties p = new Properties();
    p.putAll(extra);
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    return new KafkaProbePublisher(new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer()), topic, true);
  }

  @Override
  public long publish(List<ProbeReport> probes) {
    List<Future<RecordMetadata>> sent = new ArrayList<>(probes.size());
    for (ProbeReport p : probes) {
      sent.add(producer.send(new ProducerRecord<>(topic, p.getJobId(), p.toByteArray())));
    }
    try {
      for (Future<RecordMetadata> f : sent) {
        f.get();
      }
    } catch (ExecutionException e) {
      throw new IllegalStateException("publishing probes to " + topic + " failed: " + e.getCause().getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while publishing probes", e);
    }
    return probes.size();
  }

  @Override
  public void close() {
    if (ownsProducer) {
      producer.close();
    }
  }
}
