package io.stepsize.estimator;

import io.stepsize.wire.Topic;
import io.stepsize.wire.JobPartitioner;

import io.stepsize.wire.Topics;

import com.google.protobuf.Message;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.CurvatureRecords;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Repartitioned;
import org.apache.kafka.streams.state.Stores;

/**
 * The estimator as one Kafka Streams topology (DESIGN.md §2, §4):
 *
 * <pre>
 *   stepsize.probes ──► "route": key := payload's job_id ──► "home": on its job's partition already ──┐
 *                                               └──► "away": probes-by-job (repartition, {@link JobPartitioner}) ─┤
 *   stepsize.jobs ─────────────────────────────────────────────────┴──► "estimate" (stores "job-specs",
 *        "curvature-state", "parked-probes"): jobs stored, probes validate, phase, merge, EWMA
 *        ├──► stepsize.curvature.history          every estimate
 *        ├──► timeline per job ("curvature-timeline") ──► stepsize.curvature (job records + segments)
 *        ├──► gradient statistics per job ("gradient-stats", "gradient-stats-pending") ──► stepsize.gradient-stats
 *        │        (one record per job)
 *        └──► stepsize.probes.dlq                  rejected probes and job records, reason in headers
 *   undecodable records, probes with no value or no job_id ──► stepsize.probes.dlq (Streams' KIP-1034 handlers)
 * </pre>
 *
 * <p>A probe reaches its job's task whatever its producer's key and partitioner: it is re-keyed by
 * its payload's job_id and, unless it is on its job's partition already ({@link ProbeRouter}),
 * repartitioned by {@link JobPartitioner}, as the service partitions {@code stepsize.jobs}. Both
 * ways end in the same sub-topology, whose tasks read the repartition topic they write. The jobs arrive as a stream and the estimate step writes the job-spec store
 * itself, so a job's arrival can release the probes that waited for it ({@link ProbeParking}). The
 * spec store is per task rather than a GlobalKTable: the task's timestamp synchronisation processes
 * a spec produced before a probe first, where a global table is fed by its own thread and can lag.
 *
 * <p>{@code stepsize.curvature} gets at most one job record per job every {@link #EMIT_INTERVAL_MS}
 * ms however many probes arrived (the compacted topic only needs the newest), plus a segment
 * record each time {@link CurvatureRecords#SEGMENT} more points of a timeline are final
 * ({@link TimelineProcessor}).
 */
public final class CurvatureTopology {
  public static final String JOB_STORE = "job-specs";
  public static final String STATE_STORE = "curvature-state";
  public static final String TIMELINE_STORE = "curvature-timeline";
  /** Probes waiting for their job ({@link ProbeParking}). */
  public static final String PARKED_STORE = "parked-probes";
  /** Each job's gradient statistics ({@link GradientStatsProcessor}). */
  public static final String GRADIENT_STORE = "gradient-stats";
  /** Each job's gradient-statistics reports since its last record ({@link GradientStatsProcessor}). */
  public static final String GRADIENT_PENDING_STORE = "gradient-stats-pending";
  /**
   * {@code false} turns off the statistics of DESIGN.md §1.7 (gradient sharpness, λ_h, negative mass:
   * NaN) and the edge ratio of each point (NaN, and no {@link EarlierPoints} kept), for measuring what
   * they cost (docs/BENCHMARKS.md §9). Default true; the gradient_harmonic lower edge works either way.
   */
  public static final String GRADIENT_STATISTICS_CONFIG = "stepsize.estimator.gradient.statistics";
  /** The router's two ways: a probe on its job's partition already, and any other (the repartition). */
  static final String HOME = "home";
  static final String AWAY = "away";
  /** Nodes the estimate step forwards to by name: its outputs have different types. */
  static final String ESTIMATE = "estimate";
  static final String HISTORY = "history";
  static final String TIMELINE = "timeline";
  /** Where the estimate step sends gradient-statistics reports, once checked against their job. */
  static final String GRADIENT = "gradient";
  static final String DEAD_LETTERS = "dead-letters";
  /** Short, because an estimate should reach the service within a second (DESIGN.md §6). */
  public static final long COMMIT_INTERVAL_MS = 100;
  /** How often pending job records are written: half a commit interval, so most make the next commit. */
  public static final long EMIT_INTERVAL_MS = COMMIT_INTERVAL_MS / 2;
  /**
   * A job's gradient-statistics record holds its whole timeline (up to ~600 KiB) and feeds monitoring
   * only, which reads it every few seconds: written at most once a second, not every emit interval.
   */
  public static final long STATS_EMIT_INTERVAL_MS = 1000;
  /**
   * The estimator's producer batches (Kafka's default is 16 KiB). A job record carries its open segment
   * (up to 64 points, several KiB), so 16 KiB batches close after two or three records and every
   * 100 ms commit sends many small requests: 256 KiB cut the producer threads' CPU per probe from about
   * 11 to 3 µs and raised the rate by half (docs/BENCHMARKS.md §11). At most one batch per partition
   * is open, within the producer's 32 MiB buffer.
   */
  public static final int PRODUCER_BATCH_BYTES = 256 * 1024;

