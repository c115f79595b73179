package io.stepsize.service.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Optional;

/**
 * Bearer-token authentication ({@code authorization: Bearer <token>}): an unknown or missing token
 * ends the call with UNAUTHENTICATED before the service sees it; a known one puts its {@link Caller} in
 * the call's {@link Context} for the ownership checks. Health and reflection are not intercepted,
 * so load balancers and grpcurl need no token.
 */
public final class AuthInterceptor implements ServerInterceptor {
  /** The caller; {@link Caller#ANONYMOUS} when the service runs without tokens (no interceptor). */
  public static final Context.Key<Caller> CALLER = Context.keyWithDefault("stepsize.caller", Caller.ANONYMOUS);

  static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";

  private final Tenants tenants;

  public AuthInterceptor(Tenants tenants) {
    this.tenants = tenants;
  }

  /** The caller of the current call. */
  public static Caller currentCaller() {
    return CALLER.get();
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    Caller caller;
    try {
      caller = authenticate(tenants, headers.get(AUTHORIZATION));
    } catch (Refused e) {
      return reject(call, e.getMessage());
    }
    return Contexts.interceptCall(Context.current().withValue(CALLER, caller), call, headers, next);
  }

  /**
   * The caller of an {@code authorization} header's value (null: none sent); the one rule for gRPC
   * and HTTP. The refusal's message never repeats the token.
   */
  public static Caller authenticate(Tenants tenants, String value) {
    if (value == null || !value.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      throw new Refused("authorization: a bearer token is required (header 'authorization: Bearer <token>')");
    }
    Optional<String> tenant = tenants.tenantOf(value.substring(BEARER.length()).trim());
    if (tenant.isEmpty()) {
      throw new Refused("authorization: unknown bearer token");
    }
    return new Caller(tenant.get());
  }

  /** A request without a known bearer token: UNAUTHENTICATED in gRPC, 401 in HTTP. */
  public static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message, null, false, false);
    }
  }

  private static <Q, R> ServerCall.Listener<Q> reject(ServerCall<Q, R> call, String message) {
    call.close(Status.UNAUTHENTICATED.withDescription(message), new Metadata());
    return new ServerCall.Listener<>() {};
  }
}
