package io.stepsize.client;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.stepsize.proto.v1.CreateJobRequest;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GetCurvatureRequest;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ReportProbesRequest;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.stepsize.proto.v1.WatchScheduleRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A channel to a Stepsize service with a deadline on every call and retries of UNAVAILABLE
 * (every Stepsize RPC is idempotent, so a retry never does anything twice that matters).
 */
public final class StepsizeClient implements AutoCloseable {
  private final ManagedChannel channel;
  private final boolean ownsChannel;
  private final Duration deadline;
  private final StepsizeGrpc.StepsizeBlockingStub blocking;
  private final StepsizeGrpc.StepsizeStub async;
  private final StepsizeGrpc.StepsizeFutureStub future;

  /** A plaintext channel to {@code target} ("host:port" or any gRPC target URI). */
  public static StepsizeClient connect(String target, Duration deadline) {
    return connect(target, deadline, ClientSecurity.PLAINTEXT);
  }

  /** A channel to {@code target} with TLS, mutual TLS and a bearer token as {@code security} says. */
  public static StepsizeClient connect(String target, Duration deadline, ClientSecurity security) {
    return open(target, serviceConfig(), deadline, security);
  }

  private static StepsizeClient open(String target, Map<String, ?> serviceConfig, Duration deadline,
      ClientSecurity security) {
    var builder = Grpc.newChannelBuilder(target, security.channelCredentials())
        .defaultServiceConfig(serviceConfig)
        .enableRetry();
    if (security.authority() != null) {
      builder.overrideAuthority(security.authority());
    }
    return new StepsizeClient(builder.build(), true, deadline);
  }

  /** Wraps a channel the caller owns (TLS, in-process, …). */
  public static StepsizeClient of(ManagedChannel channel, Duration deadline) {
    return new StepsizeClient(channel, false, deadline);
  }

  private StepsizeClient(ManagedChannel channel, boolean ownsChannel, Duration deadline) {
    this.channel = channel;
    this.ownsChannel = ownsChannel;
    this.deadline = deadline;
    this.blocking = StepsizeGrpc.newBlockingStub(channel);
    this.async = StepsizeGrpc.newStub(channel);
    this.future = StepsizeGrpc.newFutureStub(channel);
  }

  /** Retry UNAVAILABLE a few times with backoff, for every method of the service. */
  static Map<String, Object> serviceConfig() {
    return Map.of("methodConfig", List.of(retryUnavailable(3)));
  }

  /** The method config that retries UNAVAILABLE up to {@code maxAttempts} times (every RPC is idempotent). */
  static Map<String, Object> retryUnavailable(int maxAttempts) {
    Map<String, Object> retry = Map.of(
        "maxAttempts", (double) maxAttempts,
        "initialBackoff", "0.05s",
        "maxBackoff", "0.5s",
        "backoffMultiplier", 2.0,
        "retryableStatusCodes", List.of("UNAVAILABLE"));
    return Map.of("name", List.of(Map.of("service", StepsizeGrpc.SERVICE_NAME)), "retryPolicy", retry);
  }

  public Duration deadline() {
    return deadline;
  }

  public ManagedChannel channel() {
    return channel;
  }

  public StepsizeGrpc.StepsizeBlockingStub stub() {
    return blocking.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** A future stub with this client's deadline, for prefetching without blocking a step. */
  public StepsizeGrpc.StepsizeFutureStub futureStub() {
    return future.withDeadlineAfter(deadline.toNanos(), TimeUnit.NANOSECONDS);
  }

  public StepsizeGrpc.StepsizeStub asyncStub() {
    return async;
  }

  public Job createJob(JobSpec spec) {
    return stub().createJob(CreateJobRequest.newBuilder().setSpec(spec).build());
  }

  public Job getJob(String jobId) {
    return stub().getJob(GetJobRequest.newBuilder().setJobId(jobId).build());
  }

  /**
   * Revises a job from {@code revision.from_step} on (DESIGN.md §1.5); {@code expectedRevision} is the
   * latest revision the caller has seen (empty: no check).
   */
  public Job reviseJob(String jobId, io.stepsize.proto.v1.Revision revision, java.util.OptionalLong expectedRevision) {
    io.stepsize.proto.v1.ReviseJobRequest.Builder r = io.stepsize.proto.v1.ReviseJobRequest.newBuilder()
        .setJobId(jobId).setRevision(revision);
    expectedRevision.ifPresent(r::setExpectedRevision);
    return stub().reviseJob(r.build());
  }

  public LearningRate learningRate(String jobId, long step) {
    return stub().getLearningRate(GetLearningRateRequest.newBuilder().setJobId(jobId).setStep(step).build());
  }

  public LearningRates learningRates(String jobId, long fromStep, long count) {
    return stub().getLearningRates(GetLearningRatesRequest.newBuilder().setJobId(jobId).setFromStep(fromStep)
        .setCount(count).build());
  }

  public long reportProbes(List<ProbeReport> probes) {
    return stub().reportProbes(ReportProbesRequest.newBuilder().addAllProbes(probes).build()).getAccepted();
  }

  public Curvature curvature(String jobId) {
    return stub().getCurvature(GetCurvatureRequest.newBuilder().setJobId(jobId).build());
  }

  /** The job's gradient statistics, one point per step (DESIGN.md §2.1); empty before the first report. */
  public io.stepsize.proto.v1.GradientStatsTimeline gradientStats(String jobId) {
    return stub().getGradientStats(io.stepsize.proto.v1.GetGradientStatsRequest.newBuilder().setJobId(jobId).build());
  }

  /** Follows a job's schedule changes; no deadline, because the stream is meant to last. */
  public void watch(String jobId, StreamObserver<ScheduleUpdate> observer) {
    async.watchSchedule(WatchScheduleRequest.newBuilder().setJobId(jobId).build(), observer);
  }

  @Override
  public void close() {
    if (ownsChannel) {
      channel.shutdownNow();
      try {
        channel.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * A plaintext channel over several replicas ("host:port" each): round_robin across the SERVING
   * ones, and a call that meets a replica going down is retried on another (see {@link MultiTargets}).
   */
  public static StepsizeClient connect(List<String> targets, Duration deadline) {
    return connect(targets, deadline, ClientSecurity.PLAINTEXT);
  }

  /**
   * The failover channel of {@link #connect(List, Duration)} with TLS, mutual TLS and a bearer token
   * as {@code security} says. The health checks travel on the same connections, so they are
   * authenticated exactly like the calls; {@code security.authority()} is the name checked in every
   * replica's certificate.
   */
  public static StepsizeClient connect(List<String> targets, Duration deadline, ClientSecurity security) {
    return open(MultiTargets.target(targets), MultiTargets.serviceConfig(), deadline, security);
  }
}
