package io.stepsize.cli;

import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/** What the verbs that run a service share: the port flags' rule, and serving until the JVM is stopped. */
final class Serving {
  private Serving() {}

  /** A usage error naming {@code flag} unless {@code port} is -1 (off) or in [0, 65535] (0 = any free port). */
  static void checkOptionalPort(CommandSpec spec, String flag, int port) {
    if (port < -1 || port > 65535) {
      throw new CommandLine.ParameterException(spec.commandLine(), flag + ": must be -1 or in [0, 65535] (got "
          + port + ")");
    }
  }

  /** Blocks until the JVM shuts down (Ctrl-C, SIGTERM), then closes {@code service} from the shutdown hook. */
  static void untilShutdown(AutoCloseable service, String threadName, java.io.PrintWriter err)
      throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        service.close();
      } catch (Exception e) {
        err.println("stopping the service: " + e);
      }
      stopped.countDown();
    }, threadName));
    stopped.await();
  }
}
