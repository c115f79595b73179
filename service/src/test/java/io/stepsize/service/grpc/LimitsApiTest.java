package io.stepsize.service.grpc;

import static io.stepsize.service.grpc.InProcessApi.expect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.grpc.stub.StreamObserver;
import io.stepsize.proto.v1.CreateJobRequest;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ParamGroup;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ReportProbesRequest;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.stepsize.proto.v1.StepsizeGrpc.StepsizeBlockingStub;
import io.stepsize.service.core.Intake;
import io.stepsize.service.core.Jobs;
import io.stepsize.service.core.Queries;
import io.stepsize.service.security.AuthInterceptor;
import io.stepsize.service.security.Limits;
import io.stepsize.service.security.TenantRateInterceptor;
import io.stepsize.service.security.Tenants;
import io.stepsize.service.view.LocalViews;
import io.stepsize.wire.Topics;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The bounds of docs/SECURITY.md (Limits) and the validation of issue 12 over gRPC, with exact codes
 * and messages: sizes refused before anything is published, windows bounded in numbers and in
 * number, jobs and requests bounded per tenant, and probes the estimator would dead-letter refused
 * up front. In-process like {@link InProcessApiTest}; the overload test runs over loopback Netty,
 * where answers are real bytes.
 */
class LimitsApiTest {
  private LocalViews views;
  private MockProducer<String, byte[]> producer;
  private Queries queries;
  private StepsizeServer server;
  private ManagedChannel channel;
  private StepsizeBlockingStub alice;
  private StepsizeBlockingStub bob;

  private void start(Limits limits) {
    views = new LocalViews();
    views.markCaughtUp();
    producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    Jobs jobs = new Jobs(views, limits);
    queries = new Queries(jobs);
    StepsizeGrpcService service = new StepsizeGrpcService(queries, new Intake(jobs, producer, Topics.unprefixed()),
        n -> {});
    String name = InProcessServerBuilder.generateName();
    Tenants tenants = Tenants.of(Map.of("token-alice", "alice", "token-bob", "bob"));
    List<ServerInterceptor> interceptors = new ArrayList<>(List.of(new AuthInterceptor(tenants)));
    if (limits.requestsPerSecondPerTenant() > 0) {
      interceptors.add(new TenantRateInterceptor(limits.requestsPerSecondPerTenant()));
    }
    server = new StepsizeServer(InProcessServerBuilder.forName(name).directExecutor(), service, interceptors).start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    alice = stub(channel, "token-alice");
    bob = stub(channel, "token-bob");
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (server != null) {
      server.close();
    }
  }

