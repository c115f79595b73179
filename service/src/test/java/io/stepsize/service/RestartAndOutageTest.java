package io.stepsize.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Source;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a serve process keeps across a restart, and what it still answers while Kafka is down. */
class RestartAndOutageTest {
  @TempDir Path dir;

  static final JobSpec SPEC = JobSpec.newBuilder().setJobId("keep").setTotalSteps(200).setLrMax(0.3).setLrMin(0.003)
      .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.getDefaultInstance())).build();

  static ProbeReport probe(long step, double lambdaMax) {
    return ProbeReport.newBuilder().setJobId("keep").setStep(step).setWorkerId("w")
        .setLanczos(LanczosProbe.newBuilder().addAllAlpha(List.of(lambdaMax, 1.0)).addAllBeta(List.of(0.0, 0.0))).build();
  }

  @Test
  void aRestartOnTheSameDataDirectoryGivesTheSameAnswers() throws Exception {
    LearningRates before;
    try (StepsizeNode node = StepsizeNode.start(StepsizeNode.Config.embedded(dir));
         StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10))) {
      assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
      client.createJob(SPEC);
      client.reportProbes(List.of(probe(10, 40)));
      client.reportProbes(List.of(probe(60, 90)));
      await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("keep").getTimelineCount() == 2);
      before = client.learningRates("keep", 0, 200);
    }
    try (StepsizeNode node = StepsizeNode.start(StepsizeNode.Config.embedded(dir));
         StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10))) {
      assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
      assertThat(client.getJob("keep").getSpec()).isEqualTo(SPEC);
      assertThat(client.curvature("keep").getTimelineCount()).isEqualTo(2);
      LearningRates after = client.learningRates("keep", 0, 200);
      assertThat(after).isEqualTo(before);
      assertThat(after.getRates(11).getSource()).isEqualTo(Source.SOURCE_CURVATURE);
      assertThat(after.getRates(61).getCurvatureStep()).isEqualTo(60);
      // the estimator resumes where it left off: a new probe extends the same timeline
      client.reportProbes(List.of(probe(120, 20)));
      await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("keep").getTimelineCount() == 3);
    }
  }

  @Test
  void withTheBrokerStoppedKnownJobsStillGetTheirLearningRates() throws Exception {
    try (StepsizeNode node = StepsizeNode.start(StepsizeNode.Config.embedded(dir));
         StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(10))) {
      assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
      client.createJob(SPEC);
      client.reportProbes(List.of(probe(10, 40)));
      await().atMost(Duration.ofSeconds(20)).until(() -> client.curvature("keep").getProbes() > 0);
      LearningRates before = client.learningRates("keep", 0, 200);

      node.broker().stop();
      assertThat(client.learningRates("keep", 0, 200)).isEqualTo(before);
      assertThat(client.learningRate("keep", 150)).isEqualTo(before.getRates(150));
      assertThat(client.curvature("keep").getProbes()).isPositive();

      node.broker().restart();
    }
  }
}
