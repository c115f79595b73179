package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.GradientStatsPoint;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.GradientStatsTimelines;
import io.stepsize.wire.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Gradient statistics are kept per job on {@code stepsize.gradient-stats} (DESIGN.md §2.1): one
 * point per step, the newest {@link GradientStatsTimelines#CAPACITY}, written at most once per emit
 * interval; Lanczos probes go on as before; bad reports are dead letters and leave no trace.
 */
class TopologyGradientStatsTest {
  @TempDir Path stateDir;
  private final Topics topics = new Topics("gs");
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> jobs;
  private TestInputTopic<String, byte[]> probes;
  private TestOutputTopic<String, byte[]> history;
  private TestOutputTopic<String, byte[]> stats;
  private TestOutputTopic<String, byte[]> dlq;

  @BeforeEach
  void start() {
    Properties config = CurvatureTopology.config("unused:9092", topics, stateDir, "gradient-stats-test");
    driver = new TopologyTestDriver(CurvatureTopology.topology(config, topics), config);
    jobs = driver.createInputTopic(topics.jobs().name(), new StringSerializer(), new ByteArraySerializer());
    probes = driver.createInputTopic(topics.probes().name(), new StringSerializer(), new ByteArraySerializer());
    history = driver.createOutputTopic(topics.curvatureHistory().name(), new StringDeserializer(),
        new ByteArrayDeserializer());
    stats = driver.createOutputTopic(topics.gradientStats().name(), new StringDeserializer(),
        new ByteArrayDeserializer());
    dlq = driver.createOutputTopic(topics.probesDlq().name(), new StringDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() {
    driver.close();
  }

  private static ProbeReport report(String jobId, long step, String worker, double loss, double norm,
      double... microbatch) {
    GradientStats.Builder g = GradientStats.newBuilder().setLoss(loss).setGradNorm(norm);
    for (double m : microbatch) {
      g.addMicrobatchGradNorms(m);
    }
    return ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId(worker).setGradient(g).build();
  }

  private static GradientStatsPoint point(long step, double loss, double norm, int workers, double... microbatch) {
    GradientStatsPoint.Builder b = GradientStatsPoint.newBuilder().setStep(step).setLoss(loss).setGradNorm(norm)
        .setWorkers(workers);
    for (double m : microbatch) {
      b.addMicrobatchGradNorms(m);
    }
    return b.build();
  }

  private void send(ProbeReport p) {
    probes.pipeInput(p.getJobId(), p.toByteArray());
  }

  /** The records on the topic after one emit interval. */
  private List<TestRecord<String, byte[]>> emitted() {
    driver.advanceWallClockTime(Duration.ofMillis(CurvatureTopology.STATS_EMIT_INTERVAL_MS));
    return stats.readRecordsToList();
  }

  private static GradientStatsTimeline parse(TestRecord<String, byte[]> r) {
    try {
      return GradientStatsTimeline.parseFrom(r.value());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String header(TestRecord<String, byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void workersOfAStepAreCombinedAndTheJobRecordIsWrittenOncePerInterval() throws Exception {
    jobs.pipeInput("j", Probes.job("j", 100).toByteArray());
    send(report("j", 1, "a", 1.5, 0.25, 0.5, 1));
    send(report("j", 1, "b", 2.5, 0.75, 2));
    send(Probes.diagonal("j", 2, "a", 1, 8));
    send(report("j", 3, "a", 1, 0.5));
    send(report("j", 2, "b", 3, 1, 4)); // worker b lags behind a
    assertThat(stats.isEmpty()).as("nothing before the punctuation: one record per interval, not per report").isTrue();

    List<TestRecord<String, byte[]>> out = emitted();
    assertThat(out).hasSize(1);
    assertThat(out.get(0).key()).isEqualTo("j");
    GradientStatsTimeline t = parse(out.get(0));
    assertThat(t.getJobId()).isEqualTo("j");
    assertThat(t.getReports()).isEqualTo(4);
    assertThat(t.getPointsList()).containsExactly(
        point(1, 2.0, 0.5, 2, 0.5, 1, 2),
        point(2, 3, 1, 1, 4),
        point(3, 1, 0.5, 1));
    assertThat(out.get(0).headers().toArray()).as("the estimator's routing headers stay inside").isEmpty();

    // the Lanczos probe was estimated as ever, and only it
    List<TestRecord<String, byte[]>> estimates = history.readRecordsToList();
    assertThat(estimates).hasSize(1);
    Curvature c = Curvature.parseFrom(estimates.get(0).value());
    assertThat(c.getStep()).isEqualTo(2);
    assertThat(c.getLambdaMax()).isEqualTo(8);
    assertThat(c.getProbes()).isEqualTo(1);
    assertThat(dlq.isEmpty()).isTrue();

    assertThat(emitted()).as("nothing new: nothing written").isEmpty();
    send(report("j", 3, "b", 2, 1.5));
    assertThat(parse(emitted().get(0)).getPoints(2)).isEqualTo(point(3, 1.5, 1, 2));
  }

  /**
   * Reports wait in their own store until the job's record is written: what the record holds after a
   * burst (steps out of order, several workers, microbatch norms) is the timeline that adding each report
   * to the last record one by one gives, and the next interval starts from that record.
   */
  @Test
  void reportsThatWaitedUntilTheRecordAreFoldedAsOneByOne() {
    jobs.pipeInput("w", Probes.job("w", 1_000).toByteArray());
    java.util.SplittableRandom g = new java.util.SplittableRandom(5);
    GradientStatsTimeline expected = io.stepsize.wire.GradientStatsTimelines.empty("w");
    for (int interval = 0; interval < 3; interval++) {
      for (int i = 0; i < 200; i++) {
        long step = interval * 150 + g.nextInt(200);
        ProbeReport r = report("w", step, "worker-" + g.nextInt(3), g.nextDouble(0.1, 3), g.nextDouble(0.01, 2),
            g.nextBoolean() ? new double[] {g.nextDouble()} : new double[0]);
        send(r);
        expected = io.stepsize.wire.GradientStatsTimelines.add(expected, r.getStep(), r.getGradient());
      }
      List<TestRecord<String, byte[]>> out = emitted();
      assertThat(out).as("interval %d", interval).hasSize(1);
      assertThat(parse(out.get(0))).as("interval %d", interval).isEqualTo(expected);
    }
    assertThat(expected.getReports()).isEqualTo(600);
    assertThat(emitted()).as("no report since: no record").isEmpty();
  }

  @Test
  void theTimelineKeepsTheNewestCapacityPoints() {
    int n = GradientStatsTimelines.CAPACITY;
    jobs.pipeInput("long", Probes.job("long", 10 * n).toByteArray());
    for (int s = 0; s < n + 5; s++) {
      send(report("long", s, "w", s, s / 8.0));
    }
    List<TestRecord<String, byte[]>> out = emitted();
    assertThat(out).hasSize(1);
    GradientStatsTimeline t = parse(out.get(0));
    assertThat(t.getReports()).isEqualTo(n + 5);
    assertThat(t.getPointsCount()).isEqualTo(n);
    for (int i = 0; i < n; i++) {
      long s = i + 5;
      assertThat(t.getPoints(i)).isEqualTo(point(s, s, s / 8.0, 1));
    }
  }

  @Test
  void aReportBeforeItsJobWaitsLikeALanczosProbe() {
    send(report("early", 4, "w", 0.5, 2));
    assertThat(emitted()).isEmpty();
    assertThat(dlq.isEmpty()).isTrue();
    jobs.pipeInput("early", Probes.job("early", 10).toByteArray());
    List<TestRecord<String, byte[]>> out = emitted();
    assertThat(out).hasSize(1);
    assertThat(parse(out.get(0)).getPointsList()).containsExactly(point(4, 0.5, 2, 1));
  }

  @Test
  void aMalformedReportIsADeadLetterAndLeavesTheTimelineAsItWas() {
    jobs.pipeInput("j", Probes.job("j", 100).toByteArray());
    send(report("j", 1, "a", 1.5, 0.25));
    assertThat(emitted()).hasSize(1);
    ProbeReport nan = report("j", 2, "a", 1, 1, 3, Double.NaN);
    send(nan);
    ProbeReport outside = report("j", 100, "a", 1, 1);
    send(outside);
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).extracting(r -> header(r, "__streams.errors.message")).containsExactly(
        "gradient.microbatch_grad_norms[1]: must be finite and >= 0 (got NaN)",
        "step: must be in [0, total_steps = 100) (got 100)");
    assertThat(dead).extracting(TestRecord::value).containsExactly(nan.toByteArray(), outside.toByteArray());
    assertThat(emitted()).as("no change, no record").isEmpty();
    send(report("j", 2, "a", 1, 1));
    GradientStatsTimeline t = parse(emitted().get(0));
    assertThat(t.getReports()).isEqualTo(2);
    assertThat(t.getPointsList()).containsExactly(point(1, 1.5, 0.25, 1), point(2, 1, 1, 1));
  }
}
