package io.stepsize.service.metrics;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Finding deploy/prometheus and running Debian's promtool for the Prometheus tests. */
final class Tools {
  private Tools() {}

  /** What a finished command printed (stdout and stderr merged) and its exit code. */
  record Run(int exitCode, String output) {}

  /** The repository's deploy/prometheus, found upwards from the working directory (Maven runs tests in the module). */
  static Path prometheusDir() {
    for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
      Path dir = p.resolve("deploy").resolve("prometheus");
      if (Files.isRegularFile(dir.resolve("alerts.yml"))) {
        return dir;
      }
    }
    throw new AssertionError("no deploy/prometheus/alerts.yml above " + Path.of("").toAbsolutePath());
  }

  /** Runs a command from PATH in {@code dir} and waits for it (at most 60 s). */
  static Run run(Path dir, List<String> command) throws IOException, InterruptedException {
    // the output to a file, so a command that hangs cannot block the wait on its pipe
    Path log = Files.createTempFile("promtool-", ".log");
    Process p;
    try {
      p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
          .redirectOutput(log.toFile()).start();
    } catch (IOException e) {
      Files.deleteIfExists(log);
      throw new AssertionError(command.get(0) + " not found on PATH: install Debian's prometheus package"
          + " (apt-get install -y prometheus; .ci/run does)", e);
    }
    try {
      boolean done = p.waitFor(60, TimeUnit.SECONDS);
      String out = Files.readString(log, StandardCharsets.UTF_8);
      if (!done) {
        throw new AssertionError(command + " did not finish within 60 s:\n" + out);
      }
      return new Run(p.exitValue(), out);
    } finally {
      p.destroyForcibly();
      Files.deleteIfExists(log);
    }
  }
}
