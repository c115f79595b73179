package io.stepsize.cli;

import io.stepsize.estimator.EstimatorApp;
import io.stepsize.wire.Topics;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.streams.KafkaStreams;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code stepsize estimator}: the curvature estimator alone, as one instance of a Kafka Streams
 * application; run several with the same prefix to share the partitions. Runs until SIGTERM.
 */
@Command(name = "estimator", mixinStandardHelpOptions = true,
    description = "Run the curvature estimator (Kafka Streams) against a Kafka cluster until stopped.")
public final class EstimatorCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(EstimatorCommand.class);

  @Option(names = "--bootstrap-servers", required = true, description = "Kafka cluster, host:port[,host:port…].")
  String bootstrapServers;

  @Option(names = "--state-dir", defaultValue = "./stepsize-data/estimator",
      description = "Kafka Streams state (default ${DEFAULT-VALUE}).")
  Path stateDir;

  @CommandLine.Mixin KafkaOptions kafka;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    if (bootstrapServers.isBlank()) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--bootstrap-servers: must not be empty");
    }
    Topics topics = kafka.topics(spec.commandLine());
    Properties clientProps = kafka.clientProperties(spec.commandLine());
    int partitions = kafka.partitions(spec.commandLine());
    Files.createDirectories(stateDir);
    log.info("starting the estimator on {} (topics {}…, state {})", bootstrapServers, topics.name("stepsize.*"), stateDir);
    EstimatorApp app;
    try {
      app = EstimatorApp.start(bootstrapServers, topics, stateDir, clientProps, partitions,
          EstimatorApp.DEFAULT_START_TIMEOUT);
    } catch (IllegalStateException e) {
      if (e.getCause() instanceof InterruptedException) {
        // stopped while still starting (start closed the app already): a stop, not a failure
        log.info("estimator interrupted while starting; closed");
        return 0;
      }
      throw e;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    AtomicBoolean stopping = new AtomicBoolean();
    Thread hook = new Thread(() -> {
      stopping.set(true);
      app.close();
      stopped.countDown();
    }, "stepsize-estimator-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    // runs until SIGTERM (the hook closes the app) or until this thread is interrupted (an
    // in-process caller stopping it); a Streams client that dies on its own is a failure (exit 1)
    try {
      while (!stopped.await(1, TimeUnit.SECONDS)) {
        KafkaStreams.State state = app.state();
        if (!stopping.get() && (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.NOT_RUNNING)) {
          log.error("the estimator stopped ({}); exiting", state);
          removeHook(hook);
          app.close(Duration.ofSeconds(10));
          return 1;
        }
      }
    } catch (InterruptedException e) {
      // a stop request, not a failure: close here (leaving the group) and drop the hook, so an
      // embedding JVM neither keeps the Streams threads nor runs a stale hook at its exit
      log.info("estimator interrupted; closing");
      removeHook(hook);
      app.close();
      Thread.currentThread().interrupt();
    }
    return 0;
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // the JVM is exiting and the hook runs (or ran) anyway
    }
  }
}
