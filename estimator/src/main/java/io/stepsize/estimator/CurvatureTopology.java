package io.stepsize.estimator;

import io.stepsize.wire.Topic;
import io.stepsize.wire.JobPartitioner;

import io.stepsize.wire.Topics;
import io.stepsize.wire.ProtoSerde;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.CurvatureRecords;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.errors.LogAndContinueProcessingExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.Stores;

/**
 * The estimator as one Kafka Streams topology (DESIGN.md §2):
 *
 * <pre>
 *   stepsize.jobs ──► KTable "job-specs" ─────────┐ (store read by the processor)
 *   stepsize.probes ──► validate, phase, merge, EWMA ("estimate", store "curvature-state")
 *        ├──► stepsize.curvature.history          every estimate
 *        └──► timeline per job ("curvature-timeline") ──► stepsize.curvature (job records + segments)
 *   bad records ──► stepsize.probes.dlq  (Streams' KIP-1034 dead-letter queue, reason in headers)
 * </pre>
 *
 * <p>The spec is read from a co-partitioned KTable store rather than a GlobalKTable: the probe and
 * its job's spec land in the same task, whose timestamp synchronisation processes a spec produced
 * before a probe first; a global table is fed by its own thread and can lag behind the probes.
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
  /** Short, because an estimate should reach the service within a second (DESIGN.md §6). */
  public static final long COMMIT_INTERVAL_MS = 100;
  /** How often pending job records are written: half a commit interval, so most make the next commit. */
  public static final long EMIT_INTERVAL_MS = COMMIT_INTERVAL_MS / 2;

  private CurvatureTopology() {}

  /** The topology with the real Lanczos math. */
  public static Topology build(StreamsBuilder builder, Topics topics) {
    return build(builder, topics, new LanczosMath());
  }

  static Topology build(StreamsBuilder builder, Topics topics, CurvatureMath math) {
    Topic<String, JobSpec> jobs = topics.jobs();
    Topic<String, ProbeReport> probes = topics.probes();
    Topic<String, Curvature> history = topics.curvatureHistory();
    Topic<String, Curvature> curvature = topics.curvature();
    Serde<String> keys = jobs.keySerde();

    builder.table(jobs.name(), Consumed.with(keys, jobs.valueSerde()).withName("jobs"),
        Materialized.<String, JobSpec, KeyValueStore<Bytes, byte[]>>as(JOB_STORE)
            .withKeySerde(keys).withValueSerde(jobs.valueSerde()));
    // cached: a job's state is rewritten by every probe, and only the last write before a commit
    // needs to reach the changelog
    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(STATE_STORE), keys,
        JobState.serde()).withCachingEnabled());

    KStream<String, Curvature> estimates = builder
        .stream(probes.name(), Consumed.with(probes.keySerde(), probes.valueSerde()).withName("probes"))
        // processValues keeps the key: the per-job timeline below reads the same task's store, no repartition
        .processValues(() -> new CurvatureProcessor(math, JOB_STORE, STATE_STORE), Named.as("estimate"),
            JOB_STORE, STATE_STORE);

    estimates.to(history.name(), Produced.with(history.keySerde(), history.valueSerde()).withName("history"));

    builder.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(TIMELINE_STORE), keys,
        Timeline.serde()).withCachingEnabled());
    estimates
        .process(() -> new TimelineProcessor(TIMELINE_STORE, Duration.ofMillis(EMIT_INTERVAL_MS)),
            Named.as("timeline"), TIMELINE_STORE)
        .to(curvature.name(), Produced.with(curvature.keySerde(), curvature.valueSerde()).withName("curvature")
            .withStreamPartitioner(CurvatureTopology::partitionOfJob));

    return builder.build();
  }

  /** Every record of a job, timeline segments included, on its job's partition. */
  static Optional<Set<Integer>> partitionOfJob(String topic, String key, Curvature value, int partitions) {
    return Optional.of(Set.of(JobPartitioner.partitionOf(CurvatureRecords.jobIdOf(key), partitions)));
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
    // the default 10 MiB holds the per-job states (a few KiB each: at most one open timeline
    // segment) of some thousands of jobs between two commits; more jobs per instance want more
    return p;
  }

  /**
   * The application's topology: a {@link StreamsBuilder} made from {@code config}, so the topology
   * sees the same settings (the processing-exception handler among them) as the application.
   */
  public static Topology topology(Properties config, Topics topics) {
    return build(new StreamsBuilder(new TopologyConfig(new StreamsConfig(config))), topics);
  }
}
