package io.stepsize.schedule;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

/**
 * The curvature estimates of one job, ordered by probe step, answering "which estimate applies
 * to step s?" in O(log n) without allocating.
 *
 * <p>The answer is the newest point (largest probe step; among equal steps the later one in the
 * input) whose appliesFromStep is <= s. appliesFromStep normally grows with the probe step, but
 * need not (a job's apply delay may differ between points), so a plain binary search over
 * appliesFromStep would be wrong. Instead we keep the suffix minimum of appliesFromStep, which is
 * non-decreasing: the largest index i with suffixMin[i] <= s is exactly the newest applying point,
 * because suffixMin[i] <= s < suffixMin[i + 1] forces appliesFromStep[i] = suffixMin[i].
 */
public final class CurvatureTimeline {

  /** No estimates: every policy uses fallback_phi. */
  public static final CurvatureTimeline EMPTY = new CurvatureTimeline(List.of());

  private final List<CurvaturePoint> points;
  private final long[] suffixMinApplies;

  private CurvatureTimeline(List<CurvaturePoint> sorted) {
    this.points = sorted;
    this.suffixMinApplies = new long[sorted.size()];
    long min = Long.MAX_VALUE;
    for (int i = sorted.size() - 1; i >= 0; i--) {
      min = Math.min(min, sorted.get(i).appliesFromStep());
      suffixMinApplies[i] = min;
    }
  }

  /** A timeline of the given points in any order (sorted stably by probe step here). */
  public static CurvatureTimeline of(List<CurvaturePoint> points) {
    if (points == null || points.isEmpty()) {
      return EMPTY;
    }
    List<CurvaturePoint> sorted = new ArrayList<>(points);
    for (CurvaturePoint p : sorted) {
      Checks.present("timeline", p);
    }
    sorted.sort(Comparator.comparingLong(CurvaturePoint::step));
    return new CurvatureTimeline(Collections.unmodifiableList(sorted));
  }

  /** This timeline plus one point. O(n); timelines are rebuilt when the estimator emits. */
  public CurvatureTimeline with(CurvaturePoint point) {
    List<CurvaturePoint> all = new ArrayList<>(points);
    all.add(Checks.present("timeline", point));
    return of(all);
  }

  /** The newest point with appliesFromStep <= step, or null when none applies yet. */
  public CurvaturePoint applyingTo(long step) {
    int lo = 0;
    int hi = suffixMinApplies.length - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (suffixMinApplies[mid] <= step) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found < 0 ? null : points.get(found);
  }

  /**
   * The first step after {@code step} from which another point applies (where {@link #applyingTo}
   * changes its answer), or {@link Long#MAX_VALUE} when none does. O(log n), no allocation.
   */
  public long nextChangeAfter(long step) {
    int lo = 0;
    int hi = suffixMinApplies.length;
    while (lo < hi) { // first index whose suffix minimum is > step
      int mid = (lo + hi) >>> 1;
      if (suffixMinApplies[mid] > step) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo < suffixMinApplies.length ? suffixMinApplies[lo] : Long.MAX_VALUE;
  }

  /** All points ordered by probe step (unmodifiable). */
  public List<CurvaturePoint> points() {
    return points;
  }

  /** The point with the largest probe step, or null when empty. */
  public CurvaturePoint latest() {
    return points.isEmpty() ? null : points.get(points.size() - 1);
  }

  public int size() {
    return points.size();
  }

  public boolean isEmpty() {
    return points.isEmpty();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CurvatureTimeline t && t.points.equals(points);
  }

  @Override
  public int hashCode() {
    return points.hashCode();
  }

  @Override
  public String toString() {
    return "CurvatureTimeline" + points;
  }
}
