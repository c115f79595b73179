package io.stepsize.broker;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.StringJoiner;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import kafka.server.KafkaRaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * N combined broker+controller KRaft nodes inside this JVM, for fault tests of a real replicated
 * cluster: every topic gets 3 replicas (or N when smaller) and writes need 2 in sync, so one node
 * may stop without losing an acknowledged record or the controller quorum.
 *
 * <p>Each node keeps its ports and data directory across {@link #stop}/{@link #restart}; the
 * cluster id is fixed so the storage is formatted only once. Nodes are numbered 0..N-1 here and
 * have {@code node.id} i+1.
 */
public final class KafkaCluster implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(KafkaCluster.class);
  /** One id for every cluster of this class: formatting again with another id fails. */
  static final String CLUSTER_ID = "c3RlcHNpemUtY2x1c3Rlcg";

  private final Path dataDir;
  private final int[] ports;
  private final int[] controllerPorts;
  private final Properties overrides;
  private final KafkaRaftServer[] servers;

  private KafkaCluster(Path dataDir, int nodes, Properties overrides) {
    this.dataDir = dataDir;
    this.ports = new int[nodes];
    this.controllerPorts = new int[nodes];
    for (int i = 0; i < nodes; i++) {
      ports[i] = KraftStorage.freePort();
      controllerPorts[i] = KraftStorage.freePort();
    }
    this.overrides = overrides;
    this.servers = new KafkaRaftServer[nodes];
  }

  /** Starts {@code nodes} nodes under {@code dataDir}/node-i and waits until all are up. */
  public static KafkaCluster start(Path dataDir, int nodes) {
    return start(dataDir, nodes, new Properties());
  }

  /** As {@link #start(Path, int)}, with broker properties that replace the defaults of {@link #nodeProperties}. */
  public static KafkaCluster start(Path dataDir, int nodes, Properties overrides) {
    if (nodes < 1) {
      throw new IllegalArgumentException("nodes: must be >= 1 (got " + nodes + ")");
    }
    KafkaCluster cluster = new KafkaCluster(dataDir, nodes, overrides);
    // a node's startup waits for a controller quorum (a majority of the voters), so start them together
    ExecutorService pool = Executors.newFixedThreadPool(nodes);
    try {
      List<Future<?>> started = new ArrayList<>();
      for (int i = 0; i < nodes; i++) {
        int node = i;
        started.add(pool.submit(() -> cluster.startNode(node)));
      }
      for (Future<?> f : started) {
        f.get();
      }
    } catch (ExecutionException e) {
      cluster.close();
      throw new IllegalStateException("starting the Kafka cluster failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      cluster.close();
      throw new IllegalStateException("interrupted while starting the Kafka cluster", e);
    } finally {
      pool.shutdown();
    }
    log.info("Kafka cluster of {} nodes at {}", nodes, cluster.bootstrapServers());
    return cluster;
  }

  /** Every node's client listener, running or not: clients skip the stopped ones. */
  public String bootstrapServers() {
    StringJoiner j = new StringJoiner(",");
    for (int port : ports) {
      j.add("localhost:" + port);
    }
    return j.toString();
  }

  public synchronized boolean isRunning(int node) {
    return servers[check(node)] != null;
  }

  /** Stops node {@code node} (a controlled shutdown: its partition leaderships move first). */
  public synchronized void stop(int node) {
    KafkaRaftServer s = servers[check(node)];
    if (s == null) {
      return;
    }
    s.shutdown();
    s.awaitShutdown();
    servers[node] = null;
    log.info("Kafka node {} stopped", node + 1);
  }

  /** Starts node {@code node} again on its ports and data (stopping it first if it runs). */
  public void restart(int node) {
    stop(node);
    startNode(node);
  }

  /**
   * Stops every node. One at a time would hang: once a majority of the controllers is gone, the
   * last broker's controlled shutdown waits minutes for a quorum. So the broker halves stop first,
   * together, while every controller still runs; then the nodes (their controllers) together.
   */
  @Override
  public void close() {
    List<KafkaRaftServer> running = new ArrayList<>();
    synchronized (this) {
      for (int i = 0; i < servers.length; i++) {
        if (servers[i] != null) {
          running.add(servers[i]);
          servers[i] = null;
        }
      }
    }
    inParallel(running, KafkaCluster::shutdownBrokerHalf);
    inParallel(running, s -> {
      s.shutdown();
      s.awaitShutdown();
    });
    log.info("Kafka cluster stopped");
  }

  private static void inParallel(List<KafkaRaftServer> servers, java.util.function.Consumer<KafkaRaftServer> action) {
    if (servers.isEmpty()) {
      return;
    }
    ExecutorService pool = Executors.newFixedThreadPool(servers.size());
    try {
      List<Future<?>> done = new ArrayList<>();
      for (KafkaRaftServer s : servers) {
        done.add(pool.submit(() -> action.accept(s)));
      }
      for (Future<?> f : done) {
        try {
          f.get();
        } catch (ExecutionException e) {
          log.warn("stopping a Kafka node failed", e.getCause());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      pool.shutdown();
    }
  }

  /**
   * KafkaRaftServer keeps its BrokerServer private and stops it only together with its controller;
   * reach it reflectively. When that fails the node's plain shutdown follows anyway.
   */
  private static void shutdownBrokerHalf(KafkaRaftServer server) {
    try {
      java.lang.reflect.Field f = KafkaRaftServer.class.getDeclaredField("broker");
      f.setAccessible(true);
      Object broker = f.get(server);
      if (broker instanceof scala.Option<?> option && option.isDefined()) {
        ((kafka.server.BrokerServer) option.get()).shutdown();
      }
    } catch (ReflectiveOperationException | RuntimeException e) {
      log.debug("could not stop the broker half first", e);
    }
  }

  private int check(int node) {
    if (node < 0 || node >= servers.length) {
      throw new IllegalArgumentException("node: must be in [0, " + servers.length + ") (got " + node + ")");
    }
    return node;
  }

  private void startNode(int node) {
    Path logDir = dataDir.resolve("node-" + node);
    Properties props = nodeProperties(node + 1, ports[node], controllerPorts[node], quorumVoters(), logDir,
        Math.min(3, servers.length));
    props.putAll(overrides);
    long t0 = System.nanoTime();
    KafkaRaftServer s = KraftStorage.formatAndStart(props, logDir,
        logDir.resolveSibling(logDir.getFileName() + "-format.properties"), CLUSTER_ID, "Stepsize test cluster node");
    log.info("Kafka node {} started in {} ms", node + 1, (System.nanoTime() - t0) / 1_000_000);
    synchronized (this) {
      servers[node] = s;
    }
    log.info("Kafka node {} listening on localhost:{}", node + 1, ports[node]);
  }

  private String quorumVoters() {
    StringJoiner j = new StringJoiner(",");
    for (int i = 0; i < controllerPorts.length; i++) {
      j.add((i + 1) + "@localhost:" + controllerPorts[i]);
    }
    return j.toString();
  }

  /**
   * The properties of one node of the test cluster: {@link KraftStorage#combinedNode} with
   * {@code replication} replicas (3 and 2 in sync: losing one node loses no acknowledged write), and
   * the tuning that lets three nodes share a test JVM and fail over in seconds.
   * deploy/local/start-cluster.sh writes the same settings for separate processes.
   */
  static Properties nodeProperties(int nodeId, int port, int controllerPort, String quorumVoters, Path logDir,
      int replication) {
    Properties p = KraftStorage.combinedNode(nodeId, port, controllerPort, quorumVoters, logDir, replication);
    p.put("unclean.leader.election.enable", "false");
    // a stopped node is fenced, and a restarted one registered, within seconds (defaults 9 s / 2 s)
    p.put("broker.session.timeout.ms", "4000");
    p.put("broker.heartbeat.interval.ms", "500");
    // three nodes share one small test heap: one cleaner thread, few I/O threads
    p.put("log.cleaner.threads", "1");
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "2");
    p.put("num.replica.fetchers", "1");
    p.put("background.threads", "2");
    // a restarted node takes its leaderships back within seconds, not after the default 5 minutes
    p.put("leader.imbalance.check.interval.seconds", "5");
    return p;
  }
}
