package io.stepsize.service.grpc;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import java.io.IOException;
import java.util.List;
import java.io.UncheckedIOException;
import java.util.concurrent.TimeUnit;

/**
 * The gRPC server: the Stepsize service, health and reflection on any {@link ServerBuilder}, so tests
 * can run it in-process or on loopback alike. Health stays NOT_SERVING until {@link #serving()}.
 */
public final class StepsizeServer implements AutoCloseable {
  private final Server server;
  private final HealthStatusManager health = new HealthStatusManager();

  /**
   * @param interceptors around the Stepsize service only (first runs first); health and reflection
   *     stay open so probes and tools need no credentials
   */
  public StepsizeServer(ServerBuilder<?> builder, StepsizeGrpcService service, List<ServerInterceptor> interceptors) {
    health.setStatus("", ServingStatus.NOT_SERVING);
    health.setStatus(StepsizeGrpc.SERVICE_NAME, ServingStatus.NOT_SERVING);
    this.server = builder
        .addService(ServerInterceptors.interceptForward(service, interceptors))
        .addService(health.getHealthService())
        .addService(ProtoReflectionServiceV1.newInstance())
        .build();
  }

  public StepsizeServer start() {
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return this;
  }

  public int port() {
    return server.getPort();
  }

  public void serving() {
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(StepsizeGrpc.SERVICE_NAME, ServingStatus.SERVING);
  }

  public void notServing() {
    health.setStatus("", ServingStatus.NOT_SERVING);
    health.setStatus(StepsizeGrpc.SERVICE_NAME, ServingStatus.NOT_SERVING);
  }

  @Override
  public void close() throws InterruptedException {
    notServing();
    health.enterTerminalState();
    server.shutdown();
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
      server.awaitTermination(2, TimeUnit.SECONDS);
    }
  }
}
