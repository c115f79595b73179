package io.stepsize.bench;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.service.StepsizeNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The server under test: by default a whole embedded node (KRaft broker, estimator, gRPC) in this JVM
 * in a temporary directory, as {@code stepsize serve} runs it; or an existing server at a target.
 */
final class BenchNode implements AutoCloseable {
  private final StepsizeNode node;
  private final Path dir;
  private final String target;
  private final String bootstrap;

  private BenchNode(StepsizeNode node, Path dir, String target, String bootstrap) {
    this.node = node;
    this.dir = dir;
    this.target = target;
    this.bootstrap = bootstrap;
  }

  /** An embedded node when {@code target} is null, else the server at {@code target}. */
  static BenchNode open(String target) throws InterruptedException {
    return open(target, null);
  }

  /**
   * An embedded node when {@code target} is null, else the server at {@code target} whose Kafka is at
   * {@code bootstrap} (null when the benchmark needs no Kafka).
   */
  static BenchNode open(String target, String bootstrap) throws InterruptedException {
    return open(target, bootstrap, UnaryOperator.identity());
  }

  /**
   * As {@link #open(String, String)}, with the embedded node's config passed through {@code config}
   * first (e.g. to switch HTTP on); {@code config} is not used for a remote target.
   */
  static BenchNode open(String target, String bootstrap, UnaryOperator<StepsizeNode.Config> config)
      throws InterruptedException {
    if (target != null) {
      return new BenchNode(null, null, target, bootstrap);
    }
    Path dir = Workloads.tempDir("node");
    StepsizeNode node = StepsizeNode.start(config.apply(StepsizeNode.Config.embedded(dir)));
    if (!node.awaitServing(Duration.ofSeconds(120))) {
      node.close();
      Workloads.delete(dir);
      throw new IllegalStateException("embedded node not SERVING after 120 s");
    }
    return new BenchNode(node, dir, node.target(), node.broker().bootstrapServers());
  }

  String target() {
    return target;
  }

  /** The embedded node, or null for a remote target. */
  StepsizeNode node() {
    return node;
  }

  /** The embedded node's HTTP port (console, JSON API); the node must have been opened with HTTP on. */
  int httpPort() {
    int port = node == null ? -1 : node.httpPort();
    if (port < 0) {
      throw new IllegalStateException("no HTTP port: " + (node == null ? "a remote target" : "HTTP is off"));
    }
    return port;
  }

  /** Kafka bootstrap servers of the node, or null when not known. */
  String bootstrap() {
    return bootstrap;
  }

  /**
   * Creates {@code spec}'s job and reports {@code probes} Lanczos probes at steps 0, 10, 20, …
   * through gRPC, then waits until the estimate of the last one is visible, so learning rates are
   * answered from a real curvature timeline.
   */
  static void createWithCurvature(StepsizeClient client, JobSpec spec, int probes) throws InterruptedException {
    client.createJob(spec);
    List<ProbeReport> batch = new ArrayList<>();
    for (int i = 0; i < probes; i++) {
      batch.add(Workloads.probe(Workloads.lanczos(20, 1000 + i), spec.getJobId(), 10L * i));
    }
    client.reportProbes(batch);
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (client.curvature(spec.getJobId()).getProbes() < probes) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("no curvature estimate for " + spec.getJobId() + " after 60 s");
      }
      Thread.sleep(20);
    }
  }

  @Override
  public void close() {
    if (node != null) {
      node.close();
    }
    Workloads.delete(dir);
  }
}
