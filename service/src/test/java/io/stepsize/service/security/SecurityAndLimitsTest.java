package io.stepsize.service.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.testing.TlsTesting;
import io.stepsize.client.ClientSecurity;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.service.StepsizeNode;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One replica with mutual TLS, bearer tokens for two tenants, tight limits and metrics, over real
 * gRPC on loopback against the embedded broker. The certificates are grpc-java's test set
 * (grpc-testing): server1 is valid for *.test.google.fr, signed by ca.pem, as is the client's.
 */
class SecurityAndLimitsTest {
  private static final String AUTHORITY = "foo.test.google.fr";
  @TempDir static Path dir;
  static StepsizeNode node;
  static Path ca;
  static Path clientCert;
  static Path clientKey;
  static StepsizeClient alice;
  static StepsizeClient bob;

  @BeforeAll
  static void start() throws Exception {
    Path certs = Files.createDirectories(dir.resolve("certs"));
    ca = copy("ca.pem", certs);
    clientCert = copy("client.pem", certs);
    clientKey = copy("client.key", certs);
    Path tokens = certs.resolve("tokens.properties");
    Files.writeString(tokens, "token-alice = alice\ntoken-bob = bob\n");
    Security security = new Security(copy("server1.pem", certs), copy("server1.key", certs), ca, tokens);
    Limits limits = new Limits(64 * 1024, 50, 100, 20);
    node = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("data"))
        .withSecurity(security).withLimits(limits).withMetricsPort(0));
    assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
    alice = client("token-alice");
    bob = client("token-bob");
  }

  @AfterAll
  static void stop() {
    alice.close();
    bob.close();
    node.close();
  }

  private static Path copy(String name, Path to) throws Exception {
    Path file = to.resolve(name);
    try (InputStream in = TlsTesting.loadCert(name)) {
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
    }
    return file;
  }

  private static ClientSecurity mutualTls() {
    return ClientSecurity.tls(ca).withClientCertificate(clientCert, clientKey).withAuthority(AUTHORITY);
  }

  private static StepsizeClient client(String token) {
    return StepsizeClient.connect(node.target(), Duration.ofSeconds(10), mutualTls().withBearerToken(token));
  }

  private static JobSpec job(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(1000).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
  }

  private static ProbeReport probe(String jobId, int m) {
    LanczosProbe.Builder l = LanczosProbe.newBuilder();
    for (int i = 0; i < m; i++) {
      l.addAlpha(1.0 + i).addBeta(0.5);
    }
    return ProbeReport.newBuilder().setJobId(jobId).setStep(10).setWorkerId("w").setLanczos(l).build();
  }

  private static void assertStatus(Runnable call, Status.Code code, String message) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      if (message != null) {
        assertThat(e.getStatus().getDescription()).isEqualTo(message);
      }
    });
  }

  @Test
  void aTenantCannotReadOrWriteAnotherTenantsJobNorTellItFromAnUnknownOne() {
    alice.createJob(job("alice-1"));
    assertThat(alice.learningRate("alice-1", 10).getLr()).isPositive();
    String unknown = "job_id: no job 'alice-1'";
    assertStatus(() -> bob.learningRate("alice-1", 10), Status.Code.NOT_FOUND, unknown);
    assertStatus(() -> bob.learningRates("alice-1", 0, 10), Status.Code.NOT_FOUND, unknown);
    assertStatus(() -> bob.getJob("alice-1"), Status.Code.NOT_FOUND, unknown);
    assertStatus(() -> bob.curvature("alice-1"), Status.Code.NOT_FOUND, unknown);
    assertStatus(() -> bob.getJob("alice-0"), Status.Code.NOT_FOUND, "job_id: no job 'alice-0'");
    assertStatus(() -> bob.createJob(job("alice-1")), Status.Code.ALREADY_EXISTS,
        "job_id: job 'alice-1' is taken; use a new job_id");
    assertStatus(() -> bob.reportProbes(List.of(probe("alice-1", 5))), Status.Code.INVALID_ARGUMENT,
        "probes[0]." + unknown);
    // a probe outside alice's job is refused for the step to the owner only: the range stays hidden
    ProbeReport pastTheEnd = probe("alice-1", 5).toBuilder().setStep(5_000).build(); // alice-1 has 1,000 steps
    assertStatus(() -> alice.reportProbes(List.of(pastTheEnd)), Status.Code.INVALID_ARGUMENT,
        "probes[0].step: must be in [0, total_steps = 1000) (got 5000)");
    assertStatus(() -> bob.reportProbes(List.of(pastTheEnd)), Status.Code.INVALID_ARGUMENT, "probes[0]." + unknown);
    // bob's own job is his, and alice cannot see it either; a mixed request names the foreign probe
    bob.createJob(job("bob-1"));
    assertThat(bob.reportProbes(List.of(probe("bob-1", 5)))).isEqualTo(1);
    assertStatus(() -> bob.reportProbes(List.of(probe("bob-1", 5), probe("alice-1", 5))), Status.Code.INVALID_ARGUMENT,
        "probes[1]." + unknown);
    assertStatus(() -> alice.learningRate("bob-1", 0), Status.Code.NOT_FOUND, "job_id: no job 'bob-1'");
    // alice's job is still hers, unchanged, after bob's attempts
    assertThat(alice.getJob("alice-1").getSpec()).isEqualTo(job("alice-1"));
  }

  @Test
  void callsWithoutAValidTokenAreUnauthenticated() {
    alice.createJob(job("alice-2"));
    try (StepsizeClient anonymous = StepsizeClient.connect(node.target(), Duration.ofSeconds(10), mutualTls());
        StepsizeClient forged = client("token-mallory")) {
      assertStatus(() -> anonymous.learningRate("alice-2", 0), Status.Code.UNAUTHENTICATED,
          "authorization: a bearer token is required (header 'authorization: Bearer <token>')");
      assertStatus(() -> forged.learningRate("alice-2", 0), Status.Code.UNAUTHENTICATED,
          "authorization: unknown bearer token");
    }
  }

  @Test
  void mutualTlsRefusesClientsWithoutACertificateAndHealthNeedsNoToken() throws Exception {
    ClientSecurity noCertificate = ClientSecurity.tls(ca).withAuthority(AUTHORITY).withBearerToken("token-alice");
    try (StepsizeClient c = StepsizeClient.connect(node.target(), Duration.ofSeconds(5), noCertificate)) {
      assertStatus(() -> c.learningRate("x", 0), Status.Code.UNAVAILABLE, null);
    }
    try (StepsizeClient plaintext = StepsizeClient.connect(node.target(), Duration.ofSeconds(5))) {
      assertStatus(() -> plaintext.learningRate("x", 0), Status.Code.UNAVAILABLE, null);
    }
    ManagedChannel channel = Grpc.newChannelBuilder(node.target(), TlsChannelCredentials.newBuilder()
        .trustManager(ca.toFile()).keyManager(clientCert.toFile(), clientKey.toFile()).build())
        .overrideAuthority(AUTHORITY).build();
    try {
      assertThat(HealthGrpc.newBlockingStub(channel).withDeadlineAfter(5, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus()).isEqualTo(ServingStatus.SERVING);
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void limitsOnWindowProbeSizeAndMessageSize() {
    alice.createJob(job("alice-3"));
    assertThat(alice.learningRates("alice-3", 0, 100).getRatesCount()).isEqualTo(100);
    assertStatus(() -> alice.learningRates("alice-3", 0, 101), Status.Code.INVALID_ARGUMENT,
        "count: must be in [1, 100] (got 101)");
    assertStatus(() -> alice.reportProbes(List.of(probe("alice-3", 60))), Status.Code.INVALID_ARGUMENT,
        "probes[0].lanczos: m must be <= 50 on this service (got m = 60)");
    // 40 probes of m = 50 weigh about 40 kB; 100 of them exceed the 64 KiB message limit
    List<ProbeReport> many = Collections.nCopies(100, probe("alice-3", 50));
    assertStatus(() -> alice.reportProbes(many), Status.Code.RESOURCE_EXHAUSTED, null);
  }

  @Test
  void requestRatePerJobIsLimitedAndOtherJobsAreNotAffected() {
    alice.createJob(job("alice-hot"));
    alice.createJob(job("alice-cold"));
    List<Status.Code> codes = new ArrayList<>();
    String refusal = null;
    for (int i = 0; i < 100; i++) {
      try {
        alice.learningRate("alice-hot", i);
        codes.add(Status.Code.OK);
      } catch (StatusRuntimeException e) {
        codes.add(e.getStatus().getCode());
        refusal = e.getStatus().getDescription();
      }
    }
    assertThat(codes).contains(Status.Code.OK, Status.Code.RESOURCE_EXHAUSTED)
        .containsOnly(Status.Code.OK, Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refusal).isEqualTo("job_id: more than 20 requests/s for job 'alice-hot'; retry later");
    // the limit is per job: another job of the same tenant still answers at once
    assertThat(alice.learningRate("alice-cold", 0).getLr()).isPositive();
  }

  @Test
  void metricsExposeLatencyProbesAndBoundedPerJobSeries() throws Exception {
    alice.createJob(job("alice-m"));
    alice.learningRate("alice-m", 1);
    String notFound = "stepsize_grpc_request_seconds_count{code=\"NOT_FOUND\",method=\"GetLearningRate\"}";
    double notFoundBefore = scrape().contains(notFound + " ") ? gauge(scrape(), notFound) : 0; // other tests count too
    assertStatus(() -> bob.learningRate("alice-m", 1), Status.Code.NOT_FOUND, null);
    assertThat(alice.reportProbes(List.of(probe("alice-m", 5)))).isEqualTo(1);
    await().atMost(Duration.ofSeconds(30)).until(() -> alice.curvature("alice-m").getProbes() > 0);
    double kappa = alice.curvature("alice-m").getKappa();
    String body = scrape();
    assertThat(body).contains("stepsize_grpc_request_seconds_count{code=\"OK\",method=\"GetLearningRate\"}")
        .contains("stepsize_probes_reported_total ")
        .containsPattern("stepsize_jobs \\d");
    assertThat(gauge(body, notFound)).isEqualTo(notFoundBefore + 1);
    // the per-job gauges carry the estimate the service serves (fixed phi 5 for this job)
    await().atMost(Duration.ofSeconds(10)).until(() -> scrape().contains("stepsize_job_kappa{job_id=\"alice-m\"}"));
    body = scrape();
    assertThat(gauge(body, "stepsize_job_kappa{job_id=\"alice-m\"}")).isEqualTo(kappa);
    assertThat(gauge(body, "stepsize_job_phi{job_id=\"alice-m\"}")).isEqualTo(5.0);
    assertThat(gauge(body, "stepsize_estimate_lag_seconds_count")).isGreaterThanOrEqualTo(1.0);
  }

  private static String scrape() throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
        URI.create("http://localhost:" + node.metricsPort() + "/metrics")).build(),
        HttpResponse.BodyHandlers.ofString()).body();
  }

  private static double gauge(String body, String series) {
    return body.lines().filter(l -> l.startsWith(series + " ")).findFirst()
        .map(l -> Double.parseDouble(l.substring(series.length() + 1).trim()))
        .orElseThrow(() -> new AssertionError("no series " + series));
  }
}
