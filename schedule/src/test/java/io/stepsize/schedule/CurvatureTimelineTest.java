package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** applyingTo = the newest point (largest probe step) whose appliesFromStep <= s. */
class CurvatureTimelineTest {

  private static CurvaturePoint point(long step, long appliesFrom) {
    return new CurvaturePoint(step, appliesFrom, 1, 1, 1, 2, 2, 2, 1);
  }

  @Test
  void emptyAppliesToNothing() {
    assertThat(CurvatureTimeline.EMPTY.applyingTo(0)).isNull();
    assertThat(CurvatureTimeline.EMPTY.applyingTo(Long.MAX_VALUE)).isNull();
    assertThat(CurvatureTimeline.EMPTY.latest()).isNull();
    assertThat(CurvatureTimeline.of(List.of())).isSameAs(CurvatureTimeline.EMPTY);
  }

  @Test
  void unorderedInputAndUnevenDelaysMatchABruteForceSearch() {
    Random random = new Random(7);
    for (int trial = 0; trial < 200; trial++) {
      List<CurvaturePoint> points = new ArrayList<>();
      int n = 1 + random.nextInt(30);
      for (int i = 0; i < n; i++) {
        long step = random.nextInt(100);
        points.add(point(step, step + random.nextInt(40)));
      }
      CurvatureTimeline timeline = CurvatureTimeline.of(points);
      assertThat(timeline.latest().step()).isEqualTo(points.stream().mapToLong(CurvaturePoint::step).max().orElseThrow());
      for (long s = 0; s < 150; s++) {
        assertThat(timeline.applyingTo(s)).as("trial %d step %d", trial, s).isSameAs(bruteForce(timeline.points(), s));
      }
    }
  }

  @Test
  void aLateDelayedPointDoesNotHideAnEarlierApplyingOne() {
    CurvatureTimeline timeline = CurvatureTimeline.of(List.of(point(10, 11), point(20, 90), point(30, 31)));
    assertThat(timeline.applyingTo(35).step()).isEqualTo(30);
    assertThat(timeline.applyingTo(25).step()).isEqualTo(10);
    assertThat(timeline.applyingTo(10)).isNull();
    assertThat(timeline.with(point(40, 41)).applyingTo(41).step()).isEqualTo(40);
  }

  private static CurvaturePoint bruteForce(List<CurvaturePoint> sortedByStep, long s) {
    CurvaturePoint best = null;
    for (CurvaturePoint p : sortedByStep) {
      if (p.appliesFromStep() <= s && (best == null || p.step() >= best.step())) {
        best = p;
      }
    }
    return best;
  }
}
