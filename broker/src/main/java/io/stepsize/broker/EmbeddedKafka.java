package io.stepsize.broker;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.common.utils.Time;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node KRaft broker (broker and controller in one) inside this JVM.
 *
 * <p>Its data directory persists: a restart on the same directory keeps topics and offsets, which
 * is why the cluster id is fixed and the storage is formatted only once.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
  /** Formatting again with a different id fails, so one id serves every embedded node. */
  static final String CLUSTER_ID = "c3RlcHNpemUtZW1iZWRkZWQ";

  private final Path dataDir;
  private final int port;
  private final int controllerPort;
  private KafkaRaftServer server;

  private EmbeddedKafka(Path dataDir, int port, int controllerPort) {
    this.dataDir = dataDir;
    this.port = port;
    this.controllerPort = controllerPort;
  }

  /**
   * Starts a broker whose client listener is on loopback {@code port} (0 picks a free one).
   * The data lives under {@code dataDir}/kafka and survives restarts.
   */
  public static EmbeddedKafka start(Path dataDir, int port) {
    EmbeddedKafka kafka = new EmbeddedKafka(dataDir, port == 0 ? KraftStorage.freePort() : KraftStorage.reserve(port),
        KraftStorage.freePort());
    kafka.startServer();
    return kafka;
  }

  public String bootstrapServers() {
    return "localhost:" + port;
  }

  public int port() {
    return port;
  }

  public Path dataDir() {
    return dataDir;
  }

  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Stops the broker; {@link #restart()} brings it back on the same port and data. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    server.shutdown();
    server.awaitShutdown();
    server = null;
  }

  public synchronized void restart() {
    stop();
    startServer();
  }

  @Override
  public void close() {
    stop();
  }

  private synchronized void startServer() {
    Path logDir = dataDir.resolve("kafka");
    Properties props = brokerProperties(logDir);
    try {
      Files.createDirectories(logDir);
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        KraftStorage.format(props, dataDir.resolve("kafka-format.properties"), CLUSTER_ID, "embedded Stepsize broker");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    KafkaRaftServer s = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    s.startup();
    server = s;
    log.info("Kafka broker listening on {} (data {})", bootstrapServers(), logDir);
  }

  private Properties brokerProperties(Path logDir) {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@localhost:" + controllerPort);
    p.put("listeners", "PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://localhost:" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", logDir.toAbsolutePath().toString());
    // one node: every internal topic has one replica (exactly_once_v2 needs the txn log ones)
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "4");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "4");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("default.replication.factor", "1");
    p.put("min.insync.replicas", "1");
    p.put("num.partitions", "1");
    // else the first consumer of a group waits about 3 s for more members
    p.put("group.initial.rebalance.delay.ms", "0");
    // the default 128 MiB dedupe buffer is allocated at start and kills small heaps
    p.put("log.cleaner.dedupe.buffer.size", "8388608");
    p.put("log.cleaner.backoff.ms", "1000");
    p.put("log.segment.bytes", "16777216");
    p.put("auto.create.topics.enable", "false");
    return p;
  }
}
