package io.stepsize.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.broker.EmbeddedKafka;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.SocketException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a node listens (DESIGN.md §5.1 --bind-address): by default gRPC and metrics accept
 * connections on loopback only, not on the machine's other addresses; with 0.0.0.0 they accept
 * them there too. Two nodes share one broker and run no estimator: only the sockets matter here.
 */
class BindAddressTest {
  @TempDir static Path dir;
  static EmbeddedKafka kafka;

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start(dir.resolve("broker"), 0);
  }

  @AfterAll
  static void stopBroker() {
    if (kafka != null) {
      kafka.close();
    }
  }

  /** An IPv4 address of an interface that is up and not loopback, if the machine has one. */
  private static Optional<InetAddress> nonLoopbackAddress() throws SocketException {
    for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nif.isUp() || nif.isLoopback()) {
        continue;
      }
      for (InetAddress a : Collections.list(nif.getInetAddresses())) {
        if (a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress()) {
          return Optional.of(a);
        }
      }
    }
    return Optional.empty();
  }

  private static void connect(InetAddress address, int port) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(address, port), 2_000);
    }
  }

  private StepsizeNode node(String name) {
    StepsizeNode.Config config = StepsizeNode.Config.embedded(dir.resolve(name))
        .withBootstrapServers(kafka.bootstrapServers()).withRunEstimator(false).withMetricsPort(0);
    return StepsizeNode.start(name.equals("default") ? config : config.withBindAddress(name));
  }

  @Test
  void theDefaultListensOnLoopbackOnlyAndBindAddressOpensTheOtherAddresses() throws Exception {
    Optional<InetAddress> other = nonLoopbackAddress();
    Assumptions.assumeTrue(other.isPresent(), "this machine has no non-loopback IPv4 address");
    InetAddress loopback = InetAddress.getByName("127.0.0.1");
    try (StepsizeNode node = node("default")) {
      assertThat(node.target()).isEqualTo("127.0.0.1:" + node.grpcPort());
      connect(loopback, node.grpcPort());
      connect(loopback, node.metricsPort());
      assertThatThrownBy(() -> connect(other.get(), node.grpcPort())).isInstanceOf(IOException.class);
      assertThatThrownBy(() -> connect(other.get(), node.metricsPort())).isInstanceOf(IOException.class);
    }
    try (StepsizeNode node = node("0.0.0.0")) {
      assertThat(node.target()).isEqualTo("localhost:" + node.grpcPort());
      connect(other.get(), node.grpcPort());
      connect(other.get(), node.metricsPort());
      connect(loopback, node.grpcPort());
    }
  }
}
