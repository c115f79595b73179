package io.stepsize.service.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.stepsize.proto.v1.CreateJobRequest;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GetCurvatureRequest;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ReportProbesRequest;
import io.stepsize.proto.v1.ReportProbesResponse;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.stepsize.proto.v1.WatchScheduleRequest;
import io.stepsize.service.StepsizeCore;
import io.stepsize.service.security.AuthInterceptor;
import java.util.function.LongConsumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The RPC layer: translates requests to {@link StepsizeCore} calls and failures to statuses. */
public final class StepsizeGrpcService extends StepsizeGrpc.StepsizeImplBase {
  private static final Logger log = LoggerFactory.getLogger(StepsizeGrpcService.class);
  private final StepsizeCore core;
  private final LongConsumer probesReported;

  public StepsizeGrpcService(StepsizeCore core) {
    this(core, n -> {});
  }

  /** @param probesReported told how many probes each successful ReportProbes published */
  public StepsizeGrpcService(StepsizeCore core, LongConsumer probesReported) {
    this.core = core;
    this.probesReported = probesReported;
  }

  // The tenant comes from AuthInterceptor's context; null when the service runs without tokens.
  private static String tenant() {
    return AuthInterceptor.currentTenant();
  }

  @Override
  public void createJob(CreateJobRequest request, StreamObserver<Job> out) {
    unary(out, () -> core.createJob(request.getSpec(), tenant()));
  }

  @Override
  public void getJob(GetJobRequest request, StreamObserver<Job> out) {
    unary(out, () -> core.getJob(tenant(), request.getJobId()));
  }

  @Override
  public void getLearningRate(GetLearningRateRequest request, StreamObserver<LearningRate> out) {
    unary(out, () -> core.learningRate(tenant(), request.getJobId(), request.getStep()));
  }

  @Override
  public void getLearningRates(GetLearningRatesRequest request, StreamObserver<LearningRates> out) {
    unary(out, () -> core.learningRates(tenant(), request.getJobId(), request.getFromStep(), request.getCount()));
  }

  @Override
  public void reportProbes(ReportProbesRequest request, StreamObserver<ReportProbesResponse> out) {
    unary(out, () -> {
      long accepted = core.reportProbes(request.getProbesList(), tenant());
      probesReported.accept(accepted);
      return ReportProbesResponse.newBuilder().setAccepted(accepted).build();
    });
  }

  @Override
  public void getCurvature(GetCurvatureRequest request, StreamObserver<Curvature> out) {
    unary(out, () -> core.curvature(tenant(), request.getJobId()));
  }

  /** Sends the current state at once, then one update per change of the job's estimate. */
  @Override
  public void watchSchedule(WatchScheduleRequest request, StreamObserver<ScheduleUpdate> out) {
    String jobId = request.getJobId();
    ServerCallStreamObserver<ScheduleUpdate> call = (ServerCallStreamObserver<ScheduleUpdate>) out;
    try {
      core.admit(tenant(), jobId);
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    }
    Object lock = new Object();
    Runnable[] unwatch = new Runnable[1];
    synchronized (lock) {
      unwatch[0] = core.views().watch(jobId, entry -> {
        synchronized (lock) {
          if (!call.isCancelled()) {
            try {
              out.onNext(core.update(jobId, entry));
            } catch (RuntimeException e) {
              log.debug("watch of {} ended: {}", jobId, e.getMessage());
            }
          }
        }
      });
      call.setOnCancelHandler(() -> unwatch[0].run());
      out.onNext(core.update(jobId, core.views().curvature(jobId)));
    }
  }

  private static <T> void unary(StreamObserver<T> out, Supplier<T> body) {
    T result;
    try {
      result = body.get();
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (RuntimeException e) {
      log.error("internal error", e);
      out.onError(Status.INTERNAL.withDescription(e.toString()).asRuntimeException());
      return;
    }
    out.onNext(result);
    out.onCompleted();
  }
}
