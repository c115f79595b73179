package io.stepsize.service.http;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.service.StepsizeNode;
import io.stepsize.service.security.Security;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An embedded node with HTTP on a free port and bearer tokens for two tenants, alice and bob, and
 * gRPC clients that send their token. gRPC runs in plaintext here: the tokens file does not need
 * TLS on the server, and the client's own token support insists on TLS, so the header is attached
 * by an interceptor.
 */
final class WebNode implements AutoCloseable {
  static final String ALICE = "token-alice";
  static final String BOB = "token-bob";

  final StepsizeNode node;
  final StepsizeClient alice;
  final StepsizeClient bob;
  private final ManagedChannel aliceChannel;
  private final ManagedChannel bobChannel;

  WebNode(Path dir) throws Exception {
    Path tokens = dir.resolve("tokens.properties");
    Files.writeString(tokens, ALICE + " = alice\n" + BOB + " = bob\n");
    node = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("data"))
        .withSecurity(new Security(null, null, null, tokens)).withHttpPort(0));
    if (!node.awaitServing(Duration.ofSeconds(60))) {
      throw new IllegalStateException("the node did not catch up within 60 s");
    }
    aliceChannel = channel(ALICE);
    bobChannel = channel(BOB);
    alice = StepsizeClient.of(aliceChannel, Duration.ofSeconds(10));
    bob = StepsizeClient.of(bobChannel, Duration.ofSeconds(10));
  }

  private ManagedChannel channel(String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return ManagedChannelBuilder.forTarget(node.target()).usePlaintext()
        .intercept(MetadataUtils.newAttachHeadersInterceptor(headers)).build();
  }

  String url(String path) {
    return "http://127.0.0.1:" + node.httpPort() + path;
  }

  static JobSpec job(String id, long totalSteps) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(totalSteps).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
  }

  /** A probe whose tridiagonal matrix has diagonal {@code scale·(1..m)} and off-diagonal 0.5. */
  static ProbeReport probe(String jobId, long step, double scale) {
    LanczosProbe.Builder l = LanczosProbe.newBuilder();
    for (int i = 0; i < 8; i++) {
      l.addAlpha(scale * (1.0 + i)).addBeta(0.5);
    }
    return ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId("w").setLanczos(l).build();
  }

  /** Gradient statistics (a probe's other payload): loss = 1 / scale and grad_norm = scale. */
  static ProbeReport stats(String jobId, long step, double scale) {
    return ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId("w")
        .setGradient(GradientStats.newBuilder().setLoss(1 / scale).setGradNorm(scale)).build();
  }

  @Override
  public void close() {
    alice.close();
    bob.close();
    aliceChannel.shutdownNow();
    bobChannel.shutdownNow();
    node.close();
  }
}