  private CurvatureTopology() {}

  /** The topology with the real Lanczos math and the default parking settings. */
  public static Topology build(StreamsBuilder builder, Topics topics) {
    return build(builder, topics, new LanczosMath(), ProbeParking.Settings.DEFAULTS);
  }

  static Topology build(StreamsBuilder builder, Topics topics, CurvatureMath math, ProbeParking.Settings parking) {
    return build(builder, topics, math, parking, true);
  }

  /** {@code edgeRatios}: see {@link #GRADIENT_STATISTICS_CONFIG}. */
  static Topology build(StreamsBuilder builder, Topics topics, CurvatureMath math, ProbeParking.Settings parking,
      boolean edgeRatios) {
    Topic<String, JobSpec> jobs = topics.jobs();
    Topic<String, ProbeReport> probes = topics.probes();
    Topic<String, ProbeReport> probesByJob = topics.probesByJob();
    Topic<String, Curvature> history = topics.curvatureHistory();
    Topic<String, Curvature> curvature = topics.curvature();
    Topic<byte[], byte[]> dlq = topics.probesDlq();
    Topic<String, GradientStatsTimeline> gradientStats = topics.gradientStats();
    Serde<String> keys = jobs.keySerde();

    // timestamped: the layout the KTable that held the specs before wrote to the same changelog;
    // every probe reads its job's spec, cached as an object, so it is parsed once
    builder.addStateStore(DecodedCacheStore.of(Stores.timestampedKeyValueStoreBuilder(
        Stores.persistentTimestampedKeyValueStore(JOB_STORE), keys, jobs.valueSerde()),
        spec -> spec.value().getSerializedSize() + Long.BYTES));
    // cached as objects: a job's state is rewritten by every probe, and only the last write before a
    // commit needs encoding and reaching the changelog
    builder.addStateStore(DecodedCacheStore.of(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STATE_STORE),
        keys, JobState.serde()), JobStateCodec::sizeOf));
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(PARKED_STORE), Serdes.Bytes(),
        Serdes.ByteArray()));
    // not cached: a segment's points are written once, when it closes; many keys in the thread's record
    // cache would make its evictions, which go round the stores, flush the job states and timelines long
    // before their commit (docs/BENCHMARKS.md §9)
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(EarlierPoints.STORE), keys,
        Serdes.ByteArray()).withCachingDisabled());
    builder.addStateStore(DecodedCacheStore.of(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(TIMELINE_STORE), keys, Timeline.serde()), TimelineCodec::sizeOf));
    // a job's timeline, rewritten once per emit interval and up to ~600 KiB: Streams' cache, bounded
    // in bytes; the reports since, rewritten by every report, as objects
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(GRADIENT_STORE), keys,
        GradientStatsProcessor.serde()).withCachingEnabled());
    builder.addStateStore(DecodedCacheStore.of(Stores.keyValueStoreBuilder(
        Stores.persistentKeyValueStore(GRADIENT_PENDING_STORE), keys, GradientStatsProcessor.pendingSerde()),
        reports -> reports.getSerializedSize() + 1L));

    KStream<String, ProbeReport> routed = builder
        .stream(probes.name(), Consumed.with(probes.keySerde(), probes.valueSerde()).withName("probes"))
        .process(ProbeRouter::new, Named.as("route"));
    // the router forwards each probe to one of these two by name
    KStream<String, ProbeReport> home = routed.filter((k, v) -> true, Named.as(HOME));
    KStream<String, ProbeReport> byJob = routed.filter((k, v) -> true, Named.as(AWAY))
        .repartition(Repartitioned.<String, ProbeReport>as(Topics.PROBES_BY_JOB)
            .withKeySerde(probesByJob.keySerde()).withValueSerde(probesByJob.valueSerde())
            .withStreamPartitioner(CurvatureTopology::partitionOfJobId));
    KStream<String, JobSpec> jobSpecs =
        builder.stream(jobs.name(), Consumed.with(keys, jobs.valueSerde()).withName("jobs"));

    KStream<Object, Object> out = messages(home).merge(messages(byJob), Named.as("probes-merged"))
        .merge(messages(jobSpecs), Named.as("probes-and-jobs"))
        .process(() -> new CurvatureProcessor(math, topics, parking, edgeRatios), Named.as(ESTIMATE), JOB_STORE,
            STATE_STORE, PARKED_STORE, EarlierPoints.STORE, TIMELINE_STORE);
    KStream<String, Curvature> estimates = cast(out);

    estimates.to(history.name(), Produced.with(history.keySerde(), history.valueSerde()).withName(HISTORY));

    estimates
        .process(() -> new TimelineProcessor(TIMELINE_STORE, edgeRatios ? EarlierPoints.STORE : null,
            Duration.ofMillis(EMIT_INTERVAL_MS)), Named.as(TIMELINE), TIMELINE_STORE, EarlierPoints.STORE)
        .to(curvature.name(), Produced.with(curvature.keySerde(), curvature.valueSerde()).withName("curvature")
            .withStreamPartitioner(CurvatureTopology::partitionOfJob));

    // gradient statistics: their own branch off the estimate step, which forwards them here by name
    KStream<String, ProbeReport> gradients = cast(out);
    gradients
        .process(() -> new GradientStatsProcessor(GRADIENT_STORE, GRADIENT_PENDING_STORE,
            Duration.ofMillis(STATS_EMIT_INTERVAL_MS)), Named.as(GRADIENT), GRADIENT_STORE, GRADIENT_PENDING_STORE)
        .to(gradientStats.name(), Produced.with(gradientStats.keySerde(), gradientStats.valueSerde())
            .withName("gradient-stats-out").withStreamPartitioner(CurvatureTopology::partitionOfJobId));

    Topology topology = builder.build();
    topology.addSink(DEAD_LETTERS, dlq.name(), dlq.keySerde().serializer(), dlq.valueSerde().serializer(), ESTIMATE);
    return topology;
  }

  @SuppressWarnings("unchecked")
  private static KStream<String, Message> messages(KStream<String, ? extends Message> stream) {
    return (KStream<String, Message>) stream;
  }

  /**
   * The estimate step forwards by name: estimates to the history and the timeline, gradient
   * statistics to their own branch.
   */
  @SuppressWarnings("unchecked")
  private static <K, V> KStream<K, V> cast(KStream<?, ?> stream) {
    return (KStream<K, V>) stream;
  }

  /**
   * A record keyed by a job id on its job's partition: where the service writes the job's record on
   * {@code stepsize.jobs} (probes routed home, a job's gradient statistics).
   */
  static <V> Optional<Set<Integer>> partitionOfJobId(String topic, String jobId, V value, int partitions) {
    return Optional.of(Set.of(JobPartitioner.partitionOf(jobId, partitions)));
  }

  /** Every record of a job, timeline segments included, on its job's partition. */
  static Optional<Set<Integer>> partitionOfJob(String topic, String key, Curvature value, int partitions) {
    return Optional.of(Set.of(JobPartitioner.partitionOf(CurvatureRecords.jobIdOf(key), partitions)));
  }


  /**
   * Settings that make the estimator fast but not correct, so a deployment's own client properties may
   * override them (EstimatorApp puts them under those, and {@link #config} over both).
   */
  public static Properties tuning() {
    Properties p = new Properties();
    p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), String.valueOf(PRODUCER_BATCH_BYTES));
    return p;
  }

  /**
   * The Streams configuration: exactly-once, the classic group protocol, a short commit interval,
   * and bad records (undecodable bytes or a probe that fails validation) to the dead-letter topic.
   */
  public static Properties config(String bootstrapServers, Topics topics, Path stateDir, String applicationId) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    p.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
    // a replica or a restart gives the same answers only if no probe counts twice
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    // RUNNING in about 3 s on a fresh broker, against about 10 s with the "streams" protocol
    p.put(StreamsConfig.GROUP_PROTOCOL_CONFIG, "classic");
    p.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, String.valueOf(COMMIT_INTERVAL_MS));
    // no waiting for the task's empty partitions (its jobs and repartition partitions mostly are):
    // a probe ahead of its job waits in the parked-probes store anyway, and the wait's bookkeeping
    // costs a String.format per empty partition per record (docs/BENCHMARKS.md §3, §6)
    p.put(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, "-1");
    // KIP-1034: both handlers write the failing record with __streams.errors.* headers and go on
    p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.probesDlq().name());
    p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueExceptionHandler.class.getName());
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG,
        LogAndContinueProcessingExceptionHandler.class.getName());
    // without both keys Streams warns that the handler is off for the global thread
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, "true");
    p.put(StreamsConfig.mainConsumerPrefix(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG), "true");
    // every store and internal topic is named above; renaming one by accident must fail loudly
    p.put(StreamsConfig.ENSURE_EXPLICIT_INTERNAL_RESOURCE_NAMING_CONFIG, "true");
    // Streams' record cache (statestore.cache.max.bytes, default 10 MiB) holds only the gradient-
    // statistics timelines; the stores every probe rewrites cache objects ({@link DecodedCacheStore})
    return p;
  }

  /**
   * The application's topology: a {@link StreamsBuilder} made from {@code config}, so the topology
   * sees the same settings (the processing-exception handler among them) as the application. The
   * parking of probes that wait for their job takes its settings from the same properties
   * ({@code stepsize.estimator.park.grace.ms}, {@code .max.per.job}, {@code .max.per.task}; see
   * {@link ProbeParking}).
   */
  public static Topology topology(Properties config, Topics topics) {
    boolean statistics = !"false".equals(config.getProperty(GRADIENT_STATISTICS_CONFIG, "true"));
    return build(new StreamsBuilder(new TopologyConfig(new StreamsConfig(config))), topics, new LanczosMath(statistics),
        ProbeParking.Settings.from(config), statistics);
  }
}
