package io.stepsize.cli;

import io.stepsize.service.StepsizeNode;
import io.stepsize.service.security.Limits;
import io.stepsize.service.security.Security;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.Callable;
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

  @Option(names = "--kafka-port", defaultValue = "9092", description = "Embedded broker's loopback port (default ${DEFAULT-VALUE}).")
  int kafkaPort;

  @Option(names = "--no-estimator", negatable = false, description = "Do not run the estimator in this process.")
  boolean noEstimator;

  @CommandLine.Mixin KafkaOptions kafka;

  @Option(names = "--tls-cert", paramLabel = "PEM", description = "Serve gRPC over TLS with this certificate chain.")
  Path tlsCert;

  @Option(names = "--tls-key", paramLabel = "PEM", description = "The private key of --tls-cert (PKCS#8 PEM).")
  Path tlsKey;

  @Option(names = "--tls-client-ca", paramLabel = "PEM",
      description = "Require client certificates signed by this CA (mutual TLS).")
  Path tlsClientCa;

  @Option(names = "--tokens-file", paramLabel = "FILE",
      description = "Require bearer tokens: a properties file of 'token = tenant' lines; a tenant sees only its jobs.")
  Path tokensFile;

  @Option(names = "--max-message-bytes", description = "Largest inbound gRPC message (default ${DEFAULT-VALUE}).")
  int maxMessageBytes = Limits.DEFAULT.maxMessageBytes();

  @Option(names = "--max-probe-steps", description = "Largest Lanczos m accepted by ReportProbes (default ${DEFAULT-VALUE}).")
  int maxProbeSteps = Limits.DEFAULT.maxProbeSteps();

  @Option(names = "--max-window", description = "Largest GetLearningRates count (default ${DEFAULT-VALUE}).")
  int maxWindow = Limits.DEFAULT.maxWindow();

  @Option(names = "--rate-limit", defaultValue = "0", paramLabel = "PER_SECOND",
      description = "Requests per second per job over all RPCs; 0 = unlimited (default ${DEFAULT-VALUE}).")
  int rateLimit;

  @Option(names = "--tenant-rate-limit", defaultValue = "0", paramLabel = "PER_SECOND",
      description = "Requests per second per tenant over all its RPCs; 0 = unlimited (default ${DEFAULT-VALUE}).")
  int tenantRateLimit;

  @Option(names = "--max-groups", description = "Most parameter groups a job may have (default ${DEFAULT-VALUE}).")
  int maxGroups = Limits.DEFAULT.maxGroups();

  @Option(names = "--max-spec-bytes", description = "Largest serialized job spec (default ${DEFAULT-VALUE}).")
  int maxSpecBytes = Limits.DEFAULT.maxSpecBytes();

  @Option(names = "--max-window-numbers",
      description = "Most numbers in one GetLearningRates answer, rates x max(1, groups); a job with many groups "
          + "gets fewer rates (default ${DEFAULT-VALUE}).")
  int maxWindowNumbers = Limits.DEFAULT.maxWindowNumbers();

  @Option(names = "--max-concurrent-windows",
      description = "GetLearningRates calls in flight at once on this replica; more get RESOURCE_EXHAUSTED "
          + "(default ${DEFAULT-VALUE}).")
  int maxConcurrentWindows = Limits.DEFAULT.maxConcurrentWindows();

  @Option(names = "--max-jobs-per-tenant",
      description = "Jobs one tenant may create; without --tokens-file all callers are one tenant (default ${DEFAULT-VALUE}).")
  int maxJobsPerTenant = Limits.DEFAULT.maxJobsPerTenant();

  @Option(names = "--metrics-port", defaultValue = "-1",
      description = "Also serve Prometheus metrics alone at http://HOST:PORT/metrics (the HTTP port has them"
          + " too); -1 = off (default ${DEFAULT-VALUE}).")
  int metricsPort;

  /**
   * On in both modes, as gRPC's 50051 is: a replica of a cluster is scraped and looked at like an embedded node,
   * and replicas that share a host already pass their own --grpc-port.
   */
  @Option(names = "--http-port", defaultValue = "8080", paramLabel = "PORT",
      description = "The console, the JSON API and /metrics at http://HOST:PORT/; 0 = any free port, -1 = off"
          + " (default ${DEFAULT-VALUE}).")
  int httpPort;

  @Option(names = "--bind-address", defaultValue = StepsizeNode.Config.LOOPBACK, paramLabel = "ADDRESS",
      description = "Address gRPC, HTTP and metrics listen on (default ${DEFAULT-VALUE}: this machine only;"
          + " 0.0.0.0 where other hosts must connect).")
  String bindAddress;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (grpcPort < 0 || grpcPort > 65535) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--grpc-port: must be in [0, 65535] (got " + grpcPort + ")");
    }
    Properties clientProps = kafka.clientProperties(spec.commandLine());
    int partitions = kafka.partitions(spec.commandLine());
    String topicPrefix = kafka.topics(spec.commandLine()).prefix();
    Security security;
    Limits limits;
    try {
      security = new Security(tlsCert, tlsKey, tlsClientCa, tokensFile);
      limits = new Limits(maxMessageBytes, maxProbeSteps, maxWindow, rateLimit, maxGroups, maxSpecBytes,
          maxWindowNumbers, maxConcurrentWindows, maxJobsPerTenant, tenantRateLimit);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), flagged(e.getMessage()));
    }
    for (Path file : new Path[] {tlsCert, tlsKey, tlsClientCa, tokensFile}) {
      if (file != null && !Files.isReadable(file)) {
        throw new CommandLine.ParameterException(spec.commandLine(), flagOf(file) + ": cannot read " + file);
      }
    }
    Serving.checkOptionalPort(spec, "--metrics-port", metricsPort);
    Serving.checkOptionalPort(spec, "--http-port", httpPort);
    try {
      java.net.InetAddress address = java.net.InetAddress.getByName(bindAddress);
      if (!address.isAnyLocalAddress() && !address.isLoopbackAddress()
          && java.net.NetworkInterface.getByInetAddress(address) == null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--bind-address: " + bindAddress
            + " is not an address of this machine (0.0.0.0 listens on all of them)");
      }
      security.checkTlsFiles();
    } catch (java.net.UnknownHostException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--bind-address: cannot resolve " + bindAddress);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), flagged(e.getMessage()));
    }
    Files.createDirectories(dataDir);
    StepsizeNode node = StepsizeNode.start(new StepsizeNode.Config(bootstrapServers, grpcPort, dataDir, topicPrefix,
        kafkaPort, partitions, !noEstimator, clientProps, security, limits, metricsPort, bindAddress, httpPort));
    if (node.consoleUrl() != null) {
      spec.commandLine().getOut().println("Stepsize console at " + node.consoleUrl());
      spec.commandLine().getOut().flush();
    }
    Serving.untilShutdown(node, "stepsize-shutdown", spec.commandLine().getErr());
    return 0;
  }

  private String flagOf(Path file) {
    return file == tlsCert ? "--tls-cert" : file == tlsKey ? "--tls-key" : file == tlsClientCa ? "--tls-client-ca"
        : "--tokens-file";
  }

  /** "max_window: …" → "--max-window: …": the user typed flags, not record fields. */
  private static String flagged(String message) {
    int colon = message.indexOf(':');
    if (colon < 0) {
      return message;
    }
    String field = message.substring(0, colon);
    String flag = switch (field) {
      case "tls" -> "--tls-cert/--tls-key/--tls-client-ca";
      case "requests_per_second_per_job" -> "--rate-limit";
      case "requests_per_second_per_tenant" -> "--tenant-rate-limit";
      default -> "--" + field.replace('_', '-');
    };
    return flag + message.substring(colon);
  }

}
