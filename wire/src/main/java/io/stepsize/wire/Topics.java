package io.stepsize.wire;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.KafkaFuture;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The topics of DESIGN.md §2, each with its name behind an optional prefix and its serdes, and
 * their creation.
 *
 * <p>A non-empty prefix is joined with a dot unless it already ends in {@code .}, {@code -} or
 * {@code _}: {@code dev} and {@code dev.} both give {@code dev.stepsize.jobs}.
 *
 * @param prefix "" for none
 */
public record Topics(String prefix) {
  public static final String JOBS = "stepsize.jobs";
  public static final String PROBES = "stepsize.probes";
  public static final String CURVATURE = "stepsize.curvature";
  public static final String CURVATURE_HISTORY = "stepsize.curvature.history";
  public static final String PROBES_DLQ = "stepsize.probes.dlq";
  public static final String GRADIENT_STATS = "stepsize.gradient-stats";
  /**
   * The estimator's repartition of the probes by their payload's job_id (DESIGN.md §4): the name
   * Kafka Streams is given, from which it makes the internal topic {@link #probesByJob()}.
   */
  public static final String PROBES_BY_JOB = "probes-by-job";
  /** Partitions of a topic created here, unless the operator says otherwise: the estimator's parallelism. */
  public static final int DEFAULT_PARTITIONS = 6;

  /** Kafka's legal topic characters; the longest name must stay within 249. */
  private static final Pattern LEGAL = Pattern.compile("[a-zA-Z0-9._-]*");
  private static final long DAY_MS = Duration.ofDays(1).toMillis();
  /** How long a just-created topic may stay unknown to the broker describing it. */
  static final Duration METADATA_WAIT = Duration.ofSeconds(15);

  public Topics {
    prefix = prefix == null ? "" : prefix;
    if (!LEGAL.matcher(prefix).matches() || prefix.length() > 180) {
      throw new IllegalArgumentException(
          "topic_prefix: must use only letters, digits, '.', '_' and '-' (at most 180) (got '" + prefix + "')");
    }
    if (!prefix.isEmpty() && !prefix.endsWith(".") && !prefix.endsWith("-") && !prefix.endsWith("_")) {
      prefix = prefix + ".";
    }
  }

  /** No prefix. */
  public static Topics unprefixed() {
    return new Topics("");
  }

  /** {@code name} behind this prefix. */
  public String name(String name) {
    return prefix + name;
  }

  /** Job specs, compacted, keyed by job_id; a record's {@link RecordHeaders#OWNER} names its tenant. */
  public Topic<String, JobSpec> jobs() {
    return new Topic<>(name(JOBS), Serdes.String(), ProtoSerde.jobSpec());
  }

  /** Probes and gradient statistics, keyed by job_id. */
  public Topic<String, ProbeReport> probes() {
    return new Topic<>(name(PROBES), Serdes.String(), ProtoSerde.probeReport());
  }

  /** Latest estimate and timeline segments per job, compacted; keys and layout in {@link CurvatureRecords}. */
  public Topic<String, Curvature> curvature() {
    return new Topic<>(name(CURVATURE), Serdes.String(), ProtoSerde.curvature());
  }

  /** Every estimate, append-only, keyed by job_id. */
  public Topic<String, Curvature> curvatureHistory() {
    return new Topic<>(name(CURVATURE_HISTORY), Serdes.String(), ProtoSerde.curvature());
  }

  /**
   * The gradient statistics of each job, compacted, keyed by job_id: one record per job holding its
   * whole bounded timeline ({@link GradientStatsTimelines}).
   */
  public Topic<String, GradientStatsTimeline> gradientStats() {
    return new Topic<>(name(GRADIENT_STATS), Serdes.String(), ProtoSerde.gradientStatsTimeline());
  }

  /** Rejected records as they arrived, the reason in {@link RecordHeaders}. */
  public Topic<byte[], byte[]> probesDlq() {
    return new Topic<>(name(PROBES_DLQ), Serdes.ByteArray(), Serdes.ByteArray());
  }

  /**
   * Probes keyed by their payload's job_id, partitioned as {@link JobPartitioner} partitions
   * {@link #jobs()}: an internal topic of the estimator's application, created and owned by Kafka
   * Streams ({@code <application id>-probes-by-job-repartition}), so it carries the prefix too.
   */
  public Topic<String, ProbeReport> probesByJob() {
    return new Topic<>(applicationId() + "-" + PROBES_BY_JOB + "-repartition", Serdes.String(), ProtoSerde.probeReport());
  }

  /** The Streams application id: one consumer group (and internal-topic namespace) per prefix. */
  public String applicationId() {
    return name("stepsize-estimator");
  }

