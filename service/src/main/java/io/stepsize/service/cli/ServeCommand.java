package io.stepsize.service.cli;

import io.stepsize.service.StepsizeNode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code stepsize serve}: the embedded default, or one replica of a cluster with --bootstrap-servers. */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the Stepsize gRPC service (with an embedded Kafka broker unless --bootstrap-servers is given).")
public final class ServeCommand implements Callable<Integer> {
  @Option(names = "--bootstrap-servers", description = "Kafka cluster to join; omit for the embedded broker.")
  String bootstrapServers;

  @Option(names = "--grpc-port", defaultValue = "50051", description = "gRPC port (default ${DEFAULT-VALUE}; 0 = any free port).")
  int grpcPort;

  @Option(names = "--data-dir", defaultValue = "./stepsize-data", description = "Broker and Streams state (default ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(names = "--topic-prefix", defaultValue = "", description = "Prefix of every topic name.")
  String topicPrefix;

  @Option(names = "--kafka-port", defaultValue = "9092", description = "Embedded broker's loopback port (default ${DEFAULT-VALUE}).")
  int kafkaPort;

  @Option(names = "--partitions", defaultValue = "4", description = "Partitions of new topics (default ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = "--no-estimator", negatable = false, description = "Do not run the estimator in this process.")
  boolean noEstimator;

  @Option(names = "--kafka-properties", description = "Kafka client properties file (security settings, …).")
  Path kafkaProperties;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (grpcPort < 0 || grpcPort > 65535) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--grpc-port: must be in [0, 65535] (got " + grpcPort + ")");
    }
    if (partitions < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--partitions: must be >= 1 (got " + partitions + ")");
    }
    Properties clientProps = new Properties();
    if (kafkaProperties != null) {
      if (!Files.isReadable(kafkaProperties)) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--kafka-properties: cannot read " + kafkaProperties);
      }
      try (InputStream in = Files.newInputStream(kafkaProperties)) {
        clientProps.load(in);
      }
    }
    Files.createDirectories(dataDir);
    StepsizeNode node = StepsizeNode.start(new StepsizeNode.Config(bootstrapServers, grpcPort, dataDir, topicPrefix,
        kafkaPort, partitions, !noEstimator, clientProps));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      node.close();
      stopped.countDown();
    }, "stepsize-shutdown"));
    stopped.await();
    return 0;
  }

}
