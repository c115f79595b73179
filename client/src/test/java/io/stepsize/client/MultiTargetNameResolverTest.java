package io.stepsize.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Server;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCalls;
import io.grpc.stub.StreamObserver;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.StepsizeGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The stepsize:/// scheme over real gRPC servers on loopback: balancing, failover, health. */
@Timeout(120)
class MultiTargetNameResolverTest {
  /** A replica that answers GetJob with its own name and reports the health status it is told. */
  static final class Replica {
    final String name;
    final int port;
    final AtomicInteger health = new AtomicInteger(1); // SERVING
    Server server;

    Replica(String name, int port) {
      this.name = name;
      this.port = port;
    }

    Replica start() throws IOException {
      StepsizeGrpc.StepsizeImplBase api = new StepsizeGrpc.StepsizeImplBase() {
        @Override
        public void getJob(GetJobRequest request, StreamObserver<Job> out) {
          out.onNext(Job.newBuilder().setSpec(JobSpec.newBuilder().setJobId(name)).build());
          out.onCompleted();
        }
      };
      ServerServiceDefinition healthService = ServerServiceDefinition.builder("grpc.health.v1.Health")
          .addMethod(MultiTargetNameResolver.HEALTH_CHECK, ServerCalls.asyncUnaryCall((req, out) -> {
            out.onNext(new byte[] {0x08, (byte) health.get()});
            out.onCompleted();
          }))
          .build();
      server = NettyServerBuilder.forAddress(new InetSocketAddress("localhost", port)).addService(api)
          .addService(healthService).build().start();
      return this;
    }

    void kill() throws InterruptedException {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }

    String target() {
      return "localhost:" + port;
    }
  }

  private final List<Replica> replicas = new java.util.ArrayList<>();

  @AfterEach
  void stopAll() throws InterruptedException {
    for (Replica r : replicas) {
      if (r.server != null) {
        r.kill();
      }
    }
  }

  private Replica replica(String name) throws IOException {
    Replica r = new Replica(name, freePort()).start();
    replicas.add(r);
    return r;
  }

  private static Set<String> answersOf(StepsizeClient client, int calls) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < calls; i++) {
      seen.add(client.getJob("any").getSpec().getJobId());
    }
    return seen;
  }

  @Test
  void callsSpreadOverEveryReplicaAndSkipADeadOne() throws Exception {
    Replica a = replica("a");
    Replica b = replica("b");
    try (StepsizeClient client = StepsizeClient.connect(List.of(a.target(), b.target()), Duration.ofSeconds(20))) {
      // round_robin connects to both lazily; after the first calls both answer
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      Set<String> seen = new HashSet<>();
      while (seen.size() < 2 && System.nanoTime() < deadline) {
        seen.addAll(answersOf(client, 10));
      }
      assertThat(seen).containsExactlyInAnyOrder("a", "b");

      a.kill();
      // every call succeeds: one that met the dying replica is retried on the other
      assertThat(answersOf(client, 40)).containsExactly("b");

      // back on the same port: calls reach it again
      a.start();
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      seen.clear();
      while (!seen.contains("a") && System.nanoTime() < deadline) {
        seen.addAll(answersOf(client, 10));
        Thread.sleep(100);
      }
      assertThat(seen).contains("a");
    }
  }

  @Test
  void aReplicaThatIsNotServingGetsNoCallsUntilItIs() throws Exception {
    Replica a = replica("a");
    Replica b = replica("b");
    a.health.set(2); // NOT_SERVING: still loading its views
    try (StepsizeClient client = StepsizeClient.connect(List.of(a.target(), b.target()), Duration.ofSeconds(20))) {
      assertThat(answersOf(client, 30)).containsExactly("b");
      a.health.set(1);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      Set<String> seen = new HashSet<>();
      while (!seen.contains("a") && System.nanoTime() < deadline) {
        seen.addAll(answersOf(client, 10));
        Thread.sleep(100);
      }
      assertThat(seen).contains("a");
    }
  }

  @Test
  void aTargetThatNeverStartedIsSkipped() throws Exception {
    Replica b = replica("b");
    String nothing = "localhost:" + freePort();
    try (StepsizeClient client = StepsizeClient.connect(List.of(nothing, b.target()), Duration.ofSeconds(20))) {
      assertThat(answersOf(client, 20)).containsExactly("b");
    }
  }

  @Test
  void targetsAreCheckedAndParsed() {
    assertThat(MultiTargets.target(List.of("a:1", "b:2"))).isEqualTo("stepsize:///a:1,b:2");
    // registered, yet plain "host:port" targets still go to dns
    assertThat(io.grpc.NameResolverRegistry.getDefaultRegistry().asFactory().getDefaultScheme()).isEqualTo("dns");
    assertThat(MultiTargets.parse("a:1, [::1]:2", -1))
        .containsExactly(new MultiTargets.HostPort("a", 1), new MultiTargets.HostPort("::1", 2));
    assertThat(MultiTargets.parse("a", 50051)).containsExactly(new MultiTargets.HostPort("a", 50051));
    assertThatThrownBy(() -> MultiTargets.target(List.of())).hasMessageContaining("at least one");
    assertThatThrownBy(() -> MultiTargets.target(List.of("a:0"))).hasMessageContaining("port must be in [1, 65535]");
    assertThatThrownBy(() -> MultiTargets.target(List.of("a"))).hasMessageContaining("must be host:port");
    assertThatThrownBy(() -> StepsizeClient.connect("stepsize:///a:1?nope=1", Duration.ofSeconds(1)).getJob("x"))
        .hasStackTraceContaining("unknown parameter 'nope=1'");
  }

  @Test
  void theHealthStatusIsReadFromItsFieldWhateverElseTheMessageCarries() {
    assertThat(MultiTargetNameResolver.servingStatus(new byte[] {0x08, 0x01})).isEqualTo(1);
    assertThat(MultiTargetNameResolver.servingStatus(new byte[] {0x08, 0x02})).isEqualTo(2);
    assertThat(MultiTargetNameResolver.servingStatus(new byte[0])).isZero();
    // an unknown length-delimited field 2 ("ab") before the status
    assertThat(MultiTargetNameResolver.servingStatus(new byte[] {0x12, 0x02, 'a', 'b', 0x08, 0x01})).isEqualTo(1);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