  /** The six topics with their configurations, {@code partitions} each, replication by broker default. */
  public List<NewTopic> newTopics(int partitions) {
    if (partitions < 1) {
      throw new IllegalArgumentException("partitions: must be >= 1 (got " + partitions + ")");
    }
    List<NewTopic> topics = new ArrayList<>();
    // jobs: the latest spec per job_id forever; segments roll hourly so the cleaner can run
    topics.add(topic(jobs().name(), partitions, compacted(Duration.ofHours(1))));
    // probes and history: raw measurements, kept a week for replays and dashboards
    topics.add(topic(probes().name(), partitions, retained(Duration.ofDays(7))));
    // curvature: latest estimate + timeline per job, rewritten often, so small segments
    topics.add(topic(curvature().name(), partitions, compacted(Duration.ofMinutes(10))));
    topics.add(topic(curvatureHistory().name(), partitions, retained(Duration.ofDays(7))));
    // gradient statistics: the latest timeline per job, rewritten as often as curvature's job records
    topics.add(topic(gradientStats().name(), partitions, compacted(Duration.ofMinutes(10))));
    // dead letters wait a month for a person to look at them
    topics.add(topic(probesDlq().name(), partitions, retained(Duration.ofDays(30))));
    return topics;
  }

  /**
   * Creates the topics that do not exist yet and checks that jobs and probes have the same
   * partition count: the estimator reads a job's spec from the store of the probe's own task. It
   * repartitions every probe by job_id ({@link #probesByJob()}), whatever partition its producer
   * chose, but Kafka Streams gives that internal topic as many partitions as {@link #probes()}
   * has, so both must match {@link #jobs()}.
   *
   * @return the partition count of jobs and probes (the existing one, whatever {@code partitions} says)
   * @throws IllegalStateException when jobs and probes exist with different partition counts
   */
  public int createIfMissing(Admin admin, int partitions) {
    CreateTopicsResult result = admin.createTopics(newTopics(partitions));
    for (Map.Entry<String, KafkaFuture<Void>> e : result.values().entrySet()) {
      try {
        e.getValue().get();
      } catch (ExecutionException ex) {
        if (!(ex.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException("creating topic " + e.getKey() + " failed: " + ex.getCause(), ex.getCause());
        }
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while creating topics", ex);
      }
    }
    return checkCopartitioned(admin);
  }

  /**
   * Throws unless jobs and probes exist and have the same number of partitions. A topic created a
   * moment ago may not be known to the broker that answers yet (the controller's metadata reaches
   * the brokers asynchronously): "unknown topic" is retried for up to {@link #METADATA_WAIT}.
   *
   * @return their partition count
   */
  public int checkCopartitioned(Admin admin) {
    Map<String, TopicDescription> d;
    long deadline = System.nanoTime() + METADATA_WAIT.toNanos();
    while (true) {
      try {
        d = admin.describeTopics(List.of(jobs().name(), probes().name())).allTopicNames().get();
        break;
      } catch (ExecutionException ex) {
        if (!(ex.getCause() instanceof UnknownTopicOrPartitionException) || System.nanoTime() > deadline) {
          throw new IllegalStateException("describing " + jobs().name() + " and " + probes().name() + " failed: " + ex.getCause(),
              ex.getCause());
        }
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while describing topics", ex);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException ex) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while describing topics", ex);
      }
    }
    int jobParts = d.get(jobs().name()).partitions().size();
    int probeParts = d.get(probes().name()).partitions().size();
    if (jobParts != probeParts) {
      throw new IllegalStateException(jobs().name() + " has " + jobParts + " partitions but " + probes().name() + " has "
          + probeParts + ": they must be co-partitioned by job_id (same count)");
    }
    return jobParts;
  }

  private static NewTopic topic(String name, int partitions, Map<String, String> configs) {
    return new NewTopic(name, Optional.of(partitions), Optional.empty()).configs(configs);
  }

  private static Map<String, String> compacted(Duration segment) {
    return Map.of(
        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
        // a reader catching up sees every value of the last minute, not only the newest
        TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, String.valueOf(Duration.ofMinutes(1).toMillis()),
        // only closed segments are compacted: roll them by time, not only at 1 GiB
        TopicConfig.SEGMENT_MS_CONFIG, String.valueOf(segment.toMillis()),
        TopicConfig.MIN_CLEANABLE_DIRTY_RATIO_CONFIG, "0.1",
        TopicConfig.DELETE_RETENTION_MS_CONFIG, String.valueOf(DAY_MS));
  }

  private static Map<String, String> retained(Duration retention) {
    return Map.of(
        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
        TopicConfig.RETENTION_MS_CONFIG, String.valueOf(retention.toMillis()),
        TopicConfig.SEGMENT_MS_CONFIG, String.valueOf(DAY_MS));
  }
}
