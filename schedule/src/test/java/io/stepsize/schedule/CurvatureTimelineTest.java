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

  /**
   * Appending, with and without a cap, equals building the timeline again from the same points:
   * steps mostly rising (the in-place path), sometimes repeated, older or with a shorter delay (the
   * rebuild), and timelines appended to twice (the second must not see the first's point).
   */
  @Test
  void appendingEqualsBuildingAgain() {
    Random random = new Random(11);
    for (int trial = 0; trial < 2_000; trial++) {
      int cap = random.nextBoolean() ? Integer.MAX_VALUE : 1 + random.nextInt(20);
      List<CurvaturePoint> all = new ArrayList<>();
      CurvatureTimeline t = CurvatureTimeline.EMPTY;
      List<CurvatureTimeline> earlier = new ArrayList<>();
      List<List<CurvaturePoint>> earlierPoints = new ArrayList<>();
      long step = random.nextInt(5);
      int appends = 1 + random.nextInt(60);
      for (int a = 0; a < appends; a++) {
        List<CurvaturePoint> newer = new ArrayList<>();
        int k = random.nextInt(10) == 0 ? random.nextInt(4) : 1;
        for (int j = 0; j < k; j++) {
          int kind = random.nextInt(10);
          long s = kind == 0 ? Math.max(0, step - random.nextInt(10)) : kind == 1 ? step : step + 1 + random.nextInt(3);
          step = Math.max(step, s);
          long delay = random.nextInt(10) == 0 ? random.nextInt(3) : 1 + random.nextInt(2);
          newer.add(point(s, s + delay));
        }
        // sometimes append to an older timeline: its slots are shared with a newer one
        if (!earlier.isEmpty() && random.nextInt(8) == 0) {
          int back = random.nextInt(earlier.size());
          t = earlier.get(back);
          all = new ArrayList<>(earlierPoints.get(back));
        }
        CurvatureTimeline before = t;
        List<CurvaturePoint> beforePoints = List.copyOf(before.points());
        t = t.with(newer, cap);
        all.addAll(newer);
        assertSame(t, expected(all, cap), "trial " + trial + " append " + a);
        assertThat(before.points()).as("an append leaves its timeline alone").isEqualTo(beforePoints);
        assertSame(before, CurvatureTimeline.of(beforePoints), "trial " + trial + " before " + a);
        earlier.add(t);
        earlierPoints.add(List.copyOf(all));
      }
    }
  }

  @Test
  void withOnePointEqualsOf() {
    CurvatureTimeline t = CurvatureTimeline.of(List.of(point(10, 11), point(20, 90)));
    CurvatureTimeline a = t.with(point(30, 31));
    CurvatureTimeline b = t.with(point(25, 26));
    assertSame(a, CurvatureTimeline.of(List.of(point(10, 11), point(20, 90), point(30, 31))), "a");
    assertSame(b, CurvatureTimeline.of(List.of(point(10, 11), point(20, 90), point(25, 26))), "b");
    assertSame(t.with(List.of(), 1), CurvatureTimeline.of(List.of(point(20, 90))), "trimmed");
    assertThat(t.with(List.of(), 2)).isSameAs(t);
  }

  /** of the newest cap points, in the order of(all) sorts them. */
  private static CurvatureTimeline expected(List<CurvaturePoint> all, int cap) {
    List<CurvaturePoint> sorted = CurvatureTimeline.of(all).points();
    return CurvatureTimeline.of(sorted.subList(Math.max(0, sorted.size() - cap), sorted.size()));
  }

  /** Same points in the same order, and the same answers to every query. */
  private static void assertSame(CurvatureTimeline got, CurvatureTimeline want, String as) {
    assertThat(got.points()).as(as).containsExactlyElementsOf(want.points());
    assertThat(got).as(as).isEqualTo(want).hasSameHashCodeAs(want);
    assertThat(got.size()).as(as).isEqualTo(want.size());
    assertThat(got.isEmpty()).as(as).isEqualTo(want.isEmpty());
    assertThat(got.latest()).as(as).isEqualTo(want.latest());
    long max = want.points().stream().mapToLong(CurvaturePoint::appliesFromStep).max().orElse(0) + 2;
    for (long s = -1; s <= max; s++) {
      assertThat(got.applyingTo(s)).as("%s applyingTo(%d)", as, s).isEqualTo(want.applyingTo(s));
      assertThat(got.nextChangeAfter(s)).as("%s nextChangeAfter(%d)", as, s).isEqualTo(want.nextChangeAfter(s));
    }
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
