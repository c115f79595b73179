package io.stepsize.estimator;

import io.stepsize.schedule.CurvaturePoint;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.wire.CurvatureRecords;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The estimates a job had before a probe step, as the schedule reads them: what the edge ratio of a
 * point needs, since the scheduled lr at step p depends on the estimates that apply at or before p
 * (live, latched and continuous φ, revisions: DESIGN.md §1.3–1.6).
 *
 * <p>Durable: one record per (job, probe step) in the store {@link #STORE}, keyed
 * {@code job_id \0 step} (19 digits, so that a job's keys sort by step and no other job's fall
 * between them: job ids never contain \0), holding the newest {@link CurvatureRecords#CAPACITY}
 * points, the ones the service's timeline keeps. An estimate adds or replaces one record and drops
 * at most one, so a probe writes one record of ~110 bytes more to the changelog whatever the
 * timeline's length. The store is not cached (see {@link CurvatureTopology}).
 *
 * <p>Fast: a job's points and its timeline are cached in memory (least recently used jobs out past
 * {@link #CACHED_POINTS} points in all). The cache is only a copy of the store: it is dropped when
 * the processor is (re)initialized, and a job's copy that is ahead of the job's durable state (points
 * of an aborted transaction) is read again from the store.
 */
final class EarlierPoints {
  static final String STORE = "curvature-points";
  /** Points kept in memory over all jobs of a task: tens of MB at most. */
  static final int CACHED_POINTS = 200_000;
  private static final byte VERSION = 1;
  private static final int BYTES = 1 + 3 * Long.BYTES + Integer.BYTES + 5 * Double.BYTES + Byte.BYTES;
  private static final char SEPARATOR = '\u0000';

  private final KeyValueStore<String, byte[]> store;
  private final LinkedHashMap<String, Window> cache = new LinkedHashMap<>(16, 0.75f, true);
  private long cachedPoints;

  /** A job's points in step order, and the timeline of those before {@code before} (null: none built). */
  private static final class Window {
    final ArrayList<CurvaturePoint> points;
    long before = -1;
    CurvatureTimeline timeline;

    Window(ArrayList<CurvaturePoint> points) {
      this.points = points;
    }

    long newest() {
      return points.isEmpty() ? -1 : points.get(points.size() - 1).step();
    }
  }

  EarlierPoints(KeyValueStore<String, byte[]> store) {
    this.store = store;
  }

  /**
   * The job's points at steps before {@code step}, as a timeline. {@code newestProcessed}: the job's
   * latest processed step by its durable state, -1 when none.
   */
  CurvatureTimeline before(String jobId, long step, long newestProcessed) {
    Window w = window(jobId, newestProcessed);
    if (w.timeline == null || w.before != step) {
      List<CurvaturePoint> p = w.points;
      int n = p.size();
      while (n > 0 && p.get(n - 1).step() >= step) {
        n--;
      }
      w.timeline = CurvatureTimeline.of(p.subList(0, n));
      w.before = step;
    }
    return w.timeline;
  }

  /** Adds the job's estimate at {@code point.step()} (replacing one of the same step), dropping the oldest past the capacity. */
  void put(String jobId, CurvaturePoint point, long newestProcessed) {
    Window w = window(jobId, newestProcessed);
    store.put(key(jobId, point.step()), encode(point));
    int n = w.points.size();
    if (n > 0 && w.points.get(n - 1).step() == point.step()) {
      w.points.set(n - 1, point);
    } else {
      w.points.add(point);
      cachedPoints++;
      if (w.points.size() > CurvatureRecords.CAPACITY) {
        store.delete(key(jobId, w.points.remove(0).step()));
        cachedPoints--;
      }
    }
    if (w.before > point.step()) {
      w.timeline = null; // it was built without this point
    }
    evict(jobId);
  }

  /** Forgets the cached copies; the store stays. */
  void clear() {
    cache.clear();
    cachedPoints = 0;
  }

  private Window window(String jobId, long newestProcessed) {
    Window w = cache.get(jobId);
    if (w != null && w.newest() > newestProcessed) {
      // ahead of the durable state: written by a transaction that was aborted since
      cache.remove(jobId);
      cachedPoints -= w.points.size();
      w = null;
    }
    if (w == null) {
      ArrayList<CurvaturePoint> points = new ArrayList<>();
      try (KeyValueIterator<String, byte[]> it = store.range(jobId + SEPARATOR, jobId + (char) (SEPARATOR + 1))) {
        while (it.hasNext()) {
          KeyValue<String, byte[]> kv = it.next();
          points.add(decode(kv.key, kv.value));
        }
      }
      w = new Window(points);
      cache.put(jobId, w);
      cachedPoints += points.size();
      evict(jobId);
    }
    return w;
  }

  private void evict(String keep) {
    Iterator<Map.Entry<String, Window>> it = cache.entrySet().iterator();
    while (cachedPoints > CACHED_POINTS && it.hasNext()) {
      Map.Entry<String, Window> e = it.next();
      if (!e.getKey().equals(keep)) {
        cachedPoints -= e.getValue().points.size();
        it.remove();
      }
    }
  }

  static String key(String jobId, long step) {
    String digits = Long.toString(step);
    StringBuilder k = new StringBuilder(jobId.length() + 20).append(jobId).append(SEPARATOR);
    for (int i = digits.length(); i < 19; i++) {
      k.append('0');
    }
    return k.append(digits).toString();
  }

  static byte[] encode(CurvaturePoint p) {
    return ByteBuffer.allocate(BYTES).put(VERSION).putLong(p.step()).putLong(p.appliesFromStep()).putInt(p.phase())
        .putLong(p.probes()).putDouble(p.lambdaMin()).putDouble(p.lambdaLow()).putDouble(p.lambdaMax())
        .putDouble(p.kappa()).putDouble(p.lambdaMaxBound()).put(p.preconditioned() ? (byte) 1 : (byte) 0).array();
  }

  static CurvaturePoint decode(String key, byte[] bytes) {
    String what = "curvature point " + key.replace(SEPARATOR, '/');
    ByteBuffer b = StateBytes.open(bytes, what, VERSION);
    try {
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
      StateBytes.end(b, what);
      return new CurvaturePoint(step, appliesFrom, phase, lambdaMin, lambdaLow, lambdaMax, kappa, bound, probes,
          preconditioned);
    } catch (BufferUnderflowException e) {
      throw StateBytes.truncated(bytes, what, e);
    }
  }
}
