package io.stepsize.schedule;

import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;
import java.util.concurrent.atomic.AtomicInteger;

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
 *
 * <p>Immutable, but a point appended after the newest ({@link #with(List, int)}) costs O(1)
 * amortized: the new timeline shares the old one's slots, since the suffix minima of the points
 * before it stay as they are when it applies no earlier than the newest one's suffix minimum.
 * The estimator extends a job's earlier points this way for every probe (docs/BENCHMARKS.md §9.1).
 */
public final class CurvatureTimeline {

  /** No estimates: every policy uses fallback_phi. */
  public static final CurvatureTimeline EMPTY = new CurvatureTimeline(new Backing(0), 0, 0);

  /**
   * Slots shared by a timeline and the timelines appended to it: each timeline reads its own range
   * [offset, offset + size), and a slot past every range is written once, by the append that claims
   * it ({@code claimed}), so a timeline's range never changes under it. The suffix minima in a range
   * are those of its own points because an append that would lower an earlier one copies instead.
   */
  private static final class Backing {
    final CurvaturePoint[] points;
    final long[] suffixMinApplies;
    final AtomicInteger claimed = new AtomicInteger();

    Backing(int capacity) {
      points = new CurvaturePoint[capacity];
      suffixMinApplies = new long[capacity];
    }
  }

  private final Backing backing;
  private final int offset;
  private final int size;
  private final List<CurvaturePoint> points;

  private CurvatureTimeline(Backing backing, int offset, int size) {
    this.backing = backing;
    this.offset = offset;
    this.size = size;
    this.points = new View(backing.points, offset, size);
  }

  /** A timeline of points already sorted by step: O(n), its own backing with room to append. */
  private static CurvatureTimeline sorted(List<CurvaturePoint> sorted, int from, int to) {
    int n = to - from;
    if (n == 0) {
      return EMPTY;
    }
    Backing b = new Backing(roomFor(n));
    long min = Long.MAX_VALUE;
    for (int i = n - 1; i >= 0; i--) {
      CurvaturePoint p = sorted.get(from + i);
      b.points[i] = p;
      min = Math.min(min, p.appliesFromStep());
      b.suffixMinApplies[i] = min;
    }
    b.claimed.set(n);
    return new CurvatureTimeline(b, 0, n);
  }

  /** Slots for n points and about n/2 appends, so that a copy costs O(1) per append. */
  private static int roomFor(int n) {
    return n + Math.max(16, n >> 1);
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
    return sorted(sorted, 0, sorted.size());
  }

  /**
   * This timeline plus one point: {@code of} its points and {@code point}. O(1) amortized when the
   * point is not older than {@link #latest} and applies no earlier than the newest point's suffix
   * minimum (the normal case: delays do not shrink), else O(n).
   */
  public CurvatureTimeline with(CurvaturePoint point) {
    return with(List.of(Checks.present("timeline", point)), Integer.MAX_VALUE);
  }

  /**
   * This timeline plus {@code newer} (in that order), keeping the newest {@code capacity} points:
   * the same as {@code of} the last {@code capacity} points of {@code of(points() + newer).points()}.
   * Each point not older than the one before it that keeps the suffix minima costs O(1) amortized
   * and shares this timeline's slots; otherwise the timeline is built again, O(n log n).
   */
  public CurvatureTimeline with(List<CurvaturePoint> newer, int capacity) {
    Checks.atLeast("capacity", capacity, 1);
    if (newer.isEmpty() && size > capacity) {
      return sorted(points, size - capacity, size);
    }
    CurvatureTimeline t = this;
    for (int i = 0; i < newer.size(); i++) {
      CurvaturePoint p = Checks.present("timeline", newer.get(i));
      CurvatureTimeline next = t.appended(p, capacity);
      if (next == null) {
        List<CurvaturePoint> all = new ArrayList<>(t.size + newer.size() - i);
        all.addAll(t.points);
        all.addAll(newer.subList(i, newer.size()));
        for (CurvaturePoint q : all) {
          Checks.present("timeline", q);
        }
        all.sort(Comparator.comparingLong(CurvaturePoint::step));
        return sorted(all, Math.max(0, all.size() - capacity), all.size());
      }
      t = next;
    }
    return t;
  }

  /** This timeline plus p with the oldest dropped past capacity, or null when that needs a rebuild. */
  private CurvatureTimeline appended(CurvaturePoint p, int capacity) {
    if (size > 0) {
      int last = offset + size - 1;
      if (p.step() < backing.points[last].step() || p.appliesFromStep() < backing.suffixMinApplies[last]) {
        return null; // sorts before the newest, or lowers earlier suffix minima
      }
    }
    int drop = size + 1 > capacity ? size + 1 - capacity : 0;
    int end = offset + size;
    Backing b = backing;
    int from = offset + drop;
    if (end == b.points.length || !b.claimed.compareAndSet(end, end + 1)) {
      // no room, or another timeline appended to this one first: copy the kept points to new slots
      int kept = size - drop;
      b = new Backing(roomFor(kept + 1));
      System.arraycopy(backing.points, from, b.points, 0, kept);
      System.arraycopy(backing.suffixMinApplies, from, b.suffixMinApplies, 0, kept);
      b.claimed.set(kept + 1);
      end = kept;
      from = 0;
    }
    b.points[end] = p;
    b.suffixMinApplies[end] = p.appliesFromStep();
    return new CurvatureTimeline(b, from, end + 1 - from);
  }

  /** The newest point with appliesFromStep <= step, or null when none applies yet. */
  public CurvaturePoint applyingTo(long step) {
    long[] suffixMinApplies = backing.suffixMinApplies;
    int lo = offset;
    int hi = offset + size - 1;
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
    return found < 0 ? null : backing.points[found];
  }

  /**
   * The first step after {@code step} from which another point applies (where {@link #applyingTo}
   * changes its answer), or {@link Long#MAX_VALUE} when none does. O(log n), no allocation.
   */
  public long nextChangeAfter(long step) {
    long[] suffixMinApplies = backing.suffixMinApplies;
    int end = offset + size;
    int lo = offset;
    int hi = end;
    while (lo < hi) { // first index whose suffix minimum is > step
      int mid = (lo + hi) >>> 1;
      if (suffixMinApplies[mid] > step) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    return lo < end ? suffixMinApplies[lo] : Long.MAX_VALUE;
  }

  /** All points ordered by probe step (unmodifiable). */
  public List<CurvaturePoint> points() {
    return points;
  }

  /** The point with the largest probe step, or null when empty. */
  public CurvaturePoint latest() {
    return size == 0 ? null : backing.points[offset + size - 1];
  }

  public int size() {
    return size;
  }

  public boolean isEmpty() {
    return size == 0;
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

  /** A timeline's points: a read-only window on its slots. */
  private static final class View extends AbstractList<CurvaturePoint> implements RandomAccess {
    private final CurvaturePoint[] points;
    private final int offset;
    private final int size;

    View(CurvaturePoint[] points, int offset, int size) {
      this.points = points;
      this.offset = offset;
      this.size = size;
    }

    @Override
    public CurvaturePoint get(int index) {
      Objects.checkIndex(index, size);
      return points[offset + index];
    }

    @Override
    public int size() {
      return size;
    }
  }
}
