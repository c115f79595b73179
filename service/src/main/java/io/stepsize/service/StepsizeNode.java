package io.stepsize.service;

import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.stepsize.broker.EmbeddedKafka;
import io.stepsize.estimator.EstimatorApp;
import io.stepsize.wire.Topics;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.TlsServerCredentials;
import io.stepsize.service.core.Intake;
import io.stepsize.service.core.Jobs;
import io.stepsize.service.core.Queries;
import io.stepsize.service.grpc.StepsizeGrpcService;
import io.stepsize.service.grpc.StepsizeServer;
import io.stepsize.service.http.WebServer;
import io.stepsize.service.metrics.MetricsInterceptor;
import io.stepsize.service.metrics.StepsizeMetrics;
import io.stepsize.service.security.AuthInterceptor;
import io.stepsize.service.security.Limits;
import io.stepsize.service.security.TenantRateInterceptor;
import io.stepsize.service.security.Security;
import io.stepsize.service.security.Tenants;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import io.stepsize.service.view.LocalViews;
import io.stepsize.service.view.ViewLoader;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.StreamsConfig;
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

  /**
   * How to run a node; {@code bootstrapServers == null} means the embedded broker.
   * {@code metricsPort} -1 serves no metrics, 0 any free port. {@code bindAddress} is where gRPC
   * and metrics listen (null: {@link #LOOPBACK}); "0.0.0.0" where other hosts must connect.
   */
  public record Config(String bootstrapServers, int grpcPort, Path dataDir, String topicPrefix, int kafkaPort,
      int partitions, boolean runEstimator, Properties kafkaClientProperties, Security security, Limits limits,
      int metricsPort, String bindAddress, int httpPort) {
    /** The default listening address: only this machine can connect. */
    public static final String LOOPBACK = "127.0.0.1";

    public Config {
      security = security == null ? Security.NONE : security;
      limits = limits == null ? Limits.DEFAULT : limits;
      bindAddress = bindAddress == null ? LOOPBACK : bindAddress;
    }

    public Config(String bootstrapServers, int grpcPort, Path dataDir, String topicPrefix, int kafkaPort,
        int partitions, boolean runEstimator, Properties kafkaClientProperties, Security security, Limits limits,
        int metricsPort) {
      this(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, security, limits, metricsPort, LOOPBACK, -1);
    }

    public Config(String bootstrapServers, int grpcPort, Path dataDir, String topicPrefix, int kafkaPort,
        int partitions, boolean runEstimator, Properties kafkaClientProperties) {
      this(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, Security.NONE, Limits.DEFAULT, -1, LOOPBACK, -1);
    }

    public static Config embedded(Path dataDir) {
      return new Config(null, 0, dataDir, "", 0, Topics.DEFAULT_PARTITIONS, true, new Properties());
    }

    public Config withGrpcPort(int port) {
      return new Config(bootstrapServers, port, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, security, limits, metricsPort, bindAddress, httpPort);
    }

    public Config withBootstrapServers(String servers) {
      return new Config(servers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, security, limits, metricsPort, bindAddress, httpPort);
    }

    public Config withSecurity(Security s) {
      return new Config(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, s, limits, metricsPort, bindAddress, httpPort);
    }

    public Config withLimits(Limits l) {
      return new Config(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, security, l, metricsPort, bindAddress, httpPort);
    }

    public Config withMetricsPort(int port) {
      return new Config(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, security, limits, port, bindAddress, httpPort);
    }

    public Config withBindAddress(String address) {
      return new Config(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, security, limits, metricsPort, address, httpPort);
    }

    public Config withRunEstimator(boolean run) {
      return new Config(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, run,
          kafkaClientProperties, security, limits, metricsPort, bindAddress, httpPort);
    }

    /** The console, JSON API and /metrics (DESIGN.md §5.2): -1 off, 0 any free port. */
    public Config withHttpPort(int port) {
      return new Config(bootstrapServers, grpcPort, dataDir, topicPrefix, kafkaPort, partitions, runEstimator,
          kafkaClientProperties, security, limits, metricsPort, bindAddress, port);
    }
  }

  private final Config config;
  private EmbeddedKafka broker;
  private EstimatorApp estimator;
  private Producer<String, byte[]> producer;
  private ViewLoader loader;
  private StepsizeServer server;
  private Queries queries;
  private StepsizeMetrics metrics;
  private WebServer web;
  private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();
  private int metricsPort = -1;

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
    // a certificate or key that cannot serve must stop the start before anything runs
    config.security().checkTlsFiles();
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
      Properties streamsProps = clientProps(bootstrap);
      if (broker != null) {
        // One process owns the embedded group: after a crash its next start must not wait out the
        // dead member's 45 s default session before the estimator runs (and gRPC opens).
        streamsProps.putIfAbsent(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), "6000");
        streamsProps.putIfAbsent(StreamsConfig.consumerPrefix(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG), "1500");
      }
      estimator = EstimatorApp.start(bootstrap, topics, config.dataDir().resolve("streams"), streamsProps);
    }
    producer = new KafkaProducer<>(producerProps(bootstrap), new StringSerializer(), new ByteArraySerializer());
    LocalViews views = new LocalViews();
    Jobs jobs = new Jobs(views, config.limits());
    queries = new Queries(jobs);
    Intake intake = new Intake(jobs, producer, topics);
    metrics = new StepsizeMetrics(views, StepsizeMetrics.DEFAULT_MAX_JOB_SERIES);
    loader = new ViewLoader(bootstrap, topics, views, config.kafkaClientProperties())
        .onDeadLetter(metrics::deadLettered)
        .onEstimate(metrics::estimateLag)
        .onBadRecord(metrics::badRecord)
        .onLag(metrics::viewLag)
        .republishOwner(job -> producer.send(Intake.jobRecord(topics, job.spec(), job.owner()), (md, e) -> {
          if (e != null) {
            log.warn("job {}: could not write its owner's record again ({})", job.spec().getJobId(), e.toString());
          }
        }))
        .start();
    List<ServerInterceptor> interceptors = new ArrayList<>();
    interceptors.add(new MetricsInterceptor(metrics));
    Tenants tenants = null;
    if (config.security().tokensFile() != null) {
      try {
        tenants = Tenants.load(config.security().tokensFile());
        interceptors.add(new AuthInterceptor(tenants));
        log.info("bearer-token authentication on: {} token(s)", tenants.size());
      } catch (IOException e) {
        throw new UncheckedIOException("tokens: cannot read " + config.security().tokensFile(), e);
      }
    }
    if (config.limits().requestsPerSecondPerTenant() > 0) {
      interceptors.add(new TenantRateInterceptor(config.limits().requestsPerSecondPerTenant()));
    }
    NettyServerBuilder builder = NettyServerBuilder
        .forAddress(new InetSocketAddress(config.bindAddress(), config.grpcPort()), serverCredentials(config.security()))
        .maxInboundMessageSize(config.limits().maxMessageBytes());
    server = new StepsizeServer(builder, new StepsizeGrpcService(queries, intake, metrics::probesReported), interceptors).start();
    if (config.metricsPort() >= 0) {
      metricsPort = metrics.serve(config.bindAddress(), config.metricsPort());
      log.info("Prometheus metrics at http://{}:{}/metrics", config.bindAddress(), metricsPort);
    }
    if (config.httpPort() >= 0) {
      web = WebServer.start(config.bindAddress(), config.httpPort(), queries, intake, tenants, metrics);
      log.info("Stepsize console at {}", consoleUrl());
    }
    // scripts and the Python tests read the port from "Stepsize gRPC on port N"
    log.info("Stepsize gRPC on port {} of {}", server.port(), config.bindAddress());
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

  private static ServerCredentials serverCredentials(Security security) {
    if (!security.tls()) {
      return InsecureServerCredentials.create();
    }
    try {
      TlsServerCredentials.Builder tls = TlsServerCredentials.newBuilder()
          .keyManager(security.tlsCert().toFile(), security.tlsKey().toFile());
      if (security.mutualTls()) {
        tls.trustManager(security.tlsClientCa().toFile()).clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
      }
      log.info("gRPC over TLS{}", security.mutualTls() ? " with client certificates required (mutual TLS)" : "");
      return tls.build();
    } catch (IOException e) {
      throw new UncheckedIOException("tls: cannot read the certificate, key or client CA", e);
    }
  }

  /** The HTTP port (console, JSON API, /metrics), or -1 when HTTP is off. */
  public int httpPort() {
    return web == null ? -1 : web.port();
  }

  /** Where a browser on this machine opens the console, or null when HTTP is off. */
  public String consoleUrl() {
    if (web == null) {
      return null;
    }
    return "http://" + host() + ":" + web.port() + "/";
  }

  /** The Prometheus port, or -1 when metrics are not served. */
  public int metricsPort() {
    return metricsPort;
  }

  public StepsizeMetrics metrics() {
    return metrics;
  }

  public int grpcPort() {
    return server.port();
  }

  /** Where a client on this machine reaches gRPC: the bound address, or localhost for a wildcard. */
  public String target() {
    return host() + ":" + server.port();
  }

  /** The host part of this replica's addresses: localhost when bound to every interface, IPv6 in brackets. */
  private String host() {
    java.net.InetAddress bound = new InetSocketAddress(config.bindAddress(), 0).getAddress();
    if (bound == null || bound.isAnyLocalAddress()) {
      return "localhost";
    }
    String host = bound.getHostAddress();
    return host.contains(":") ? "[" + host + "]" : host;
  }

  /** This replica's answers without gRPC, e.g. to compare replicas in tests. */
  public Queries queries() {
    return queries;
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
    if (closed.getAndSet(true)) {
      return;
    }
    if (web != null) {
      web.close();
    }
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
    if (metrics != null) {
      metrics.close();
    }
    log.info("stopped");
  }

}
