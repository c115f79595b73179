package io.stepsize.service.view;

import io.stepsize.wire.RecordHeaders;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stepsize.wire.Topics;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.wire.CurvatureAssembly;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tails {@code stepsize.jobs} and {@code stepsize.curvature} from their beginning into the
 * {@link LocalViews}. No consumer group: every replica reads every partition, so any replica can
 * answer for any job. {@link #awaitCaughtUp} tells when the views reached the ends the topics had
 * at start, which is when health may say SERVING.
 */
public final class ViewLoader implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ViewLoader.class);

  private final LocalViews views;
  private final Topics topics;
  private final KafkaConsumer<String, byte[]> consumer;
  private final CountDownLatch caughtUp = new CountDownLatch(1);
  /** The curvature topic's job records and segments, folded per job (only the loader thread uses it). */
  private final CurvatureAssembly curvature = new CurvatureAssembly();
  private final Thread thread;
  private volatile Runnable onDeadLetter = () -> {};
  private volatile java.util.function.DoubleConsumer onEstimate = seconds -> {};

  private volatile boolean running = true;

  public ViewLoader(String bootstrapServers, Topics topics, LocalViews views) {
    this(bootstrapServers, topics, views, new Properties());
  }

  /** @param clientProperties Kafka client settings (SASL, SSL, …) applied under this loader's own */
  public ViewLoader(String bootstrapServers, Topics topics, LocalViews views, Properties clientProperties) {
    this.views = views;
    this.topics = topics;
    Properties p = new Properties();
    p.putAll(clientProperties);
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    // the estimator writes curvature in transactions: never show an aborted estimate
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "stepsize-views");
    consumer = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer());
    thread = new Thread(this::run, "stepsize-views");
    thread.setDaemon(true);
  }

  /** Called once per dead-lettered probe seen (monitoring). */
  public ViewLoader onDeadLetter(Runnable hook) {
    this.onDeadLetter = hook;
    return this;
  }

  /** Called with the seconds from a probe's produce time to its estimate here, once caught up. */
  public ViewLoader onEstimate(java.util.function.DoubleConsumer hook) {
    this.onEstimate = hook;
    return this;
  }

  public ViewLoader start() {
    thread.start();
    return this;
  }

  public boolean awaitCaughtUp(Duration timeout) throws InterruptedException {
    return caughtUp.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public boolean isCaughtUp() {
    return caughtUp.getCount() == 0;
  }

  private void run() {
    try {
      List<TopicPartition> partitions = new ArrayList<>();
      for (String topic : List.of(topics.jobs().name(), topics.curvature().name())) {
        for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofMinutes(5))) {
          partitions.add(new TopicPartition(topic, info.partition()));
        }
      }
      // the dead-letter topic is tailed from its end, only to warn about each new bad record
      List<TopicPartition> dlq = new ArrayList<>();
      for (PartitionInfo info : consumer.partitionsFor(topics.probesDlq().name(), Duration.ofMinutes(1))) {
        dlq.add(new TopicPartition(topics.probesDlq().name(), info.partition()));
      }
      Map<TopicPartition, Long> target = new HashMap<>(consumer.endOffsets(partitions));
      List<TopicPartition> all = new ArrayList<>(partitions);
      all.addAll(dlq);
      consumer.assign(all);
      consumer.seekToBeginning(partitions);
      consumer.seekToEnd(dlq);
      while (running) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          apply(r);
        }
        if (caughtUp.getCount() > 0) {
          target.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
          if (target.isEmpty()) {
            caughtUp.countDown();
            log.info("local views caught up: {} job(s)", views.jobCount());
          }
        }
      }
    } catch (WakeupException e) {
      // closing
    } catch (RuntimeException e) {
      if (running) {
        log.error("the view loader stopped", e);
      }
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  private void apply(ConsumerRecord<String, byte[]> r) {
    try {
      if (r.topic().equals(topics.probesDlq().name())) {
        Header reason = r.headers().lastHeader(RecordHeaders.DLQ_REASON);
        log.warn("dead-lettered probe for job {}: {}", r.key(),
            reason == null ? "(no reason header)" : new String(reason.value(), StandardCharsets.UTF_8));
        onDeadLetter.run();
      } else if (r.topic().equals(topics.jobs().name())) {
        if (r.value() == null) {
          views.removeJob(r.key());
        } else {
          Header owner = r.headers().lastHeader(RecordHeaders.OWNER);
          views.putJob(JobSpec.parseFrom(r.value()),
              owner == null ? "" : new String(owner.value(), StandardCharsets.UTF_8));
        }
      } else {
        Curvature whole = curvature.apply(r.key(), r.value() == null ? null : Curvature.parseFrom(r.value()));
        // null: a segment (no new estimate), or a job record's tombstone (the last estimate stays)
        if (whole != null) {
          views.putCurvature(whole);
          // Streams keeps the probe's timestamp on the estimate it causes
          if (caughtUp.getCount() == 0) {
            onEstimate.accept((System.currentTimeMillis() - r.timestamp()) / 1000.0);
          }
        }
      }
    } catch (InvalidProtocolBufferException e) {
      log.warn("skipping an unreadable record at {}-{}@{}", r.topic(), r.partition(), r.offset());
    }
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    consumer.wakeup();
    thread.join(5_000);
  }
}
