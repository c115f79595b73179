package io.stepsize.wire;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.GradientStatsPoint;
import io.stepsize.proto.v1.GradientStatsTimeline;
import java.util.Collections;
import org.junit.jupiter.api.Test;

/** The rule of DESIGN.md §2.1, values worked out by hand (dyadic numbers: every mean below is exact). */
class GradientStatsTimelinesTest {
  private static GradientStats g(double loss, double norm, double... microbatch) {
    GradientStats.Builder b = GradientStats.newBuilder().setLoss(loss).setGradNorm(norm);
    for (double m : microbatch) {
      b.addMicrobatchGradNorms(m);
    }
    return b.build();
  }

  private static GradientStatsPoint point(long step, double loss, double norm, int workers, double... microbatch) {
    GradientStatsPoint.Builder b = GradientStatsPoint.newBuilder().setStep(step).setLoss(loss).setGradNorm(norm)
        .setWorkers(workers);
    for (double m : microbatch) {
      b.addMicrobatchGradNorms(m);
    }
    return b.build();
  }

  @Test
  void reportsOfOneStepAreCombinedAndLateOnesInsertedInStepOrder() {
    GradientStatsTimeline t = GradientStatsTimelines.empty("j");
    t = GradientStatsTimelines.add(t, 4, g(1.5, 0.25, 0.5, 1));
    t = GradientStatsTimelines.add(t, 4, g(2.5, 0.75, 2));
    t = GradientStatsTimelines.add(t, 9, g(1, 0.5));
    t = GradientStatsTimelines.add(t, 6, g(3, 1, 4)); // a lagging worker's earlier step
    t = GradientStatsTimelines.add(t, 4, g(0.5, 0.5)); // a third worker for step 4: (1.5 + 2.5 + 0.5) / 3
    assertThat(t.getJobId()).isEqualTo("j");
    assertThat(t.getReports()).isEqualTo(5);
    assertThat(t.getPointsList()).containsExactly(
        point(4, 1.5, 0.5, 3, 0.5, 1, 2),
        point(6, 3, 1, 1, 4),
        point(9, 1, 0.5, 1));
  }

  @Test
  void theNewestCapacityPointsAreKept() {
    int n = GradientStatsTimelines.CAPACITY;
    assertThat(n).isEqualTo(CurvatureRecords.CAPACITY);
    GradientStatsTimeline t = GradientStatsTimelines.empty("j");
    for (int s = 0; s < n + 3; s++) {
      t = GradientStatsTimelines.add(t, s, g(s, s / 4.0));
    }
    assertThat(t.getPointsCount()).isEqualTo(n);
    assertThat(t.getPoints(0)).isEqualTo(point(3, 3, 0.75, 1));
    assertThat(t.getPoints(n - 1)).isEqualTo(point(n + 2, n + 2, (n + 2) / 4.0, 1));
    // older than every kept point of a full timeline: counted, not kept
    GradientStatsTimeline before = t;
    t = GradientStatsTimelines.add(t, 1, g(7, 7));
    assertThat(t.getReports()).isEqualTo(n + 4);
    assertThat(t.getPointsList()).isEqualTo(before.getPointsList());
    // a kept step still takes reports: (10 + 20) / 2
    t = GradientStatsTimelines.add(t, 10, g(20, 0.5));
    assertThat(t.getPoints(7)).isEqualTo(point(10, 15, (2.5 + 0.5) / 2, 2));
    // a new step between kept ones pushes the oldest out
    t = GradientStatsTimelines.add(t, n + 10, g(1, 1));
    t = GradientStatsTimelines.add(t, n + 5, g(1, 1));
    assertThat(t.getPointsCount()).isEqualTo(n);
    assertThat(t.getPoints(0).getStep()).isEqualTo(5);
    assertThat(t.getPoints(n - 2).getStep()).isEqualTo(n + 5);
    assertThat(t.getPoints(n - 1).getStep()).isEqualTo(n + 10);
  }

