package io.stepsize.service.view;

import io.stepsize.wire.RecordHeaders;

import com.google.protobuf.InvalidProtocolBufferException;
import io.stepsize.wire.Topics;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.wire.CurvatureAssembly;
import io.stepsize.wire.CurvatureRecords;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.errors.RecordDeserializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tails {@code stepsize.jobs}, {@code stepsize.curvature} and {@code stepsize.gradient-stats} from
 * their beginning into the {@link LocalViews}. No consumer group: every replica reads every partition, so any replica can
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
  private volatile BiConsumer<String, String> onBadRecord = (topic, kind) -> {};
  private volatile java.util.function.ObjLongConsumer<String> onLag = (topic, records) -> {};
  private volatile java.util.function.Consumer<LocalViews.JobEntry> republish = job -> {};
  /**
   * Jobs whose latest record is a skipped one (another tenant's, or bad) (only the loader thread
   * uses it): once caught up the loader has the job's record written again, since compaction keeps
   * only a key's latest record and would otherwise drop the job's own.
   */
  private final Set<String> shadowed = new java.util.LinkedHashSet<>();
  /** "topic/kind" of the bad records logged in full so far (only the loader thread uses it). */
  private final Set<String> loggedKinds = new HashSet<>();

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

  /**
   * Called with the topic and kind of every record skipped as bad: {@code no_key}, {@code unparsable},
   * {@code key_mismatch} (jobs, curvature, gradient statistics), {@code invalid_spec},
   * {@code foreign_owner} (jobs), {@code bad_key} (curvature), {@code undeserializable} or
   * {@code error} (any topic).
   */
  public ViewLoader onBadRecord(BiConsumer<String, String> hook) {
    this.onBadRecord = hook;
    return this;
  }

  /**
   * Called after every poll with each topic the views read from its beginning (not the dead-letter
   * topic) and the records this loader is behind its end (summed over its partitions; the end as the consumer's latest fetch saw it,
   * the last stable offset since the loader reads committed records only).
   */
  public ViewLoader onLag(java.util.function.ObjLongConsumer<String> hook) {
    this.onLag = hook;
    return this;
  }

  /**
   * Called, once the views have caught up, with each job whose latest record on the topic was
   * skipped (another tenant's or bad): the hook writes the job's record again, under its owner.
   */
  public ViewLoader republishOwner(java.util.function.Consumer<LocalViews.JobEntry> hook) {
    this.republish = hook;
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
      while (running) {
        try {
          load();
        } catch (WakeupException e) {
          throw e;
        } catch (KafkaException | IllegalStateException e) {
          // re-reading from the beginning is safe: every record applies idempotently
          if (running) {
            log.error("local views: reading the topics failed; reading them again from the beginning in 1 s", e);
            Thread.sleep(1_000);
          }
        }
      }
    } catch (WakeupException | InterruptedException e) {
      // closing
    } finally {
      consumer.close(Duration.ofSeconds(2));
    }
  }

  private void load() throws InterruptedException {
    List<TopicPartition> partitions = partitionsOf(List.of(topics.jobs().name(), topics.curvature().name(),
        topics.gradientStats().name()));
    // the dead-letter topic is tailed from its end, only to warn about each new bad record
    List<TopicPartition> dlq = partitionsOf(List.of(topics.probesDlq().name()));
    Map<TopicPartition, Long> target = new HashMap<>(consumer.endOffsets(partitions));
    List<TopicPartition> all = new ArrayList<>(partitions);
    all.addAll(dlq);
    consumer.assign(all);
    consumer.seekToBeginning(partitions);
    consumer.seekToEnd(dlq);
    while (running) {
      for (ConsumerRecord<String, byte[]> r : poll()) {
        try {
          apply(r);
        } catch (RuntimeException e) {
          // whatever a record holds, the next one is still read: the views never stop
          bad(r.topic(), "error", r.topic() + "-" + r.partition() + "@" + r.offset() + ": " + e);
        }
      }
      reportLag(partitions);
      if (caughtUp.getCount() > 0) {
        target.entrySet().removeIf(e -> consumer.position(e.getKey()) >= e.getValue());
        if (target.isEmpty()) {
          views.markCaughtUp();
          caughtUp.countDown();
          log.info("local views caught up: {} job(s)", views.jobCount());
        }
      }
      if (caughtUp.getCount() == 0 && !shadowed.isEmpty()) {
        for (String id : shadowed) {
          LocalViews.JobEntry job = views.job(id);
          if (job != null) {
            republish.accept(job);
          }
        }
        shadowed.clear();
      }
    }
  }

  /**
   * Tells {@link #onLag} how far behind each topic's end this loader is. {@code currentLag} reads the
   * consumer's cached positions and ends (at most it sends a request for an end it does not know
   * yet, without waiting), so it is cheap enough for every poll; a partition whose end is not known
   * yet counts 0.
   */
  private void reportLag(List<TopicPartition> partitions) {
    Map<String, Long> lag = new HashMap<>();
    for (TopicPartition tp : partitions) {
      lag.merge(tp.topic(), consumer.currentLag(tp).orElse(0), Long::sum);
    }
    lag.forEach(onLag::accept);
  }

  /** The partitions of the topics, asking again until the cluster answers (or the loader closes). */
  private List<TopicPartition> partitionsOf(List<String> names) throws InterruptedException {
    while (true) {
      try {
        List<TopicPartition> out = new ArrayList<>();
        for (String topic : names) {
          for (PartitionInfo info : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
            out.add(new TopicPartition(topic, info.partition()));
          }
        }
        return out;
      } catch (WakeupException e) {
        throw e;
      } catch (KafkaException e) {
        log.warn("local views: cannot describe {} yet ({}); asking again", names, e.toString());
        Thread.sleep(1_000);
      }
    }
  }

  /**
   * The next records. A record the consumer cannot even deserialize is counted and skipped; any
   * other failure of the consumer is logged and the poll tried again, so the loader never stops.
   */
  private Iterable<ConsumerRecord<String, byte[]>> poll() throws InterruptedException {
    try {
      return consumer.poll(Duration.ofMillis(200));
    } catch (RecordDeserializationException e) {
      bad(e.topicPartition().topic(), "undeserializable", e.topicPartition() + "@" + e.offset() + ": " + e.getMessage());
      consumer.seek(e.topicPartition(), e.offset() + 1);
    } catch (WakeupException e) {
      throw e;
    } catch (KafkaException e) {
      if (running) {
        log.warn("local views: polling failed ({}); polling again in 1 s", e.toString());
        Thread.sleep(1_000);
      }
    }
    return List.of();
  }

  private void apply(ConsumerRecord<String, byte[]> r) {
    if (r.topic().equals(topics.probesDlq().name())) {
      Header reason = r.headers().lastHeader(RecordHeaders.DLQ_REASON);
      log.warn("dead-lettered probe for job {}: {}", r.key(),
          reason == null ? "(no reason header)" : new String(reason.value(), StandardCharsets.UTF_8));
      onDeadLetter.run();
      return;
    }
    String where = r.topic() + "-" + r.partition() + "@" + r.offset();
    if (r.key() == null || r.key().isEmpty()) {
      bad(r.topic(), "no_key", where);
    } else if (r.topic().equals(topics.jobs().name())) {
      applyJob(r, where);
    } else if (r.topic().equals(topics.gradientStats().name())) {
      applyGradientStats(r, where);
    } else {
      applyCurvature(r, where);
    }
  }

  private void applyJob(ConsumerRecord<String, byte[]> r, String where) {
    if (r.value() == null) {
      shadowed.remove(r.key());
      views.removeJob(r.key());
      return;
    }
    // a skipped record under a known job's key must not become the one compaction keeps
    if (views.job(r.key()) != null) {
      shadowed.add(r.key());
    }
    JobSpec spec;
    try {
      spec = JobSpec.parseFrom(r.value());
    } catch (InvalidProtocolBufferException e) {
      bad(r.topic(), "unparsable", where + ": " + e.getMessage());
      return;
    }
    if (!spec.getJobId().equals(r.key())) {
      // probes follow the key's partition: a spec under another key would answer for a job whose
      // probes the estimator never joins
      bad(r.topic(), "key_mismatch", where + ": key '" + printable(r.key()) + "' but job_id '"
          + printable(spec.getJobId()) + "'");
      return;
    }
    Header header = r.headers().lastHeader(RecordHeaders.OWNER);
    String owner = header == null ? "" : new String(header.value(), StandardCharsets.UTF_8);
    try {
      if (views.putJob(spec, owner) == LocalViews.Put.FOREIGN_OWNER) {
        bad(r.topic(), "foreign_owner", where + ": job '" + printable(r.key()) + "' belongs to the tenant of its first record");
      } else {
        shadowed.remove(r.key());
      }
    } catch (IllegalArgumentException e) {
      bad(r.topic(), "invalid_spec", where + ": " + e.getMessage());
    }
  }

  private void applyCurvature(ConsumerRecord<String, byte[]> r, String where) {
    Curvature value = null;
    if (r.value() != null) {
      try {
        value = Curvature.parseFrom(r.value());
      } catch (InvalidProtocolBufferException e) {
        bad(r.topic(), "unparsable", where + ": " + e.getMessage());
        return;
      }
    }
    String jobId;
    try {
      jobId = CurvatureRecords.jobIdOf(r.key());
      if (CurvatureRecords.isSegmentKey(r.key())) {
        CurvatureRecords.segmentIndexOf(r.key());
      }
    } catch (IllegalArgumentException e) {
      bad(r.topic(), "bad_key", where + ": " + e.getMessage());
      return;
    }
    if (value != null && !CurvatureRecords.isSegmentKey(r.key()) && !value.getJobId().equals(jobId)) {
      bad(r.topic(), "key_mismatch", where + ": key '" + printable(r.key()) + "' but job_id '"
          + printable(value.getJobId()) + "'");
      return;
    }
    Curvature whole = curvature.apply(r.key(), value);
    // null: a segment (no new estimate), or a job record's tombstone (the last estimate stays)
    if (whole != null) {
      // Streams keeps the probe's timestamp on the estimate it causes
      views.putCurvature(whole, r.timestamp());
      if (caughtUp.getCount() == 0) {
        onEstimate.accept((System.currentTimeMillis() - r.timestamp()) / 1000.0);
      }
    }
  }

  /** A job's gradient-statistics timeline, whole in one record keyed by its job_id (a tombstone removes it). */
  private void applyGradientStats(ConsumerRecord<String, byte[]> r, String where) {
    if (r.value() == null) {
      views.removeGradientStats(r.key());
      return;
    }
    GradientStatsTimeline value;
    try {
      value = GradientStatsTimeline.parseFrom(r.value());
    } catch (InvalidProtocolBufferException e) {
      bad(r.topic(), "unparsable", where + ": " + e.getMessage());
      return;
    }
    if (!value.getJobId().equals(r.key())) {
      bad(r.topic(), "key_mismatch", where + ": key '" + printable(r.key()) + "' but job_id '"
          + printable(value.getJobId()) + "'");
      return;
    }
    views.putGradientStats(value);
  }

  /** Counts a skipped record; the first of each topic and kind is logged with its details. */
  private void bad(String topic, String kind, String detail) {
    onBadRecord.accept(topic, kind);
    if (loggedKinds.add(topic + "/" + kind)) {
      log.warn("skipping a bad record on {} ({}; later ones of this kind are only counted): {}", topic, kind, detail);
    } else {
      log.debug("skipping a bad record on {} ({}): {}", topic, kind, detail);
    }
  }

  /** A key or id as a log line can show it: control characters escaped, at most 200 characters. */
  private static String printable(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length() && b.length() < 200; i++) {
      char c = s.charAt(i);
      b.append(Character.isISOControl(c) ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return b.length() < 200 ? b.toString() : b + "…";
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    consumer.wakeup();
    thread.join(5_000);
  }
}
