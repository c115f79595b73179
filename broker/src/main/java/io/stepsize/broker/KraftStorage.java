package io.stepsize.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.common.utils.Time;

/** What every in-JVM KRaft node needs before it starts: formatted storage and free ports. */
final class KraftStorage {
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

  private KraftStorage() {}

  /**
   * Formats a node's log directories for {@code clusterId} with Kafka's own StorageTool, which
   * returns a code instead of exiting; {@code --ignore-formatted} makes a restart a no-op.
   */
  static void format(Properties props, Path configFile, String clusterId, String comment) throws IOException {
    try (OutputStream out = Files.newOutputStream(configFile)) {
      props.store(out, comment);
    }
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    int code;
    try (PrintStream ps = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      code = StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", configFile.toString(),
          "--ignore-formatted"}, ps);
    }
    Files.deleteIfExists(configFile);
    if (code != 0) {
      throw new IllegalStateException("formatting the Kafka storage failed: " + buffer.toString(StandardCharsets.UTF_8));
    }
  }

  /**
   * The settings every combined (broker + controller) KRaft node of this project starts from, the
   * embedded one and the test cluster's: loopback listeners, {@code replication} replicas for every
   * topic (internal ones included; exactly_once_v2 needs the transaction log's) and
   * {@code replication - 1} (at least 1) in sync for a write.
   */
  static Properties combinedNode(int nodeId, int port, int controllerPort, String quorumVoters, Path logDir,
      int replication) {
    String rf = String.valueOf(replication);
    String minIsr = String.valueOf(Math.max(1, replication - 1));
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", String.valueOf(nodeId));
    p.put("controller.quorum.voters", quorumVoters);
    p.put("listeners", "PLAINTEXT://localhost:" + port + ",CONTROLLER://localhost:" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://localhost:" + port);
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("log.dirs", logDir.toAbsolutePath().toString());
    p.put("default.replication.factor", rf);
    p.put("min.insync.replicas", minIsr);
    p.put("offsets.topic.replication.factor", rf);
    p.put("offsets.topic.num.partitions", "4");
    p.put("transaction.state.log.replication.factor", rf);
    p.put("transaction.state.log.min.isr", minIsr);
    p.put("transaction.state.log.num.partitions", "4");
    p.put("share.coordinator.state.topic.replication.factor", rf);
    p.put("share.coordinator.state.topic.min.isr", minIsr);
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

  /** Formats the node's log directory when it is new (a restart keeps its data), then starts the node. */
  static KafkaRaftServer formatAndStart(Properties props, Path logDir, Path formatFile, String clusterId,
      String comment) {
    try {
      Files.createDirectories(logDir);
      if (!Files.exists(logDir.resolve("meta.properties"))) {
        format(props, formatFile, clusterId, comment);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    KafkaRaftServer s = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    s.startup();
    return s;
  }

  /**
   * A port that is free now and that this JVM has not handed out before. The second rule matters:
   * a port just closed is often the kernel's next pick, so two calls in a row (a node's client and
   * controller listeners) could otherwise return the same port.
   */
  static int freePort() {
    for (int attempt = 0; attempt < 100; attempt++) {
      try (ServerSocket s = new ServerSocket(0)) {
        s.setReuseAddress(true);
        if (HANDED_OUT.add(s.getLocalPort())) {
          return s.getLocalPort();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    throw new IllegalStateException("no free port found that was not handed out before");
  }

  /** Marks a port chosen elsewhere (a fixed listener port) as taken, so freePort never returns it. */
  static int reserve(int port) {
    HANDED_OUT.add(port);
    return port;
  }
}
