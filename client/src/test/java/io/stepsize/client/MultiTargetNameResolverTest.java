package io.stepsize.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.TlsServerCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.stub.StreamObserver;
import io.grpc.testing.TlsTesting;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.StepsizeGrpc;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stepsize:/// scheme over real gRPC servers on loopback: balancing, failover, and gRPC's
 * client-side health checking against grpc-services' real health service, in plaintext and over
 * mutual TLS with a bearer token.
 */
@Timeout(120)
class MultiTargetNameResolverTest {
  private static final String TOKEN = "s3cret";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  /**
   * A replica that answers GetJob with its own name, with the real health service of grpc-services
   * ({@link HealthStatusManager}) reporting the status it is told, and optionally TLS credentials
   * plus a bearer-token check in front of both services.
   */
  static final class Replica {
    final String name;
    final int port;
    final ServerCredentials credentials;
    final boolean requireToken;
    final AtomicInteger getJobCalls = new AtomicInteger();
    /** Method name -> calls that carried the right token (only counted with requireToken). */
    final Map<String, AtomicInteger> authorized = new ConcurrentHashMap<>();
    HealthStatusManager health;
    Server server;

    Replica(String name, int port, ServerCredentials credentials, boolean requireToken) {
      this.name = name;
      this.port = port;
      this.credentials = credentials;
      this.requireToken = requireToken;
    }

    Replica start(ServingStatus status) throws IOException {
      StepsizeGrpc.StepsizeImplBase api = new StepsizeGrpc.StepsizeImplBase() {
        @Override
        public void getJob(GetJobRequest request, StreamObserver<Job> out) {
          getJobCalls.incrementAndGet();
          out.onNext(Job.newBuilder().setSpec(JobSpec.newBuilder().setJobId(name)).build());
          out.onCompleted();
        }
      };
      health = new HealthStatusManager();
      setHealth(status);
      var builder = Grpc.newServerBuilderForPort(port, credentials);
      if (requireToken) {
        builder.addService(ServerInterceptors.intercept(api, new TokenCheck()))
            .addService(ServerInterceptors.intercept(health.getHealthService(), new TokenCheck()));
      } else {
        builder.addService(api).addService(health.getHealthService());
      }
      server = builder.build().start();
      return this;
    }

    void setHealth(ServingStatus status) {
      health.setStatus(StepsizeGrpc.SERVICE_NAME, status);
    }

    void kill() throws InterruptedException {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }

    String target() {
      return "localhost:" + port;
    }

