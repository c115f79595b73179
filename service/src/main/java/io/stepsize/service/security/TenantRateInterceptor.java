package io.stepsize.service.security;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/**
 * Requests per second per tenant, over every Stepsize RPC the tenant makes (a call that names no
 * job, or a job that does not exist, counts too), beside the per-job rate of {@link JobRateLimiter}.
 * Runs after {@link AuthInterceptor}, whose caller it reads; without tokens every caller is the one
 * anonymous tenant, so the limit is then the replica's. Over the rate, the call ends with
 * RESOURCE_EXHAUSTED before the service sees it.
 */
public final class TenantRateInterceptor implements ServerInterceptor {
  private final JobRateLimiter rate;

  public TenantRateInterceptor(int permitsPerSecond) {
    this.rate = new JobRateLimiter(permitsPerSecond);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Caller caller = AuthInterceptor.currentCaller();
    if (!rate.tryAcquire(caller.tenant())) {
      String who = caller.authenticated() ? "tenant '" + caller.tenant() + "'" : "all callers (no tokens)";
      call.close(Status.RESOURCE_EXHAUSTED.withDescription("tenant: more than " + rate.permitsPerSecond()
          + " requests/s for " + who + "; retry later"), new Metadata());
      return new ServerCall.Listener<>() {};
    }
    return next.startCall(call, headers);
  }
}
