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
import io.stepsize.proto.v1.Revision;
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

  /** Eq. 5's f for a falling phase of its own of L steps at position j, literally. */
  private static double f(double phi, long length, long j) {
    double c = 1 + Math.cos((2 * j - 1) * Math.PI / (2.0 * length));
    return 2 * c / (2 * phi + (2 - phi) * c);
  }

  @Test
  @Order(3)
  void aRevisionFromTheWatchDropsThePrefetchedRatesFromItsStep() throws Exception {
    JobSpec spec = JobSpec.newBuilder().setJobId("revised").setTotalSteps(400).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
    admin.createJob(spec);
    try (RemoteSchedule remote = RemoteSchedule.open(client, spec, new RemoteSchedule.Options(100, Duration.ofSeconds(2)))) {
      for (long s = 0; s < 80; s++) {
        assertThat(remote.value(s).getRevision()).isZero();
      }
      // the window [0, 100) is held and [100, 200) prefetched; the revision governs from 90 on
      admin.reviseJob("revised", Revision.newBuilder().setFromStep(90).setTotalSteps(600).setSetLr(0.02)
          .setReason("test").build(), java.util.OptionalLong.of(0));
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> remote.revisions() == 1);
      for (long s = 80; s < 600; s++) {
        LearningRate r = remote.value(s);
        double expected;
        if (s < 90) {
          expected = 0.001 + 0.099 * f(5, 400, s + 1);
        } else {
          double p = 0.001 + (0.02 - 0.001) / f(5, 510, 1);
          expected = 0.001 + (p - 0.001) * f(5, 510, s - 89);
        }
        assertThat(r.getLr()).as("step %d", s).isCloseTo(expected, org.assertj.core.api.Assertions.within(1e-12 * expected));
        assertThat(r.getRevision()).isEqualTo(s < 90 ? 0 : 1);
      }
      assertThat(remote.localAnswers()).isZero();
    }
  }

  @Test
  @Order(4)
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
      // and the revisions it knows: one extends the job past the total the trainer opened it with
      Revision extension = Revision.newBuilder().setFromStep(2000).setTotalSteps(4000).build();
      admin.reviseJob("orphan", extension, java.util.OptionalLong.empty());
      org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> remote.revisions() == 1);
      var phi8 = io.stepsize.schedule.JobPlan.of(JobSpecs.toSchedule(spec.toBuilder()
          .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(8.0))).build()),
          List.of(JobSpecs.revision(extension)));
      node.close();
      long worstNanos = 0;
      for (long s = 100; s < 4000; s++) {
        long t0 = System.nanoTime();
        LearningRate r = remote.value(s);
        worstNanos = Math.max(worstNanos, System.nanoTime() - t0);
        LrValue expected = phi8.evaluate(s, io.stepsize.schedule.CurvatureTimeline.EMPTY);
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
