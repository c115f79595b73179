package io.stepsize.service.metrics;

import io.grpc.ForwardingServerCall.SimpleForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** Times every call from its arrival to its close and records it by method and status code. */
public final class MetricsInterceptor implements ServerInterceptor {
  private final StepsizeMetrics metrics;

  public MetricsInterceptor(StepsizeMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    long start = System.nanoTime();
    String method = call.getMethodDescriptor().getBareMethodName();
    return next.startCall(new SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        metrics.observeRequest(method, status.getCode().name(), (System.nanoTime() - start) * 1e-9);
        super.close(status, trailers);
      }
    }, headers);
  }
}
