package io.stepsize.estimator;

import io.stepsize.schedule.CurvaturePoint;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.wire.CurvatureRecords;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The estimates a job had before a probe step, as the schedule reads them: what the edge ratio of a
 * point needs, since the scheduled lr at step p depends on the estimates that apply at or before p
 * (live, latched and continuous φ, revisions: DESIGN.md §1.3–1.6).
 *
 * <p>The points are the job's timeline as the service sees it ({@link CurvatureRecords}): the open
 * segment, which the job's {@link Timeline} state holds already, and the retained closed segments,
 * which {@link TimelineProcessor} writes here, once each, when it closes them (store {@link #STORE},
 * key {@code job_id \0 index}, the index in 19 digits so that a job's keys sort by index and no other
 * job's fall between them: job ids never contain \0), and deletes as they leave the retained window.
 * So keeping them costs one write of ~4.5 KiB per {@link CurvatureRecords#SEGMENT} estimates, not a
 * write per estimate: a first version with one record per point cost ~30 µs of CPU and ~280 bytes
 * per probe (docs/BENCHMARKS.md §9).
 *
 * <p>Fast: the closed points of a job are cached in memory (least recently used jobs out past
 * {@link #CACHED_POINTS} points in all), read again from the store when the job's durable timeline
 * says another segment closed; a copy ahead of it (written by a transaction aborted since) is read
 * again whole. One instance per processor, dropped when it is (re)initialized.
 */
final class EarlierPoints {
  static final String STORE = "curvature-points";
  /** Closed points kept in memory over all jobs of a task: tens of MB at most. */
  static final int CACHED_POINTS = 200_000;
  private static final byte VERSION = 1;
  private static final int POINT_BYTES = 3 * Long.BYTES + Integer.BYTES + 5 * Double.BYTES + Byte.BYTES;
  private static final char SEPARATOR = '\u0000';

  private final KeyValueStore<String, byte[]> store;
  private final LinkedHashMap<String, Known> cache = new LinkedHashMap<>(16, 0.75f, true);
  private long cachedPoints;

  /**
   * What is cached of a job: its retained closed segments, oldest first (the last is segment
   * openIndex − 1), as of the timeline whose open segment has index {@code openIndex}, {@code points}
   * in all; and the last timeline {@link #before} answered, which ends before the job's point number
   * {@code beforeEnd} (numbered from the job's first: segment i holds i·SEGMENT onwards).
   */
  private static final class Known {
    long openIndex;
    List<List<CurvaturePoint>> segments;
    long points;
    /** Whether every segment is full or absent, so that point g is at g % SEGMENT of segment g / SEGMENT. */
    boolean regular;
    CurvatureTimeline before;
    long beforeEnd;
  }

  EarlierPoints(KeyValueStore<String, byte[]> store) {
    this.store = store;
  }

  /**
   * The job's points at steps before {@code step}, the newest {@link CurvatureRecords#CAPACITY}: its
   * retained closed segments and the points of {@code timeline}'s open segment (null: the job has none yet).
   *
   * <p>Fast: the job's last answer is extended by the points after it, O(1) amortized per point
   * ({@link CurvatureTimeline#with(List, int)}), when it is the same sequence of points up to its
   * end; else the points are gathered and sorted again. It is: within one instance a job's points
   * change only by the estimates of this task, and an estimate changes at most the newest point and
   * only for its own step, while every point before {@code step} is final (earlier steps are
   * refused as out of order). The newest point of the last answer is checked against the state all
   * the same, and the count of points in the new answer against the window's.
   */
  CurvatureTimeline before(String jobId, long step, Timeline timeline) {
    if (timeline == null || (timeline.openIndex() == 0 && timeline.openCount() == 0)) {
      return CurvatureTimeline.EMPTY;
    }
    Known known = known(jobId, timeline.openIndex());
    List<Timeline.Point> open = timeline.openSegment();
    // the open points before step are its first k: steps rise within a timeline (a step before the
    // job's latest is refused, the latest's own point is replaced), so look from the newest, which
    // is almost always before step already
    int k = open.size();
    while (k > 0 && open.get(k - 1).step() >= step) {
      k--;
    }
    long end = timeline.openIndex() * CurvatureRecords.SEGMENT + k;
    CurvatureTimeline t = extended(known, open, k, end);
    if (t == null) {
      t = gathered(known.segments, open, step);
    }
    known.before = t;
    known.beforeEnd = end;
    return t;
  }

  /** The job's last answer with the points up to {@code end} appended, or null when that is not provably it. */
  private static CurvatureTimeline extended(Known known, List<Timeline.Point> open, int k, long end) {
    CurvatureTimeline last = known.before;
    if (last == null || !known.regular || end < known.beforeEnd || end - known.beforeEnd > CurvatureRecords.CAPACITY) {
      return null;
    }
    if (!last.isEmpty() && !last.latest().equals(pointAt(known, open, known.beforeEnd - 1))) {
      return null;
    }
    int added = (int) (end - known.beforeEnd);
    // the window's count, and the one the appended timeline will have: they differ when points left the
    // window that the last answer did not hold (an absent segment), and then the tails differ too
    if (Math.min(CurvatureRecords.CAPACITY, known.points + k) != Math.min(CurvatureRecords.CAPACITY,
        (long) last.size() + added)) {
      return null;
    }
    if (added == 0) {
      return last;
    }
    List<CurvaturePoint> newer = new ArrayList<>(added);
    for (long g = known.beforeEnd; g < end; g++) {
      CurvaturePoint p = pointAt(known, open, g);
      if (p == null) {
        return null;
      }
      newer.add(p);
    }
    return last.with(newer, CurvatureRecords.CAPACITY);
  }

  /** The job's point number g as the cache and the open segment hold it, or null when they do not. */
  private static CurvaturePoint pointAt(Known known, List<Timeline.Point> open, long g) {
    long openStart = known.openIndex * CurvatureRecords.SEGMENT;
    if (g >= openStart) {
      return g - openStart < open.size() ? point(open.get((int) (g - openStart))) : null;
    }
    long first = known.openIndex - known.segments.size();
    long index = g / CurvatureRecords.SEGMENT;
    if (g < 0 || index < first) {
      return null;
    }
    List<CurvaturePoint> segment = known.segments.get((int) (index - first));
    int at = (int) (g % CurvatureRecords.SEGMENT);
    return at < segment.size() ? segment.get(at) : null;
  }

  /** The points before step gathered and sorted: the retained closed segments and the open points. */
  private static CurvatureTimeline gathered(List<List<CurvaturePoint>> closed, List<Timeline.Point> open, long step) {
    List<CurvaturePoint> all = new ArrayList<>(closed.size() * CurvatureRecords.SEGMENT + open.size());
    for (List<CurvaturePoint> segment : closed) {
      all.addAll(segment);
    }
    for (Timeline.Point p : open) {
      if (p.step() < step) {
        all.add(point(p));
      }
    }
    // the newest CAPACITY, as the service's view of the job had them when it answered for this step
    int n = all.size();
    return CurvatureTimeline.of(n > CurvatureRecords.CAPACITY ? all.subList(n - CurvatureRecords.CAPACITY, n) : all);
  }

  /** Writes closed segment {@code index} of a job (its points, oldest first), dropping the one that leaves the window. */
  static void close(KeyValueStore<String, byte[]> store, String jobId, long index, List<Timeline.Point> points) {
    ByteBuffer b = ByteBuffer.allocate(1 + Integer.BYTES + points.size() * POINT_BYTES).put(VERSION)
        .putInt(points.size());
    for (Timeline.Point p : points) {
      b.putLong(p.step()).putLong(p.appliesFromStep()).putInt((int) p.phase()).putLong(p.probes())
          .putDouble(p.lambdaMin()).putDouble(p.lambdaLow()).putDouble(p.lambdaMax()).putDouble(p.kappa())
          .putDouble(p.lambdaMaxBound()).put(p.preconditioned() ? (byte) 1 : (byte) 0);
    }
    store.put(key(jobId, index), b.array());
    long dropped = index - CurvatureRecords.RETAINED_SEGMENTS;
    if (dropped >= 0) {
      store.delete(key(jobId, dropped));
    }
  }

  /** What is cached of the job, its retained closed segments those of the timeline whose open segment is {@code openIndex}. */
  private Known known(String jobId, long openIndex) {
    Known c = cache.get(jobId);
    if (c != null && c.openIndex == openIndex) {
      return c;
    }
    long from = Math.max(0, openIndex - CurvatureRecords.RETAINED_SEGMENTS);
    ArrayDeque<List<CurvaturePoint>> segments = new ArrayDeque<>();
    long next = from;
    if (c != null && c.openIndex < openIndex) {
      // segments closed since the copy: keep what is still in the window, read the rest
      long index = c.openIndex - c.segments.size();
      for (List<CurvaturePoint> s : c.segments) {
        if (index >= from) {
          segments.add(s);
        }
        index++;
      }
      next = Math.max(from, c.openIndex);
    }
    for (long i = next; i < openIndex; i++) {
      segments.add(read(jobId, i));
    }
    if (c == null) {
      c = new Known();
      cache.put(jobId, c);
    } else {
      cachedPoints -= c.points;
      if (c.openIndex > openIndex) {
        c.before = null; // the state went back: nothing of the last answer is known to hold
      }
    }
    long points = 0;
    boolean regular = true;
    for (List<CurvaturePoint> s : segments) {
      points += s.size();
      regular &= s.isEmpty() || s.size() == CurvatureRecords.SEGMENT;
    }
    c.openIndex = openIndex;
    c.segments = List.copyOf(segments);
    c.points = points;
    c.regular = regular;
    cachedPoints += points;
    evict(jobId);
    return c;
  }

  private List<CurvaturePoint> read(String jobId, long index) {
    String key = key(jobId, index);
    byte[] bytes = store.get(key);
    return bytes == null ? List.of() : decode(key, bytes); // none: closed before points were kept (an older version)
  }

  private void evict(String keep) {
    Iterator<Map.Entry<String, Known>> it = cache.entrySet().iterator();
    while (cachedPoints > CACHED_POINTS && it.hasNext()) {
      Map.Entry<String, Known> e = it.next();
      if (!e.getKey().equals(keep)) {
        cachedPoints -= e.getValue().points;
        it.remove();
      }
    }
  }

  static String key(String jobId, long index) {
    String digits = Long.toString(index);
    StringBuilder k = new StringBuilder(jobId.length() + 20).append(jobId).append(SEPARATOR);
    for (int i = digits.length(); i < 19; i++) {
      k.append('0');
    }
    return k.append(digits).toString();
  }

  static CurvaturePoint point(Timeline.Point p) {
    return new CurvaturePoint(p.step(), p.appliesFromStep(), (int) p.phase(), p.lambdaMin(), p.lambdaLow(),
        p.lambdaMax(), p.kappa(), p.lambdaMaxBound(), p.probes(), p.preconditioned());
  }

  static List<CurvaturePoint> decode(String key, byte[] bytes) {
    String what = "curvature points " + key.replace(SEPARATOR, '/');
    ByteBuffer b = StateBytes.open(bytes, what, VERSION);
    try {
      int n = StateBytes.count(b, what, "count", POINT_BYTES);
      List<CurvaturePoint> points = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        long step = b.getLong();
        long appliesFrom = b.getLong();
        int phase = b.getInt();
        long probes = b.getLong();
        double lambdaMin = b.getDouble();
        double lambdaLow = b.getDouble();
        double lambdaMax = b.getDouble();
        double kappa = b.getDouble();
        double bound = b.getDouble();
        boolean preconditioned = b.get() != 0;
        points.add(new CurvaturePoint(step, appliesFrom, phase, lambdaMin, lambdaLow, lambdaMax, kappa, bound, probes,
            preconditioned));
      }
      StateBytes.end(b, what);
      return points;
    } catch (BufferUnderflowException e) {
      throw StateBytes.truncated(bytes, what, e);
    }
  }
}