  @Test
  void microbatchNormsAreBoundedOldestFirst() {
    int max = GradientStatsTimelines.MAX_MICROBATCH_NORMS;
    double[] big = new double[max - 100];
    java.util.Arrays.fill(big, 2);
    GradientStatsTimeline t = GradientStatsTimelines.add(GradientStatsTimelines.empty("j"), 1, g(1, 1, big));
    t = GradientStatsTimelines.add(t, 2, g(1, 1, 3, 3, 3));
    assertThat(t.getPoints(0).getMicrobatchGradNormsCount()).isEqualTo(max - 100);
    double[] more = new double[200];
    java.util.Arrays.fill(more, 5);
    t = GradientStatsTimelines.add(t, 3, g(1, 1, more));
    // 65,436 + 3 + 200 > 65,536: step 1, the oldest, loses its norms, the rest stay whole
    assertThat(t.getPoints(0).getMicrobatchGradNormsList()).isEmpty();
    assertThat(t.getPoints(0).getWorkers()).isEqualTo(1);
    assertThat(t.getPoints(1).getMicrobatchGradNormsList()).containsExactly(3.0, 3.0, 3.0);
    assertThat(t.getPoints(2).getMicrobatchGradNormsList()).isEqualTo(Collections.nCopies(200, 5.0));
    // one report with more than the whole budget: the newest point keeps its first MAX norms
    double[] huge = new double[max + 10];
    for (int i = 0; i < huge.length; i++) {
      huge[i] = i;
    }
    t = GradientStatsTimelines.add(t, 4, g(1, 1, huge));
    assertThat(t.getPoints(1).getMicrobatchGradNormsList()).isEmpty();
    assertThat(t.getPoints(2).getMicrobatchGradNormsList()).isEmpty();
    assertThat(t.getPoints(3).getMicrobatchGradNormsCount()).isEqualTo(max);
    assertThat(t.getPoints(3).getMicrobatchGradNorms(max - 1)).isEqualTo(max - 1.0);
  }

  @Test
  void aFullTimelineWithEveryMicrobatchNormFitsKafkasDefaultRecord() {
    // the worst case the bounds allow: CAPACITY points, MAX_MICROBATCH_NORMS norms, a long job id
    String jobId = "j".repeat(64);
    GradientStatsTimeline t = GradientStatsTimelines.empty(jobId);
    int n = GradientStatsTimelines.CAPACITY;
    int perPoint = GradientStatsTimelines.MAX_MICROBATCH_NORMS / n;
    double[] norms = new double[perPoint];
    for (int s = 0; s < n; s++) {
      java.util.Arrays.fill(norms, Math.PI * s);
      t = GradientStatsTimelines.add(t, s, g(Math.E * s, Math.PI * s, norms));
    }
    assertThat(t.getPointsCount()).isEqualTo(n);
    assertThat(t.getPointsList().stream().mapToInt(p -> p.getMicrobatchGradNormsCount()).sum())
        .isEqualTo(n * perPoint);
    assertThat(t.toByteArray().length).as("under Kafka's default 1 MiB record").isLessThan(1 << 20);
  }

  /**
   * addAll is add applied report by report, past the capacity and the microbatch bound: out-of-order
   * steps, several workers per step, reports older than a full timeline.
   */
  @Test
  void addAllIsAddOneByOne() {
    for (long seed = 1; seed <= 4; seed++) {
      java.util.SplittableRandom g = new java.util.SplittableRandom(seed);
      GradientStatsTimeline oneByOne = GradientStatsTimelines.empty("j");
      GradientStatsTimeline batched = oneByOne;
      java.util.List<io.stepsize.proto.v1.ProbeReport> waiting = new java.util.ArrayList<>();
      for (int i = 0; i < 12_000; i++) {
        long step = Math.max(0, i - g.nextInt(50));
        GradientStats.Builder s = GradientStats.newBuilder().setLoss(g.nextDouble()).setGradNorm(g.nextDouble());
        for (int k = g.nextInt(40); k > 0; k--) {
          s.addMicrobatchGradNorms(g.nextDouble());
        }
        GradientStats stats = s.build();
        oneByOne = GradientStatsTimelines.add(oneByOne, step, stats);
        waiting.add(io.stepsize.proto.v1.ProbeReport.newBuilder().setJobId("j").setStep(step).setGradient(stats).build());
        if (g.nextInt(300) == 0) {
          batched = GradientStatsTimelines.addAll(batched, waiting);
          waiting.clear();
          assertThat(batched).as("seed %d, report %d", seed, i).isEqualTo(oneByOne);
        }
      }
      batched = GradientStatsTimelines.addAll(batched, waiting);
      assertThat(batched).isEqualTo(oneByOne);
      assertThat(batched.getPointsCount()).isEqualTo(GradientStatsTimelines.CAPACITY);
      assertThat(batched.getReports()).isEqualTo(12_000);
    }
  }
}
