package io.stepsize.service.grpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The gRPC API in-process, as the API tests share it: the real service, core and interceptors over
 * hand-filled local views and a MockProducer in place of Kafka, with two tenants by bearer token
 * ({@link #alice}, {@link #bob}) unless started without tokens.
 */
final class InProcessApi implements AutoCloseable {
  final LocalViews views = new LocalViews();
  final MockProducer<String, byte[]> producer;
  final Queries queries;
  /** The counts of probes each ReportProbes published, as the service reports them. */
  final List<Long> reported = new CopyOnWriteArrayList<>();
  final StepsizeBlockingStub alice;
  final StepsizeBlockingStub bob;
  private final StepsizeServer server;
  private final ManagedChannel channel;

  /** What a test may vary; the defaults are a caught-up replica with tokens and default limits. */
  record Options(Limits limits, boolean autoComplete, boolean caughtUp, boolean tokens) {
    static Options defaults() {
      return new Options(Limits.DEFAULT, true, true, true);
    }

    Options limits(Limits l) {
      return new Options(l, autoComplete, caughtUp, tokens);
    }

    /** @param a whether the MockProducer acknowledges every send at once (false: the test completes or fails them) */
    Options autoComplete(boolean a) {
      return new Options(limits, a, caughtUp, tokens);
    }

    /** @param c whether the views have read the topics to their ends, as a loader tells them */
    Options caughtUp(boolean c) {
      return new Options(limits, autoComplete, c, tokens);
    }

    /** @param t whether callers authenticate by bearer token (without, every caller is anonymous) */
    Options tokens(boolean t) {
      return new Options(limits, autoComplete, caughtUp, t);
    }
  }

  static InProcessApi start() {
    return new InProcessApi(Options.defaults());
  }

  static InProcessApi start(Options options) {
    return new InProcessApi(options);
  }

  private InProcessApi(Options options) {
    if (options.caughtUp()) {
      views.markCaughtUp();
    }
    producer = new MockProducer<>(options.autoComplete(), null, new StringSerializer(), new ByteArraySerializer());
    Jobs jobs = new Jobs(views, options.limits());
    queries = new Queries(jobs);
    StepsizeGrpcService service = new StepsizeGrpcService(queries, new Intake(jobs, producer, Topics.unprefixed()),
        reported::add);
    List<ServerInterceptor> interceptors = new ArrayList<>();
    if (options.tokens()) {
      interceptors.add(new AuthInterceptor(Tenants.of(Map.of("token-alice", "alice", "token-bob", "bob"))));
      if (options.limits().requestsPerSecondPerTenant() > 0) {
        interceptors.add(new TenantRateInterceptor(options.limits().requestsPerSecondPerTenant()));
      }
    }
    String name = InProcessServerBuilder.generateName();
    server = new StepsizeServer(InProcessServerBuilder.forName(name).directExecutor(), service, interceptors).start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    alice = stub("token-alice");
    bob = stub("token-bob");
  }

  /** A stub that sends {@code token} as its bearer token. */
  StepsizeBlockingStub stub(String token) {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return StepsizeGrpc.newBlockingStub(channel).withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  /** A stub that sends no token. */
  StepsizeBlockingStub anonymous() {
    return StepsizeGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  ManagedChannel channel() {
    return channel;
  }

  /** {@code call} fails with exactly {@code code} and {@code message}. */
  static void expect(Runnable call, Status.Code code, String message) {
    assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
      assertThat(e.getStatus().getCode()).isEqualTo(code);
      assertThat(e.getStatus().getDescription()).isEqualTo(message);
    });
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      server.close();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
