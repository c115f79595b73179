package io.stepsize.service;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.stepsize.broker.EmbeddedKafka;
import io.stepsize.estimator.EstimatorApp;
import io.stepsize.estimator.Topics;
import io.stepsize.service.grpc.StepsizeServer;
import io.stepsize.service.view.LocalViews;
import io.stepsize.service.view.ViewLoader;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Stepsize process: on the embedded default a KRaft broker in this JVM, then the topics, the
 * estimator, the local views and the gRPC server. With bootstrap servers it joins a cluster instead.
 * Closing stops them in the order that leaves no errors behind: health, gRPC, producer, views,
 * Streams (leaving its group), broker last.
 */
public final class StepsizeNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StepsizeNode.class);

  /** How to run a node; {@code bootstrapServers == null} means the embedded broker. */
  public record Config(String bootstrapServers, int grpcPort, Path dataDir, String topicPrefix, int kafkaPort,
      int partitions, boolean runEstimator, Properties kafkaClientProperties) {
    public static Config embedded(Path dataDir) {
      return new Config(null, 0, dataDir, "", 0, 4, true, new Properties());
    }

    public Config withGrpcPort(int port) {
      return new Config(bootstrapServers, port, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties);
    }

    public Config withBootstrapServers(String servers) {
      return new Config(servers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties);
    }
  }

  private final Config config;
  private EmbeddedKafka broker;
  private EstimatorApp estimator;
  private Producer<String, byte[]> producer;
  private ViewLoader loader;
  private StepsizeServer server;
  private StepsizeCore core;

  private StepsizeNode(Config config) {
    this.config = config;
  }

  /** Starts everything and returns once gRPC listens; health turns SERVING when the views catch up. */
  public static StepsizeNode start(Config config) {
    StepsizeNode node = new StepsizeNode(config);
    try {
      node.startAll();
    } catch (RuntimeException e) {
      node.close();
      throw e;
    }
    return node;
  }

  private void startAll() {
    String bootstrap = config.bootstrapServers();
    if (bootstrap == null) {
      broker = EmbeddedKafka.start(config.dataDir(), config.kafkaPort());
      bootstrap = broker.bootstrapServers();
      log.info("embedded Kafka at {}: trainers may publish probes there directly", bootstrap);
    }
    Topics topics = new Topics(config.topicPrefix());
    try (Admin admin = Admin.create(clientProps(bootstrap))) {
      topics.createIfMissing(admin, config.partitions());
    }
    if (config.runEstimator()) {
      estimator = EstimatorApp.start(bootstrap, topics, config.dataDir().resolve("streams"), clientProps(bootstrap));
    }
    producer = new KafkaProducer<>(producerProps(bootstrap), new StringSerializer(), new ByteArraySerializer());
    LocalViews views = new LocalViews();
    core = new StepsizeCore(views, producer, topics);
    loader = new ViewLoader(bootstrap, topics, views).start();
    server = new StepsizeServer(NettyServerBuilder.forAddress(new InetSocketAddress(config.grpcPort())), core).start();
    log.info("Stepsize gRPC on port {}", server.port());
    Thread ready = new Thread(() -> {
      try {
        while (!loader.awaitCaughtUp(Duration.ofSeconds(30))) {
          log.warn("local views still catching up with the jobs and curvature topics");
        }
        server.serving();
        log.info("SERVING");
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "stepsize-ready");
    ready.setDaemon(true);
    ready.start();
  }

  public boolean awaitServing(Duration timeout) throws InterruptedException {
    return loader.awaitCaughtUp(timeout);
  }

  public int grpcPort() {
    return server.port();
  }

  public String target() {
    return "localhost:" + server.port();
  }

  public StepsizeCore core() {
    return core;
  }

  /** The embedded broker, or null when joined to a cluster. */
  public EmbeddedKafka broker() {
    return broker;
  }

  private Properties clientProps(String bootstrap) {
    Properties p = new Properties();
    p.putAll(config.kafkaClientProperties());
    p.put("bootstrap.servers", bootstrap);
    return p;
  }

  private Properties producerProps(String bootstrap) {
    Properties p = clientProps(bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
    // a request must fail within its RPC's reach, not after the default two minutes
    p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000");
    p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "4000");
    p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "9000");
    p.put(ProducerConfig.CLIENT_ID_CONFIG, "stepsize-service");
    return p;
  }

  @Override
  public void close() {
    try {
      if (server != null) {
        server.close();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (producer != null) {
      producer.close(Duration.ofSeconds(2));
    }
    try {
      if (loader != null) {
        loader.close();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (estimator != null) {
      estimator.close();
    }
    if (broker != null) {
      broker.close();
    }
    log.info("stopped");
  }

}
