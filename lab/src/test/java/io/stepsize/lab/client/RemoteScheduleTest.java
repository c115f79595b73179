package io.stepsize.lab.client;

import io.stepsize.service.StepsizeNode;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.client.RemoteSchedule;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Source;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.schedule.LrValue;
import io.stepsize.wire.JobSpecs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Java client's remote schedule against a real replica: windows with prefetch, estimates that
 * arrive through WatchSchedule, and the local fallback once the service is gone (last, as it stops
 * the node).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RemoteScheduleTest {
  @TempDir static Path dir;
  static StepsizeNode node;
  static StepsizeClient client;
  // the remote schedules use a 1 s deadline; job creation and probes get time for a cold producer
  static StepsizeClient admin;

  @BeforeAll
  static void start() throws Exception {
    node = StepsizeNode.start(StepsizeNode.Config.embedded(dir));
    assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
    client = StepsizeClient.connect(node.target(), Duration.ofSeconds(1));
    admin = StepsizeClient.connect(node.target(), Duration.ofSeconds(20));
  }

  @AfterAll
  static void stop() {
    client.close();
    admin.close();
    node.close();
  }

  private static double calls(String method) {
    return node.metrics().registry().scrape().stream()
        .filter(m -> m.getMetadata().getPrometheusName().equals("stepsize_grpc_request_seconds"))
        .flatMap(m -> ((io.prometheus.metrics.model.snapshots.HistogramSnapshot) m).getDataPoints().stream())
        .filter(d -> d.getLabels().get("method").equals(method))
        .mapToDouble(d -> d.getCount()).sum();
  }

  @Test
  @Order(1)
  void windowsServeEveryStepWithAFewCallsAndEqualTheLibrary() throws Exception {
    JobSpec spec = JobSpec.newBuilder().setJobId("windows").setTotalSteps(3500).setWarmupSteps(10)
        .setLrMax(0.1).setLrMin(0.001).addPhaseBoundaries(2000).addPhaseBoundaries(3500)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
    admin.createJob(spec);
    double before = calls("GetLearningRates");
    var schedule = JobSpecs.toSchedule(spec);
    try (RemoteSchedule remote = RemoteSchedule.open(client, spec, new RemoteSchedule.Options(1000, Duration.ofSeconds(2)))) {
      for (long s = 0; s < 3500; s++) {
        assertThat(remote.lr(s)).as("step %d", s)
            .isEqualTo(LrEvaluator.evaluate(schedule, s, CurvatureTimeline.EMPTY).lr());
      }
      assertThat(remote.remoteAnswers()).isEqualTo(3500);
      assertThat(remote.localAnswers()).isZero();
    }
    // four windows of 1000 cover 3500 steps; prefetch at 3/4 of each means no step waited for one
    assertThat(calls("GetLearningRates") - before).isBetween(4.0, 5.0);
  }

  @Test
  @Order(2)
  void anEstimateFromTheWatchChangesTheRatesFromItsStepOn() throws Exception {
    JobSpec spec = JobSpec.newBuilder().setJobId("watched").setTotalSteps(400).setLrMax(0.1).setLrMin(0.001)
        .setApplyDelaySteps(3).setPhiPolicy(PhiPolicy.newBuilder()
            .setConditionNumber(PhiPolicy.ConditionNumber.newBuilder().setScale(0.5).setExponent(1))).build();
    admin.createJob(spec);
    var schedule = JobSpecs.toSchedule(spec);
    try (RemoteSchedule remote = RemoteSchedule.open(client, spec, new RemoteSchedule.Options(100, Duration.ofSeconds(2)))) {
      for (long s = 0; s <= 50; s++) {
        assertThat(remote.value(s).getSource()).isEqualTo(Source.SOURCE_FALLBACK);
      }
      // T_m diagonal with beta_m = 0: Ritz values exactly 0.5, 2, 8, so kappa = 16 and phi = 0.5 * 32
      ProbeReport probe = ProbeReport.newBuilder().setJobId("watched").setStep(50).setWorkerId("w")
          .setLanczos(LanczosProbe.newBuilder().addAllAlpha(List.of(2.0, 8.0, 0.5)).addAllBeta(List.of(0.0, 0.0, 0.0)))
          .build();
      admin.reportProbes(List.of(probe));
      assertThat(remote.awaitEstimate(50, Duration.ofSeconds(30))).isTrue();
      for (long s = 51; s < 400; s++) {
        LearningRate r = remote.value(s);
        LrValue expected = LrEvaluator.evaluate(schedule, s, remote.timeline());
        assertThat(r.getLr()).as("step %d", s).isEqualTo(expected.lr());
        assertThat(r.getPhi()).isEqualTo(s < 53 ? 5.0 : 16.0);
      }
      assertThat(remote.localAnswers()).isZero();
    }
  }

  @Test
  @Order(3)
  void withTheServiceGoneItAnswersLocallyWithTheLastKnownCurvatureWithinItsDeadline() throws Exception {
    JobSpec spec = JobSpec.newBuilder().setJobId("orphan").setTotalSteps(3000).setLrMax(0.1).setLrMin(0.001)
        .setApplyDelaySteps(0).setPhiPolicy(PhiPolicy.newBuilder()
            .setConditionNumber(PhiPolicy.ConditionNumber.newBuilder().setScale(1).setExponent(1))).build();
    admin.createJob(spec);
    var schedule = JobSpecs.toSchedule(spec);
    RemoteSchedule remote = RemoteSchedule.open(client, spec, new RemoteSchedule.Options(500, Duration.ofSeconds(60)));
    try {
      admin.reportProbes(List.of(ProbeReport.newBuilder().setJobId("orphan").setStep(10).setWorkerId("w")
          .setLanczos(LanczosProbe.newBuilder().addAllAlpha(List.of(4.0, 1.0)).addAllBeta(List.of(0.0, 0.0))).build()));
      assertThat(remote.awaitEstimate(10, Duration.ofSeconds(30))).isTrue();
      assertThat(remote.lr(100)).isEqualTo(LrEvaluator.evaluate(schedule, 100, remote.timeline()).lr());

      // what the fallback must answer, from the estimate known to the test (κ = 4, so φ = 8), not
      // from the schedule's own timeline: the same job with φ fixed at 8
      var phi8 = JobSpecs.toSchedule(spec.toBuilder()
          .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(8.0))).build());
      node.close();
      long worstNanos = 0;
      for (long s = 100; s < 3000; s++) {
        long t0 = System.nanoTime();
        LearningRate r = remote.value(s);
        worstNanos = Math.max(worstNanos, System.nanoTime() - t0);
        LrValue expected = LrEvaluator.evaluate(phi8, s, io.stepsize.schedule.CurvatureTimeline.EMPTY);
        assertThat(r.getLr()).as("step %d", s).isEqualTo(expected.lr());
        assertThat(r.getPhi()).isEqualTo(8.0); // 2 * kappa = 2 * 4, the last known estimate, not the fallback
      }
      assertThat(remote.localAnswers()).isPositive();
      // one failed fetch at most, bounded by the 1 s deadline (and its retries), never a hang
      assertThat(Duration.ofNanos(worstNanos)).isLessThan(Duration.ofSeconds(10));
    } finally {
      remote.close();
    }
  }
}
