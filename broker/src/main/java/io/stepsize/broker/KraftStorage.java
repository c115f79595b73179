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
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import kafka.tools.StorageTool;

/** What every in-JVM KRaft node needs before it starts: formatted storage and free ports. */
final class KraftStorage {
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();

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

  /**
   * A port that is free now and that this JVM has not handed out before. The second rule matters:
   * a port just closed is often the kernel's next pick, so two calls in a row (a node's client and
   * controller listeners) could otherwise return the same port.
   */
  static int freePort() {
    for (int attempt = 0; attempt < 100; attempt++) {
      try (ServerSocket s = new ServerSocket(0)) {
        s.setReuseAddress(true);
        if (HANDED_OUT.add(s.getLocalPort())) {
          return s.getLocalPort();
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    throw new IllegalStateException("no free port found that was not handed out before");
  }

  /** Marks a port chosen elsewhere (a fixed listener port) as taken, so freePort never returns it. */
  static int reserve(int port) {
    HANDED_OUT.add(port);
    return port;
  }
}
