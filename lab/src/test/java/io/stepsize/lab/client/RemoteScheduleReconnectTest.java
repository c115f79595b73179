package io.stepsize.lab.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;
import static org.awaitility.Awaitility.await;

import io.stepsize.client.RemoteSchedule;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.Revision;
import io.stepsize.service.StepsizeNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A revision made while a RemoteSchedule's watch is down still drops its prefetched rates from the
 * revision's from_step once the watch is back: the replica it watches goes away, the job is revised
 * through another, and the replica comes back on the same port (one real broker, real gRPC).
 */
class RemoteScheduleReconnectTest {
  @TempDir Path dir;

  /** Eq. 5's f for a falling phase of its own of L steps at position j, literally. */
  private static double f(double phi, long length, long j) {
    double c = 1 + Math.cos((2 * j - 1) * Math.PI / (2.0 * length));
    return 2 * c / (2 * phi + (2 - phi) * c);
  }

  @Test
  void aRevisionMissedWhileTheWatchWasDownCutsTheWindowsAfterTheReconnect() throws Exception {
    try (StepsizeNode broker = StepsizeNode.start(StepsizeNode.Config.embedded(dir.resolve("a")))) {
      assertThat(broker.awaitServing(Duration.ofSeconds(60))).isTrue();
      StepsizeNode.Config replica = StepsizeNode.Config.embedded(dir.resolve("b"))
          .withBootstrapServers(broker.broker().bootstrapServers()).withRunEstimator(false);
      StepsizeNode watched = StepsizeNode.start(replica);
      int port = watched.grpcPort();
      try (StepsizeClient admin = StepsizeClient.connect(broker.target(), Duration.ofSeconds(20));
          StepsizeClient client = StepsizeClient.connect(watched.target(), Duration.ofSeconds(1))) {
        assertThat(watched.awaitServing(Duration.ofSeconds(60))).isTrue();
        JobSpec spec = JobSpec.newBuilder().setJobId("missed").setTotalSteps(400).setLrMax(0.1).setLrMin(0.001)
            .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
        admin.createJob(spec);
        await().atMost(Duration.ofSeconds(20)).ignoreExceptions().until(() -> client.getJob("missed") != null);
        try (RemoteSchedule remote = RemoteSchedule.open(client, spec,
            new RemoteSchedule.Options(100, Duration.ofMillis(300)))) {
          for (long s = 0; s < 80; s++) {
            assertThat(remote.value(s).getRevision()).isZero();
          }
          // windows [0, 100) and [100, 200) are held; the watched replica goes, the job is revised elsewhere
          watched.close();
          admin.reviseJob("missed", Revision.newBuilder().setFromStep(90).setTotalSteps(600).setSetLr(0.02).build(),
              OptionalLong.of(0));
          assertThat(remote.revisions()).isZero();
          watched = StepsizeNode.start(replica.withGrpcPort(port));
          assertThat(watched.awaitServing(Duration.ofSeconds(60))).isTrue();
          await().atMost(Duration.ofSeconds(30)).until(() -> remote.revisions() == 1);
          for (long s = 80; s < 600; s++) {
            LearningRate r = remote.value(s);
            double expected = s < 90 ? 0.001 + 0.099 * f(5, 400, s + 1)
                : 0.001 + (0.001 + (0.02 - 0.001) / f(5, 510, 1) - 0.001) * f(5, 510, s - 89);
            assertThat(r.getLr()).as("step %d", s).isCloseTo(expected, within(1e-12 * expected));
            assertThat(r.getRevision()).as("step %d", s).isEqualTo(s < 90 ? 0 : 1);
          }
        }
      } finally {
        watched.close();
      }
    }
  }
}
