package io.stepsize.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.StatusRuntimeException;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ReviseJobRequest;
import io.stepsize.proto.v1.Revision;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A revision made on one replica reaches another's answers through {@code stepsize.jobs}: two
 * nodes on one real broker (the first runs it and the estimator), real gRPC over loopback.
 */
class RevisionReplicaTest {
  @TempDir Path dir;

  /** eq. 5 for one falling phase of L steps at position j, literally. */
  private static double f(double phi, long length, long j) {
    double c = 1 + Math.cos((2 * j - 1) * Math.PI / (2.0 * length));
    return 2 * c / (2 * phi + (2 - phi) * c);
  }

  @Test
  void aRevisionOnOneReplicaGovernsTheOthersAnswersAndTheEstimatorTakesProbesPastTheOldTotal()
      throws Exception {
    try (StepsizeNode a = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("a")))) {
      assertThat(a.awaitServing(Duration.ofSeconds(60))).isTrue();
      try (StepsizeNode b = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("b"))
              .withBootstrapServers(a.broker().bootstrapServers()).withRunEstimator(false));
          StepsizeClient onA = StepsizeClient.connect(a.target(), Duration.ofSeconds(10));
          StepsizeClient onB = StepsizeClient.connect(b.target(), Duration.ofSeconds(10))) {
        assertThat(b.awaitServing(Duration.ofSeconds(60))).isTrue();
        JobSpec spec = JobSpec.newBuilder().setJobId("rev").setTotalSteps(100).setLrMax(0.1).setLrMin(0.001)
            .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
        onA.createJob(spec);
        await().atMost(Duration.ofSeconds(20)).ignoreExceptionsInstanceOf(StatusRuntimeException.class)
            .until(() -> onB.getJob("rev").getTotalSteps() == 100);
        double v = onB.learningRate("rev", 40).getLr();

        long start = System.nanoTime();
        Job revised = onA.stub().reviseJob(ReviseJobRequest.newBuilder().setJobId("rev")
            .setRevision(Revision.newBuilder().setFromStep(40).setTotalSteps(150).setReason("extend")).build());
        assertThat(revised.getTotalSteps()).isEqualTo(150);
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5))
            .ignoreExceptionsInstanceOf(StatusRuntimeException.class)
            .until(() -> onB.learningRate("rev", 120).getRevision() == 1);
        System.out.printf("revision reached the second replica's answers in %.1f ms%n",
            (System.nanoTime() - start) / 1e6);

        assertThat(onB.getJob("rev")).isEqualTo(revised);
        for (long s : new long[] {39, 40, 99, 100, 149}) {
          LearningRate fromB = onB.learningRate("rev", s);
          assertThat(fromB).isEqualTo(onA.learningRate("rev", s));
          if (s >= 40) {
            double p = 0.001 + (v - 0.001) / f(5, 110, 1);
            assertThat(fromB.getLr()).isCloseTo(0.001 + (p - 0.001) * f(5, 110, s - 39),
                org.assertj.core.api.Assertions.within(1e-12 * fromB.getLr()));
          }
        }

        // a probe past the old total is good now: the estimator reads the job's schedule in force
        ProbeReport probe = ProbeReport.newBuilder().setJobId("rev").setStep(120).setWorkerId("w0")
            .setLanczos(LanczosProbe.newBuilder().addAllAlpha(List.of(2.0, 8.0)).addAllBeta(List.of(0.0, 0.0)))
            .build();
        assertThat(onB.reportProbes(List.of(probe))).isEqualTo(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> onB.curvature("rev").getProbes() > 0);
        assertThat(onB.curvature("rev").getStep()).isEqualTo(120);
      }
    }
  }
}