  private static StepsizeBlockingStub stub(ManagedChannel channel, String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return StepsizeGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  private static JobSpec.Builder job(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5)));
  }

  /** A job of {@code groups} named groups. */
  private static JobSpec.Builder withGroups(JobSpec.Builder spec, int groups) {
    for (int g = 0; g < groups; g++) {
      spec.addGroups(ParamGroup.newBuilder().setName("g" + g).setLrMax(0.1).setLrMin(0.001));
    }
    return spec;
  }

  private static ProbeReport lanczos(String jobId, long step) {
    return ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId("w0")
        .setLanczos(LanczosProbe.newBuilder().addAlpha(2).addAlpha(8).addBeta(0.5).addBeta(0)).build();
  }

  private static Job create(StepsizeBlockingStub s, JobSpec spec) {
    return s.createJob(CreateJobRequest.newBuilder().setSpec(spec).build());
  }

  private static long report(StepsizeBlockingStub s, ProbeReport... probes) {
    return s.reportProbes(ReportProbesRequest.newBuilder().addAllProbes(List.of(probes)).build()).getAccepted();
  }

  private static LearningRates rates(StepsizeBlockingStub s, String jobId, long from, long count) {
    return s.getLearningRates(GetLearningRatesRequest.newBuilder().setJobId(jobId).setFromStep(from).setCount(count)
        .build());
  }


  // --- item 7: sizes validated before publishing, INVALID_ARGUMENT naming the field and its limit ----

  @Test
  void oversizeIdsAndSpecsAreInvalidArgumentsNamingTheFieldAndItsLimit() {
    start(Limits.DEFAULT);
    expect(() -> create(alice, job("j".repeat(1_000_000)).build()), Status.Code.INVALID_ARGUMENT,
        "spec.job_id: must be at most 128 characters (got 1000000)");
    expect(() -> create(alice, withGroups(job("many"), 100_000).build()), Status.Code.INVALID_ARGUMENT,
        "spec.groups: must have at most 1000 groups on this service (got 100000)");
    // within the groups, over the bytes: long names
    JobSpec.Builder wordy = job("wordy");
    for (int g = 0; g < 600; g++) {
      wordy.addGroups(ParamGroup.newBuilder().setName(g + "-" + "n".repeat(120)).setLrMax(0.1));
    }
    int bytes = wordy.build().getSerializedSize();
    assertThat(bytes).isGreaterThan(65_536);
    expect(() -> create(alice, wordy.build()), Status.Code.INVALID_ARGUMENT,
        "spec: must serialize to at most 65536 bytes on this service (got " + bytes + ")");
    assertThat(create(alice, withGroups(job("most"), 1000).build()).getSpec().getGroupsCount()).isEqualTo(1000);

    create(alice, job("alice-1").build());
    ProbeReport wideWorker = lanczos("alice-1", 1).toBuilder().setWorkerId("w".repeat(3_900_000)).build();
    expect(() -> report(alice, lanczos("alice-1", 1), wideWorker), Status.Code.INVALID_ARGUMENT,
        "probes[1].worker_id: must be at most 128 characters (got 3900000)");
    // the produced records: the two valid jobs only
    assertThat(producer.history()).extracting(r -> r.key()).containsExactly("most", "alice-1");
  }

  // --- item 8: total_steps bounded, window arithmetic safe ------------------------------------------

  @Test
  void totalStepsIsBoundedTo2To53AndAWindowAtTheEndStopsThere() {
    start(Limits.DEFAULT);
    expect(() -> create(alice, job("huge").setTotalSteps(Long.MAX_VALUE).build()), Status.Code.INVALID_ARGUMENT,
        "spec.total_steps: must be <= 2^53 = 9007199254740992, where a double still counts steps exactly "
            + "(got 9223372036854775807)");
    long t = 1L << 53;
    create(alice, job("longest").setTotalSteps(t).build());
    LearningRates end = rates(alice, "longest", t - 10, 100);
    assertThat(end.getRatesList()).extracting(LearningRate::getStep)
        .containsExactly(t - 10, t - 9, t - 8, t - 7, t - 6, t - 5, t - 4, t - 3, t - 2, t - 1);
    assertThat(end.getRates(9).getLr()).isBetween(0.001, 0.0011);
  }

  // --- item 6: a window is bounded in numbers, and in number ----------------------------------------

  @Test
  void aWindowOfAJobWithManyGroupsAnswersFewerRates() {
    start(Limits.DEFAULT);
    views.putJob(withGroups(job("wide").setTotalSteps(1_000_000), 100).build(), "alice");
    views.putJob(job("narrow").setTotalSteps(1_000_000).build(), "alice");
    // 1,000,000 numbers: 10,000 rates of 100 groups, from where the window starts
    LearningRates wide = rates(alice, "wide", 5, 100_000);
    assertThat(wide.getRatesCount()).isEqualTo(10_000);
    assertThat(wide.getRates(0).getStep()).isEqualTo(5);
    assertThat(wide.getRates(9_999).getStep()).isEqualTo(10_004);
    assertThat(wide.getRates(0).getGroupLrsCount()).isEqualTo(100);
    assertThat(rates(alice, "wide", 0, 7).getRatesCount()).isEqualTo(7);
    // a job of 10^4 groups (written to the topic under other limits; CreateJob here refuses it):
    // 100 rates per window, not the 10^9 numbers that took the heap
    views.putJob(withGroups(job("widest").setTotalSteps(1_000_000), 10_000).build(), "alice");
    LearningRates widest = rates(alice, "widest", 0, 100_000);
    assertThat(widest.getRatesCount()).isEqualTo(100);
    assertThat(widest.getRates(99).getGroupLrsCount()).isEqualTo(10_000);
    // a job without groups counts one number per rate
    assertThat(rates(alice, "narrow", 0, 100_000).getRatesCount()).isEqualTo(100_000);
  }

  @Test
  void aWindowBeyondTheReplicasConcurrentWindowsIsResourceExhausted() {
    start(Limits.DEFAULT);
    views.putJob(job("alice-1").build(), "alice");
    List<Runnable> held = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      held.add(queries.enterWindow());
    }
    expect(() -> rates(alice, "alice-1", 0, 10), Status.Code.RESOURCE_EXHAUSTED,
        "GetLearningRates: this replica is serving its limit of 8 windows at once; retry later");
    held.get(0).run();
    held.get(0).run(); // releasing twice frees one permit, not two
    assertThat(rates(alice, "alice-1", 0, 10).getRatesCount()).isEqualTo(10);
    // the answered window gave its permit back; the one freed is free again, and only it
    held.add(queries.enterWindow());
    expect(() -> rates(alice, "alice-1", 0, 10), Status.Code.RESOURCE_EXHAUSTED,
        "GetLearningRates: this replica is serving its limit of 8 windows at once; retry later");
    held.forEach(Runnable::run);
    // refusals give theirs back too
    for (int i = 0; i < 20; i++) {
      expect(() -> rates(alice, "nope", 0, 10), Status.Code.NOT_FOUND, "job_id: no job 'nope'");
    }
    assertThat(rates(alice, "alice-1", 0, 10).getRatesCount()).isEqualTo(10);
  }

  /**
   * Many maximal windows at once on a 100-group job over loopback: the replica answers some in full,
   * sheds the others with RESOURCE_EXHAUSTED, and its health stays SERVING throughout.
   */
  @Test
  void concurrentMaximalWindowsShedLoadAndHealthStaysServing() throws Exception {
    views = new LocalViews();
    views.markCaughtUp();
    views.putJob(withGroups(job("wide").setTotalSteps(1_000_000), 100).build(), "");
    Jobs jobs = new Jobs(views, Limits.DEFAULT);
    queries = new Queries(jobs);
    producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    server = new StepsizeServer(NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)),
        new StepsizeGrpcService(queries, new Intake(jobs, producer, Topics.unprefixed()), n -> {}), List.of()).start();
    server.serving();
    channel = NettyChannelBuilder.forAddress(InetAddress.getLoopbackAddress().getHostAddress(), server.port())
        .usePlaintext().maxInboundMessageSize(64 << 20).build();
    StepsizeGrpc.StepsizeStub async = StepsizeGrpc.newStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(channel);
    assertThat(health.withDeadlineAfter(10, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance())
        .getStatus()).isEqualTo(ServingStatus.SERVING);

    int n = 24;
    CountDownLatch done = new CountDownLatch(n);
    ConcurrentLinkedQueue<Integer> answered = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Status> refused = new ConcurrentLinkedQueue<>();
    java.util.concurrent.atomic.AtomicInteger bytes = new java.util.concurrent.atomic.AtomicInteger();
    GetLearningRatesRequest maximal = GetLearningRatesRequest.newBuilder().setJobId("wide").setCount(100_000).build();
    for (int i = 0; i < n; i++) {
      async.getLearningRates(maximal, new StreamObserver<>() {
        @Override
        public void onNext(LearningRates r) {
          answered.add(r.getRatesCount()); // not the answer: n of them would take the test's heap
          bytes.set(r.getSerializedSize());
        }

        @Override
        public void onError(Throwable t) {
          refused.add(Status.fromThrowable(t));
          done.countDown();
        }

        @Override
        public void onCompleted() {
          done.countDown();
        }
      });
    }
    List<ServingStatus> during = new ArrayList<>();
    while (!done.await(20, TimeUnit.MILLISECONDS)) {
      during.add(health.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance())
          .getStatus());
    }
    assertThat(answered.size() + refused.size()).isEqualTo(n);
    assertThat(answered).isNotEmpty().containsOnly(10_000);
    assertThat(refused).isNotEmpty().allSatisfy(s -> {
      assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(s.getDescription())
          .isEqualTo("GetLearningRates: this replica is serving its limit of 8 windows at once; retry later");
    });
    assertThat(during).containsOnly(ServingStatus.SERVING);
    assertThat(health.withDeadlineAfter(5, TimeUnit.SECONDS).check(HealthCheckRequest.getDefaultInstance()).getStatus())
        .isEqualTo(ServingStatus.SERVING);
    // every permit came back: a window after the burst is answered
    assertThat(StepsizeGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS).getLearningRates(maximal)
        .getRatesCount()).isEqualTo(10_000);
    System.out.printf("concurrent maximal windows: %d answered, %d refused of %d; %d health checks SERVING; "
        + "%d bytes per answer%n", answered.size(), refused.size(), n, during.size(), bytes.get());
  }

  // --- item 6: jobs and requests per tenant ---------------------------------------------------------

  @Test
  void createJobBeyondATenantsJobsIsResourceExhausted() {
    start(Limits.DEFAULT.withMaxJobsPerTenant(2));
    create(alice, job("alice-1").build());
    create(alice, job("alice-2").build());
    expect(() -> create(alice, job("alice-3").build()), Status.Code.RESOURCE_EXHAUSTED,
        "job_id: tenant 'alice' has 2 jobs, the limit of 2 jobs per tenant; use an existing job");
    // repeating a job she has is no new job; another tenant has his own count
    assertThat(create(alice, job("alice-2").build()).getSpec().getJobId()).isEqualTo("alice-2");
    create(bob, job("bob-1").build());
    assertThat(producer.history()).extracting(r -> r.key()).containsExactly("alice-1", "alice-2", "bob-1");
  }

  @Test
  void requestsArePerTenantLimitedOverEveryRpc() {
    start(Limits.DEFAULT.withRequestsPerSecondPerTenant(3));
    views.putJob(job("alice-1").build(), "alice");
    views.putJob(job("alice-2").build(), "alice");
    views.putJob(job("bob-1").build(), "bob");
    long t0 = System.nanoTime();
    rates(alice, "alice-1", 0, 1);
    rates(alice, "alice-2", 0, 1);
    // a call on no job counts as much as one on a job
    expect(() -> alice.getJob(GetJobRequest.newBuilder().setJobId("nope").build()), Status.Code.NOT_FOUND,
        "job_id: no job 'nope'");
    List<StatusRuntimeException> over = new ArrayList<>();
    for (Runnable call : List.<Runnable>of(() -> rates(alice, "alice-2", 0, 1),
        () -> alice.getJob(GetJobRequest.newBuilder().setJobId("alice-1").build()),
        () -> report(alice, lanczos("alice-1", 1)))) {
      try {
        call.run();
      } catch (StatusRuntimeException e) {
        over.add(e);
      }
    }
    Assumptions.assumeTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(900), "calls took over a second");
    assertThat(over).hasSize(3).allSatisfy(e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(e.getStatus().getDescription()).isEqualTo("tenant: more than 3 requests/s for tenant 'alice'; retry later");
    });
    assertThat(producer.history()).isEmpty();
    // per tenant: bob answers at once
    assertThat(rates(bob, "bob-1", 0, 2).getRatesCount()).isEqualTo(2);
  }

  // --- item 9: validation gaps ----------------------------------------------------------------------

  @Test
  void badIdsEnumsAndGroupNamesAreInvalidArguments() {
    start(Limits.DEFAULT);
    expect(() -> create(alice, job("run\n1").build()), Status.Code.INVALID_ARGUMENT,
        "spec.job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+000A at index 3)");
    expect(() -> create(alice, job("x".repeat(10_000) + "\t\u0000").build()), Status.Code.INVALID_ARGUMENT,
        "spec.job_id: must be at most 128 characters (got 10002)");
    expect(() -> alice.getJob(GetJobRequest.newBuilder().setJobId("a\u0000b").build()), Status.Code.INVALID_ARGUMENT,
        "job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0000 at index 1)");
    expect(() -> create(alice, job("e").setOptimizerValue(99).build()), Status.Code.INVALID_ARGUMENT,
        "spec.optimizer: must be one of OPTIMIZER_UNSPECIFIED, OPTIMIZER_SGD, OPTIMIZER_ADAMW, OPTIMIZER_OTHER (got 99)");
    expect(() -> create(alice, job("e").setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(
            PhiPolicy.ConditionNumber.newBuilder().setLowerEdgeValue(77))).build()), Status.Code.INVALID_ARGUMENT,
        "spec.phi_policy.condition_number.lower_edge: must be one of LOWER_EDGE_UNSPECIFIED, "
            + "LOWER_EDGE_SMALLEST_POSITIVE, LOWER_EDGE_QUANTILE, LOWER_EDGE_FLOOR, LOWER_EDGE_GRADIENT_HARMONIC (got 77)");
    expect(() -> create(alice, job("e").setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(
            PhiPolicy.ConditionNumber.newBuilder().setModeValue(77))).build()), Status.Code.INVALID_ARGUMENT,
        "spec.phi_policy.condition_number.mode: must be one of PHI_MODE_UNSPECIFIED, PHI_MODE_LIVE, PHI_MODE_LATCHED, "
            + "PHI_MODE_CONTINUOUS (got 77)");
    ParamGroup head = ParamGroup.newBuilder().setName("head").setLrMax(0.1).build();
    expect(() -> create(alice, job("g").addGroups(head).addGroups(head).build()), Status.Code.INVALID_ARGUMENT,
        "spec.groups[1].name: must be unique within the job ('head' is also groups[0])");
    expect(() -> create(alice, job("g").addGroups(head).addGroups(head.toBuilder().setName("")).build()),
        Status.Code.INVALID_ARGUMENT, "spec.groups[1].name: must not be empty");
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void badGradientStatisticsAreInvalidArgumentsNamingTheEntry() {
    start(Limits.DEFAULT);
    views.putJob(job("alice-1").build(), "alice");
    ProbeReport.Builder gradient = ProbeReport.newBuilder().setJobId("alice-1").setStep(3)
        .setGradient(GradientStats.newBuilder().setLoss(1).setGradNorm(2).addMicrobatchGradNorms(1));
    ProbeReport nan = gradient.clone().setGradient(gradient.getGradient().toBuilder().addMicrobatchGradNorms(Double.NaN))
        .build();
    expect(() -> report(alice, gradient.build(), nan), Status.Code.INVALID_ARGUMENT,
        "probes[1].gradient.microbatch_grad_norms[1]: must be finite and >= 0 (got NaN)");
    ProbeReport inf = gradient.clone().setGradient(GradientStats.newBuilder().setLoss(Double.POSITIVE_INFINITY)).build();
    expect(() -> report(alice, inf), Status.Code.INVALID_ARGUMENT, "probes[0].gradient.loss: must be finite (got Infinity)");
    ProbeReport negative = gradient.clone().setGradient(GradientStats.newBuilder().addMicrobatchGradNorms(-1)).build();
    expect(() -> report(alice, negative), Status.Code.INVALID_ARGUMENT,
        "probes[0].gradient.microbatch_grad_norms[0]: must be finite and >= 0 (got -1.0)");
    GradientStats.Builder tooMany = GradientStats.newBuilder();
    for (int i = 0; i <= 100_000; i++) {
      tooMany.addMicrobatchGradNorms(1);
    }
    expect(() -> report(alice, gradient.clone().setGradient(tooMany).build()), Status.Code.INVALID_ARGUMENT,
        "probes[0].gradient.microbatch_grad_norms: must have at most 100000 values (got 100001)");
    expect(() -> report(alice, lanczos("alice-1", 3).toBuilder().setWorkerId("w\u0000").build()),
        Status.Code.INVALID_ARGUMENT, "probes[0].worker_id: must be printable ASCII (got U+0000 at index 1)");
    assertThat(producer.history()).isEmpty();
    assertThat(report(alice, gradient.build())).isEqualTo(1);
  }

  @Test
  void createJobIsIdempotentAfterDefaultsAreWrittenOut() {
    start(Limits.DEFAULT);
    JobSpec bare = job("alice-1").build();
    Job first = create(alice, bare);
    // apply_delay_steps = 1 and fallback_phi = 5 (SGD's) are the defaults: the same job, as stored
    assertThat(create(alice, bare.toBuilder().setApplyDelaySteps(1).build())).isEqualTo(first);
    assertThat(create(alice, bare.toBuilder().setOptimizer(io.stepsize.proto.v1.Optimizer.OPTIMIZER_SGD)
        .setPhiPolicy(bare.getPhiPolicy().toBuilder().setFallbackPhi(5)).addPhaseBoundaries(100).build()))
        .isEqualTo(first);
    assertThat(producer.history()).hasSize(1);
    expect(() -> create(alice, bare.toBuilder().setApplyDelaySteps(2).build()), Status.Code.ALREADY_EXISTS,
        "job_id: job 'alice-1' exists with a different spec; use a new job_id");
  }

  /** The estimator dead-letters a Lanczos probe older than its job's newest processed step; refuse it first. */
  @Test
  void aLanczosProbeOlderThanTheNewestProcessedStepIsFailedPrecondition() {
    start(Limits.DEFAULT);
    views.putJob(job("alice-1").build(), "alice");
    // no estimate yet: any step
    assertThat(report(alice, lanczos("alice-1", 5))).isEqualTo(1);
    CurvaturePoint point = CurvaturePoint.newBuilder().setStep(20).setAppliesFromStep(21).setPhase(1)
        .setLambdaMin(0.5).setLambdaLow(0.5).setLambdaMax(8).setKappa(16).setLambdaMaxBound(8).setProbes(1).build();
    views.putCurvature(Curvature.newBuilder().setJobId("alice-1").setPhase(1).setStep(20).setAppliesFromStep(21)
        .setLambdaLow(0.5).setLambdaMax(8).setKappa(16).setProbes(1).addTimeline(point).build());
    expect(() -> report(alice, lanczos("alice-1", 25), lanczos("alice-1", 19)), Status.Code.FAILED_PRECONDITION,
        "probes[1].step: out of order, older than the job's latest processed step 20 (got 19)");
    assertThat(producer.history()).hasSize(1);
    // the newest step itself (another worker's probe of it) and later ones pass, as gradient statistics of any step
    ProbeReport gradient = ProbeReport.newBuilder().setJobId("alice-1").setStep(3)
        .setGradient(GradientStats.newBuilder().setLoss(1)).build();
    assertThat(report(alice, lanczos("alice-1", 20), lanczos("alice-1", 21), gradient)).isEqualTo(3);
  }
}
