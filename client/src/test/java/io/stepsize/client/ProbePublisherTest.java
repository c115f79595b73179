package io.stepsize.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.stepsize.client.lanczos.DenseHvp;
import io.stepsize.client.lanczos.LanczosDriver;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.client.lanczos.PreconditionedHvp;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ReportProbesRequest;
import io.stepsize.proto.v1.ReportProbesResponse;
import io.stepsize.proto.v1.Start;
import io.stepsize.proto.v1.StepsizeGrpc;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** Both publishers send a Lanczos run's start and operator (DESIGN §1.7) as the trainer made them. */
class ProbePublisherTest {
  private static final DenseHvp H = DenseHvp.of(new double[][] {{2, 1, 0}, {1, 3, 1}, {0, 1, 5}});
  private static final LanczosResult GRADIENT = LanczosDriver.of(3).runFromGradient(H, new double[] {1, -2, 0.5}, 1);
  private static final LanczosResult PRECONDITIONED = LanczosDriver.of(2)
      .run(PreconditionedHvp.of(H, new double[] {4, 1, 0.25}), 3, 9);

  private static void assertPayload(ProbeReport p, LanczosResult r, Start start, Operator operator) {
    LanczosProbe l = p.getLanczos();
    assertThat(l.getStart()).isEqualTo(start);
    assertThat(l.getOperator()).isEqualTo(operator);
    assertThat(l.getAlphaList()).containsExactly(java.util.Arrays.stream(r.alpha()).boxed().toArray(Double[]::new));
    assertThat(l.getBetaList()).containsExactly(java.util.Arrays.stream(r.beta()).boxed().toArray(Double[]::new));
  }

  @Test
  void grpcPublisherSendsStartAndOperator() throws Exception {
    List<ReportProbesRequest> received = new ArrayList<>();
    String name = InProcessServerBuilder.generateName();
    Server server = InProcessServerBuilder.forName(name).directExecutor().addService(new StepsizeGrpc.StepsizeImplBase() {
      @Override
      public void reportProbes(ReportProbesRequest request, StreamObserver<ReportProbesResponse> response) {
        received.add(request);
        response.onNext(ReportProbesResponse.newBuilder().setAccepted(request.getProbesCount()).build());
        response.onCompleted();
      }
    }).build().start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    try (StepsizeClient client = StepsizeClient.of(channel, Duration.ofSeconds(5));
        ProbePublisher publisher = new GrpcProbePublisher(client)) {
      assertThat(publisher.publishLanczos("job-g", 40, "w1", GRADIENT)).isEqualTo(1);
      assertThat(publisher.publishLanczos("job-g", 50, "w1", PRECONDITIONED)).isEqualTo(1);
    } finally {
      server.shutdownNow();
    }
    assertThat(received).hasSize(2);
    ProbeReport first = received.get(0).getProbes(0);
    assertThat(first.getJobId()).isEqualTo("job-g");
    assertThat(first.getStep()).isEqualTo(40);
    assertThat(first.getWorkerId()).isEqualTo("w1");
    assertPayload(first, GRADIENT, Start.START_GRADIENT, Operator.OPERATOR_HESSIAN);
    assertPayload(received.get(1).getProbes(0), PRECONDITIONED, Start.START_RANDOM, Operator.OPERATOR_PRECONDITIONED);
  }

  @Test
  void kafkaPublisherSendsStartAndOperator() throws Exception {
    MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(),
        new ByteArraySerializer());
    try (ProbePublisher publisher = new KafkaProbePublisher(producer, "stepsize.probes")) {
      assertThat(publisher.publishLanczos("job-k", 7, "w2", GRADIENT)).isEqualTo(1);
      assertThat(publisher.publishLanczos("job-k", 8, "w2", PRECONDITIONED)).isEqualTo(1);
    }
    assertThat(producer.history()).hasSize(2);
    assertThat(producer.history().get(0).key()).isEqualTo("job-k");
    ProbeReport first = ProbeReport.parseFrom(producer.history().get(0).value());
    assertThat(first.getStep()).isEqualTo(7);
    assertPayload(first, GRADIENT, Start.START_GRADIENT, Operator.OPERATOR_HESSIAN);
    assertPayload(ProbeReport.parseFrom(producer.history().get(1).value()), PRECONDITIONED, Start.START_RANDOM,
        Operator.OPERATOR_PRECONDITIONED);
  }
}
