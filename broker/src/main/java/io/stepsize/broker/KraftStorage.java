package io.stepsize.broker;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import kafka.tools.StorageTool;

/** What every in-JVM KRaft node needs before it starts: formatted storage and free ports. */
final class KraftStorage {
  private KraftStorage() {}

  /**
   * Formats a node's log directories for {@code clusterId} with Kafka's own StorageTool, which
   * returns a code instead of exiting; {@code --ignore-formatted} makes a restart a no-op.
   */
  static void format(Properties props, Path configFile, String clusterId, String comment) throws IOException {
    try (OutputStream out = Files.newOutputStream(configFile)) {
      props.store(out, comment);
    }
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    int code;
    try (PrintStream ps = new PrintStream(buffer, true, StandardCharsets.UTF_8)) {
      code = StorageTool.execute(new String[] {"format", "-t", clusterId, "-c", configFile.toString(),
          "--ignore-formatted"}, ps);
    }
    Files.deleteIfExists(configFile);
    if (code != 0) {
      throw new IllegalStateException("formatting the Kafka storage failed: " + buffer.toString(StandardCharsets.UTF_8));
    }
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
