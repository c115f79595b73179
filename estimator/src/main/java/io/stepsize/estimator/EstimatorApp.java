package io.stepsize.estimator;

import io.stepsize.wire.Topics;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.streams.CloseOptions;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The estimator as a running Kafka Streams application: creates the topics, starts the topology,
 * waits until it is RUNNING, and leaves the consumer group on close so a restart on the same
 * state directory is ready in seconds (staying in the group made the next start wait ~45 s for the
 * old member's session to expire).
 */
public final class EstimatorApp implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EstimatorApp.class);
  public static final Duration DEFAULT_START_TIMEOUT = Duration.ofSeconds(60);
  public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);

  private final KafkaStreams streams;
  private final List<HangingTransactions.Hang> hangsClosedAtStart;

  private EstimatorApp(KafkaStreams streams, List<HangingTransactions.Hang> hangsClosedAtStart) {
    this.streams = streams;
    this.hangsClosedAtStart = List.copyOf(hangsClosedAtStart);
  }

  /** The hanging transactions this start found and closed before Streams started (usually none). */
  public List<HangingTransactions.Hang> hangsClosedAtStart() {
    return hangsClosedAtStart;
  }

  /**
   * Starts with {@link CurvatureTopology#config}, the prefix's application id, {@link Topics#DEFAULT_PARTITIONS}
   * for topics that do not exist yet and {@link #DEFAULT_START_TIMEOUT}.
   *
   * @param clientProperties extra Kafka client settings (security, …) for every client; may be empty
   */
  public static EstimatorApp start(String bootstrapServers, Topics topics, Path stateDir, Properties clientProperties) {
    return start(bootstrapServers, topics, stateDir, clientProperties, Topics.DEFAULT_PARTITIONS, DEFAULT_START_TIMEOUT);
  }

  public static EstimatorApp start(String bootstrapServers, Topics topics, Path stateDir, Properties clientProperties,
      int partitions, Duration startTimeout) {
    return start(config(bootstrapServers, topics, stateDir, clientProperties), topics, partitions, startTimeout);
  }

  /**
   * The application's settings, each layer over the one before: {@link CurvatureTopology#tuning}, then
   * {@code clientProperties} (security, …), then {@link CurvatureTopology#config}, which no deployment changes.
   */
  public static Properties config(String bootstrapServers, Topics topics, Path stateDir, Properties clientProperties) {
    Properties config = CurvatureTopology.tuning();
    config.putAll(clientProperties);
    config.putAll(CurvatureTopology.config(bootstrapServers, topics, stateDir, topics.applicationId()));
    return config;
  }

  /**
   * Creates missing topics ({@code partitions} each), closes the application's hanging transactions
   * ({@link HangingTransactions}), starts Streams with {@code config} and waits
   * for RUNNING.
   *
   * @throws IllegalStateException when it is not RUNNING within {@code startTimeout} (it is closed then)
   */
  public static EstimatorApp start(Properties config, Topics topics, int partitions, Duration startTimeout) {
    Map<String, Object> adminConfig = new StreamsConfig(config).getAdminConfigs("stepsize-estimator-admin");
    config = (Properties) config.clone();
    List<HangingTransactions.Hang> hangs;
    try (Admin admin = Admin.create(adminConfig)) {
      // a probe already on its job's partition skips the repartition topic (ProbeRouter)
      config.put(ProbeRouter.PARTITIONS_CONFIG, String.valueOf(topics.createIfMissing(admin, partitions)));
      // a transaction left open for good by a crash would keep Streams REBALANCING forever
      boolean plaintext = "PLAINTEXT".equalsIgnoreCase(String.valueOf(
          adminConfig.getOrDefault(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "PLAINTEXT")));
      hangs = HangingTransactions.closeHanging(admin, topics, config.getProperty(StreamsConfig.APPLICATION_ID_CONFIG),
          plaintext);
    }
    KafkaStreams streams = new KafkaStreams(CurvatureTopology.topology(config, topics), config);
    streams.setUncaughtExceptionHandler(e -> {
      // a thread that died of something the DLQ handlers do not cover: replace it, keep serving
      log.error("estimator stream thread failed; replacing it", e);
      return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
    });
    EstimatorApp app = new EstimatorApp(streams, hangs);
    streams.start();
    try {
      app.awaitRunning(startTimeout);
    } catch (RuntimeException e) {
      app.close();
      throw e;
    }
    log.info("estimator RUNNING: application {}, probes from {}, dead letters to {}",
        config.getProperty(StreamsConfig.APPLICATION_ID_CONFIG), topics.probes().name(), topics.probesDlq().name());
    return app;
  }

  private void awaitRunning(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      KafkaStreams.State state = streams.state();
      if (state == KafkaStreams.State.RUNNING) {
        return;
      }
      if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.PENDING_ERROR
          || state == KafkaStreams.State.NOT_RUNNING || state == KafkaStreams.State.PENDING_SHUTDOWN) {
        throw new IllegalStateException("estimator failed to start: Kafka Streams is " + state);
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("estimator not RUNNING after " + timeout + " (state " + state + ")");
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the estimator to start", e);
      }
    }
  }

  /**
   * The input partitions of the tasks this instance runs as active ones: how a group of instances split
   * the jobs (a job's probes are processed on the partition JobPartitioner gives its id).
   */
  public Set<TopicPartition> activePartitions() {
    return streams.metadataForLocalThreads().stream().flatMap(t -> t.activeTasks().stream())
        .flatMap(t -> t.topicPartitions().stream()).collect(Collectors.toUnmodifiableSet());
  }

  public KafkaStreams.State state() {
    return streams.state();
  }

  /** Closes within {@code timeout}, leaving the group; true when everything shut down in time. */
  public boolean close(Duration timeout) {
    return streams.close(CloseOptions.groupMembershipOperation(CloseOptions.GroupMembershipOperation.LEAVE_GROUP)
        .withTimeout(timeout));
  }

  @Override
  public void close() {
    if (!close(DEFAULT_CLOSE_TIMEOUT)) {
      log.warn("estimator did not close within {}", DEFAULT_CLOSE_TIMEOUT);
    }
  }
}