    /** Rejects a call without {@code authorization: Bearer TOKEN}; counts the accepted ones. */
    final class TokenCheck implements ServerInterceptor {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
          ServerCallHandler<Q, R> next) {
        if (!("Bearer " + TOKEN).equals(headers.get(AUTHORIZATION))) {
          call.close(Status.UNAUTHENTICATED.withDescription("no token"), new Metadata());
          return new ServerCall.Listener<>() {};
        }
        authorized.computeIfAbsent(call.getMethodDescriptor().getFullMethodName(), k -> new AtomicInteger())
            .incrementAndGet();
        return next.startCall(call, headers);
      }
    }
  }

  private final List<Replica> replicas = new ArrayList<>();

  @AfterEach
  void stopAll() throws InterruptedException {
    for (Replica r : replicas) {
      if (r.server != null) {
        r.kill();
      }
    }
  }

  private Replica replica(String name, ServingStatus status) throws IOException {
    return replica(new Replica(name, freePort(), io.grpc.InsecureServerCredentials.create(), false), status);
  }

  private Replica replica(Replica r, ServingStatus status) throws IOException {
    replicas.add(r);
    return r.start(status);
  }

  private static Set<String> answersOf(StepsizeClient client, int calls) {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < calls; i++) {
      seen.add(client.getJob("any").getSpec().getJobId());
    }
    return seen;
  }

  /** Calls until {@code name} answers; round_robin adds a replica once its health says SERVING. */
  private static Set<String> awaitAnswerFrom(StepsizeClient client, String name) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    Set<String> seen = new HashSet<>();
    while (!seen.contains(name) && System.nanoTime() < deadline) {
      seen.addAll(answersOf(client, 10));
      Thread.sleep(50);
    }
    return seen;
  }

  @Test
  void callsSpreadOverEveryReplicaAndSkipADeadOne() throws Exception {
    Replica a = replica("a", ServingStatus.SERVING);
    Replica b = replica("b", ServingStatus.SERVING);
    try (StepsizeClient client = StepsizeClient.connect(List.of(a.target(), b.target()), Duration.ofSeconds(20))) {
      // round_robin connects to both; each joins once its health stream has said SERVING
      Set<String> seen = awaitAnswerFrom(client, "a");
      seen.addAll(awaitAnswerFrom(client, "b"));
      assertThat(seen).containsExactlyInAnyOrder("a", "b");

      a.kill();
      // every call succeeds: one that met the dying replica is retried on the other
      assertThat(answersOf(client, 40)).containsExactly("b");

      // back on the same port: calls reach it again
      a.start(ServingStatus.SERVING);
      assertThat(awaitAnswerFrom(client, "a")).contains("a");
    }
  }

  @Test
  void aReplicaThatIsNotServingGetsNoCallsUntilItIs() throws Exception {
    Replica a = replica("a", ServingStatus.NOT_SERVING); // still loading its views
    Replica b = replica("b", ServingStatus.SERVING);
    try (StepsizeClient client = StepsizeClient.connect(List.of(a.target(), b.target()), Duration.ofSeconds(20))) {
      assertThat(answersOf(client, 30)).containsExactly("b");
      assertThat(a.getJobCalls).hasValue(0);

      a.setHealth(ServingStatus.SERVING); // pushed down the Watch stream: no polling period to wait
      assertThat(awaitAnswerFrom(client, "a")).contains("a");

      // and out again as soon as it says NOT_SERVING (e.g. shutting down)
      a.setHealth(ServingStatus.NOT_SERVING);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (!answersOf(client, 30).equals(Set.of("b"))) {
        assertThat(System.nanoTime()).as("replica a leaves the rotation").isLessThan(deadline);
        Thread.sleep(50);
      }
      int before = a.getJobCalls.get();
      assertThat(answersOf(client, 30)).containsExactly("b");
      assertThat(a.getJobCalls).hasValue(before);
    }
  }

  @Test
  void aTargetThatNeverStartedIsSkipped() throws Exception {
    Replica b = replica("b", ServingStatus.SERVING);
    String nothing = "localhost:" + freePort();
    try (StepsizeClient client = StepsizeClient.connect(List.of(nothing, b.target()), Duration.ofSeconds(20))) {
      assertThat(answersOf(client, 20)).containsExactly("b");
    }
  }

  @Test
  void noServingReplicaFailsUnavailableWithTheHealthStatus() throws Exception {
    Replica a = replica("a", ServingStatus.NOT_SERVING);
    try (StepsizeClient client = StepsizeClient.connect(List.of(a.target()), Duration.ofSeconds(20))) {
      assertThatThrownBy(() -> client.getJob("any"))
          .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.UNAVAILABLE))
          .hasMessageContaining("NOT_SERVING");
      assertThat(a.getJobCalls).hasValue(0);
    }
  }

  /**
   * Mutual TLS and a bearer token on both replicas, the token checked on the health service too:
   * the health checks can only pass (and the SERVING replica only get calls) if they travel on the
   * channel's own TLS connection with its call credentials. A NOT_SERVING replica still gets none.
   */
  @Test
  void healthChecksGoOverTheChannelsMutualTlsWithTheToken(@TempDir Path dir) throws Exception {
    Path ca = copy("ca.pem", dir);
    Path clientCert = copy("client.pem", dir);
    Path clientKey = copy("client.key", dir);
    ServerCredentials tls;
    try (InputStream cert = TlsTesting.loadCert("server1.pem"); InputStream key = TlsTesting.loadCert("server1.key");
         InputStream trust = TlsTesting.loadCert("ca.pem")) {
      tls = TlsServerCredentials.newBuilder().keyManager(cert, key).trustManager(trust)
          .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE).build();
    }
    Replica a = replica(new Replica("a", freePort(), tls, true), ServingStatus.NOT_SERVING);
    Replica b = replica(new Replica("b", freePort(), tls, true), ServingStatus.SERVING);
    ClientSecurity security = ClientSecurity.tls(ca).withClientCertificate(clientCert, clientKey)
        .withBearerToken(TOKEN).withAuthority("foo.test.google.fr");
    String watch = "grpc.health.v1.Health/Watch";
    try (StepsizeClient client = StepsizeClient.connect(List.of(a.target(), b.target()), Duration.ofSeconds(20),
        security)) {
      assertThat(answersOf(client, 30)).containsExactly("b");
      assertThat(a.getJobCalls).hasValue(0);
      // both health streams were accepted: TLS handshake with the client certificate, and the token
      assertThat(a.authorized.get(watch)).isNotNull().hasPositiveValue();
      assertThat(b.authorized.get(watch)).isNotNull().hasPositiveValue();

      a.setHealth(ServingStatus.SERVING);
      assertThat(awaitAnswerFrom(client, "a")).contains("a");
    }

    // the same replicas through a channel without the token: the health streams are refused, so
    // (a health check that fails counts as not serving) no replica is ever picked
    ClientSecurity noToken = ClientSecurity.tls(ca).withClientCertificate(clientCert, clientKey)
        .withAuthority("foo.test.google.fr");
    try (StepsizeClient client = StepsizeClient.connect(List.of(a.target(), b.target()), Duration.ofSeconds(20),
        noToken)) {
      int before = a.getJobCalls.get() + b.getJobCalls.get();
      assertThatThrownBy(() -> client.getJob("any"))
          .satisfies(e -> assertThat(Status.fromThrowable(e).getCode()).isEqualTo(Status.Code.UNAVAILABLE));
      assertThat(a.getJobCalls.get() + b.getJobCalls.get()).isEqualTo(before);
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
    // the old polling period is gone: health checking is the service config's, not the target's
    assertThatThrownBy(() -> StepsizeClient.connect("stepsize:///a:1?health=0", Duration.ofSeconds(1)).getJob("x"))
        .hasStackTraceContaining("unknown parameter 'health=0'");
    @SuppressWarnings("unchecked")
    Map<String, Object> healthCheck = (Map<String, Object>) MultiTargets.serviceConfig().get("healthCheckConfig");
    assertThat(healthCheck).containsExactly(Map.entry("serviceName", "stepsize.v1.Stepsize"));
  }

  /**
   * Every listed replica is published, each with its own host:port as authority (so its TLS
   * certificate is checked against its own name), unless the channel overrides the authority.
   */
  @Test
  void everyReplicaIsPublishedWithItsOwnAuthorityUnlessTheChannelOverridesIt() throws Exception {
    String target = "stepsize:///127.0.0.1:7001,localhost:7002";
    assertThat(resolve(target, null)).containsExactly(
        Map.entry(new InetSocketAddress("127.0.0.1", 7001), "127.0.0.1:7001"),
        Map.entry(new InetSocketAddress("localhost", 7002), "localhost:7002"));
    // IPv6 literals: the target is a valid URI (gRPC parses it as one) and each replica keeps its port
    String v6 = MultiTargets.target(List.of("[::1]:7003", "127.0.0.1:7004"));
    assertThat(v6).isEqualTo("stepsize:///%5B::1%5D:7003,127.0.0.1:7004");
    assertThat(resolve(v6, null)).containsExactly(
        Map.entry(new InetSocketAddress("::1", 7003), "[::1]:7003"),
        Map.entry(new InetSocketAddress("127.0.0.1", 7004), "127.0.0.1:7004"));
    Map<InetSocketAddress, String> overridden = resolve(target, "foo.test.google.fr");
    assertThat(overridden).hasSize(2);
    assertThat(overridden.values()).containsOnlyNulls();
  }

  /** Address -> its authority attribute, as the stepsize resolver publishes them. */
  private static Map<InetSocketAddress, String> resolve(String target, String overrideAuthority) throws Exception {
    io.grpc.NameResolver.Args.Builder args = io.grpc.NameResolver.Args.newBuilder()
        .setDefaultPort(443)
        .setProxyDetector(address -> null)
        .setSynchronizationContext(new io.grpc.SynchronizationContext((t, e) -> { throw new AssertionError(e); }))
        .setServiceConfigParser(new io.grpc.NameResolver.ServiceConfigParser() {
          @Override
          public io.grpc.NameResolver.ConfigOrError parseServiceConfig(Map<String, ?> rawServiceConfig) {
            return io.grpc.NameResolver.ConfigOrError.fromConfig(rawServiceConfig);
          }
        });
    if (overrideAuthority != null) {
      args.setOverrideAuthority(overrideAuthority);
    }
    io.grpc.NameResolver resolver = new MultiTargetNameResolverProvider()
        .newNameResolver(java.net.URI.create(target), args.build());
    Map<InetSocketAddress, String> out = new java.util.LinkedHashMap<>();
    resolver.start(new io.grpc.NameResolver.Listener2() {
      @Override
      public void onResult(io.grpc.NameResolver.ResolutionResult result) {
        for (io.grpc.EquivalentAddressGroup g : result.getAddressesOrError().getValue()) {
          assertThat(g.getAddresses()).hasSize(1);
          out.put((InetSocketAddress) g.getAddresses().get(0),
              g.getAttributes().get(io.grpc.EquivalentAddressGroup.ATTR_AUTHORITY_OVERRIDE));
        }
      }

      @Override
      public void onError(Status error) {
        throw new AssertionError(error);
      }
    });
    resolver.shutdown();
    return out;
  }

  private static Path copy(String name, Path dir) throws IOException {
    Path out = dir.resolve(name);
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.copy(in, out);
    }
    return out;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }
}
