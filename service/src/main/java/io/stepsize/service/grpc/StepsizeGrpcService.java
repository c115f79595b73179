package io.stepsize.service.grpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.stepsize.proto.v1.CreateJobRequest;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GetCurvatureRequest;
import io.stepsize.proto.v1.GetGradientStatsRequest;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ListJobsRequest;
import io.stepsize.proto.v1.ListJobsResponse;
import io.stepsize.proto.v1.ReportProbesRequest;
import io.stepsize.proto.v1.ReportProbesResponse;
import io.stepsize.proto.v1.ReviseJobRequest;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.stepsize.proto.v1.WatchScheduleRequest;
import io.stepsize.service.core.Intake;
import io.stepsize.service.core.Queries;
import io.stepsize.service.security.AuthInterceptor;
import io.stepsize.service.security.Caller;
import java.util.OptionalLong;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * The RPC layer: each RPC is one call of {@link Queries} or {@link Intake} with the caller that
 * {@link AuthInterceptor} put in the call's context; refusals become statuses by {@link ApiStatus}.
 */
public final class StepsizeGrpcService extends StepsizeGrpc.StepsizeImplBase {
  private final Queries queries;
  private final Intake intake;
  private final LongConsumer probesReported;

  /** @param probesReported told how many probes each successful ReportProbes published */
  public StepsizeGrpcService(Queries queries, Intake intake, LongConsumer probesReported) {
    this.queries = queries;
    this.intake = intake;
    this.probesReported = probesReported;
  }

  private static Caller caller() {
    return AuthInterceptor.currentCaller();
  }

  @Override
  public void createJob(CreateJobRequest request, StreamObserver<Job> out) {
    unary(out, () -> intake.createJob(caller(), request.getSpec()));
  }

  @Override
  public void reviseJob(ReviseJobRequest request, StreamObserver<Job> out) {
    unary(out, () -> intake.reviseJob(caller(), request.getJobId(), request.getRevision(),
        request.hasExpectedRevision() ? OptionalLong.of(request.getExpectedRevision()) : OptionalLong.empty()));
  }

  @Override
  public void getJob(GetJobRequest request, StreamObserver<Job> out) {
    unary(out, () -> queries.job(caller(), request.getJobId()));
  }

  @Override
  public void getLearningRate(GetLearningRateRequest request, StreamObserver<LearningRate> out) {
    unary(out, () -> queries.learningRate(caller(), request.getJobId(), request.getStep()));
  }

  /**
   * Holds a window permit until the call ends: the answer is held twice, as a message and then as
   * bytes queued for the client, and a slow reader must not let more windows pile up behind it.
   */
  @Override
  public void getLearningRates(GetLearningRatesRequest request, StreamObserver<LearningRates> out) {
    Runnable release;
    try {
      release = queries.enterWindow();
    } catch (RuntimeException e) {
      out.onError(ApiStatus.of(e));
      return;
    }
    ServerCallStreamObserver<LearningRates> call = (ServerCallStreamObserver<LearningRates>) out;
    // exactly one of the two runs when the call ends
    call.setOnCloseHandler(release);
    call.setOnCancelHandler(release);
    unary(out, () -> queries.learningRates(caller(), request.getJobId(), request.getFromStep(), request.getCount()));
  }

  @Override
  public void reportProbes(ReportProbesRequest request, StreamObserver<ReportProbesResponse> out) {
    unary(out, () -> {
      long accepted = intake.reportProbes(caller(), request.getProbesList());
      probesReported.accept(accepted);
      return ReportProbesResponse.newBuilder().setAccepted(accepted).build();
    });
  }

  @Override
  public void getCurvature(GetCurvatureRequest request, StreamObserver<Curvature> out) {
    unary(out, () -> queries.curvature(caller(), request.getJobId()));
  }

  @Override
  public void getGradientStats(GetGradientStatsRequest request, StreamObserver<GradientStatsTimeline> out) {
    unary(out, () -> queries.gradientStats(caller(), request.getJobId()));
  }

  @Override
  public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> out) {
    unary(out, () -> queries.listJobs(caller(), request.getPageSize(), request.getPageToken()));
  }

  /** The current state at once, then one update per change of the job's estimate, until cancelled. */
  @Override
  public void watchSchedule(WatchScheduleRequest request, StreamObserver<ScheduleUpdate> out) {
    ServerCallStreamObserver<ScheduleUpdate> call = (ServerCallStreamObserver<ScheduleUpdate>) out;
    try {
      Runnable unwatch = queries.watch(caller(), request.getJobId(), update -> {
        if (!call.isCancelled()) {
          call.onNext(update);
        }
      });
      // a cancellation is delivered only after this method returns, so none is missed
      call.setOnCancelHandler(unwatch);
    } catch (RuntimeException e) {
      out.onError(ApiStatus.of(e));
    }
  }

  private static <T> void unary(StreamObserver<T> out, Supplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (RuntimeException e) {
      out.onError(ApiStatus.of(e));
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }
}
