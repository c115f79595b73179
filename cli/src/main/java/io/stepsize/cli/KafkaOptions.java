package io.stepsize.cli;

import io.stepsize.wire.Topics;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The Kafka flags that {@code serve} and {@code estimator} share, checked the same way in both. */
final class KafkaOptions {
  @Option(names = "--topic-prefix", defaultValue = "", description = "Prefix of every topic name.")
  String topicPrefix;

  @Option(names = "--partitions", defaultValue = "" + Topics.DEFAULT_PARTITIONS,
      description = "Partitions of topics that do not exist yet; the estimator's parallelism (default ${DEFAULT-VALUE}).")
  int partitions;

  @Option(names = "--kafka-properties", paramLabel = "FILE",
      description = "Kafka client properties (security.protocol, sasl.*, ssl.*, …) for every Kafka client of the process.")
  Path kafkaProperties;

  Topics topics(CommandLine cli) {
    try {
      return new Topics(topicPrefix);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cli, "--topic-prefix: " + e.getMessage().replaceFirst("^topic_prefix: ", ""));
    }
  }

  int partitions(CommandLine cli) {
    if (partitions < 1) {
      throw new CommandLine.ParameterException(cli, "--partitions: must be >= 1 (got " + partitions + ")");
    }
    return partitions;
  }

  Properties clientProperties(CommandLine cli) {
    Properties p = new Properties();
    if (kafkaProperties == null) {
      return p;
    }
    if (!Files.isReadable(kafkaProperties)) {
      throw new CommandLine.ParameterException(cli, "--kafka-properties: cannot read " + kafkaProperties);
    }
    try (InputStream in = Files.newInputStream(kafkaProperties)) {
      p.load(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return p;
  }
}
