package io.stepsize.broker;

import java.nio.file.Path;
import java.util.Properties;
import kafka.server.KafkaRaftServer;
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
    Properties props = KraftStorage.combinedNode(1, port, controllerPort, "1@localhost:" + controllerPort, logDir, 1);
    server = KraftStorage.formatAndStart(props, logDir, dataDir.resolve("kafka-format.properties"), CLUSTER_ID,
        "embedded Stepsize broker");
    log.info("Kafka broker listening on {} (data {})", bootstrapServers(), logDir);
  }
}
