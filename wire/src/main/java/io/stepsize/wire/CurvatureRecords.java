package io.stepsize.wire;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.Operator;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * How a job's curvature lies on the compacted topic {@code stepsize.curvature}: one record under
 * the job's id, with the latest estimate and the newest (open) segment of its timeline, and one
 * record per closed segment of {@link #SEGMENT} points under {@link #segmentKey}. A reader gets the
 * whole timeline with {@link #assemble}.
 *
 * <p>Why segments: a record holding the whole timeline (up to {@link #CAPACITY} points, about
 * 240 KiB) would be rewritten, twice with its changelog, for every estimate of a long-running job;
 * with segments an estimate rewrites at most two segments, however long the timeline.
 *
 * <p>All records of a job go to the partition of its id (the estimator's partitioner reads the
 * job id out of a segment key with {@link #jobIdOf}), so a reader sees a closed segment before the
 * job record that moved past it.
 */
public final class CurvatureRecords {
  /** Points a job's timeline keeps (the newest). */
  public static final int CAPACITY = 4096;
  /** Points per segment record. */
  public static final int SEGMENT = 64;
  /** Closed segments kept on the topic: with the open one, always at least {@link #CAPACITY} points. */
  public static final int RETAINED_SEGMENTS = CAPACITY / SEGMENT;

  /** Starts every segment key; no job id contains it ({@link FieldRules}), so the two kinds never collide. */
  private static final char MARK = '\u0000';

  private CurvatureRecords() {}

  /** The key of segment {@code index} (0, 1, …: its points are the job's {@code index·SEGMENT}-th onwards). */
  public static String segmentKey(String jobId, long index) {
    return MARK + Long.toString(index) + MARK + jobId;
  }

  public static boolean isSegmentKey(String key) {
    return key != null && !key.isEmpty() && key.charAt(0) == MARK;
  }

  /** The job a record's key belongs to: the key itself, or the job id inside a segment key. */
  public static String jobIdOf(String key) {
    if (!isSegmentKey(key)) {
      return key;
    }
    int second = key.indexOf(MARK, 1);
    if (second < 0) {
      throw new IllegalArgumentException("not a curvature segment key: " + key.replace(MARK, '\\'));
    }
    return key.substring(second + 1);
  }

  public static long segmentIndexOf(String key) {
    int second = key.indexOf(MARK, 1);
    if (!isSegmentKey(key) || second < 0) {
      throw new IllegalArgumentException("not a curvature segment key: " + key.replace(MARK, '\\'));
    }
    return Long.parseLong(key.substring(1, second));
  }

  /** Sets a curvature's latest-estimate fields from its newest timeline point. */
  public static Curvature.Builder withLatest(Curvature.Builder c, CurvaturePoint last) {
    return c.setPhase(last.getPhase()).setStep(last.getStep()).setLambdaMin(last.getLambdaMin())
        .setLambdaMax(last.getLambdaMax()).setLambdaLow(last.getLambdaLow()).setKappa(last.getKappa())
        .setLambdaMaxBound(last.getLambdaMaxBound()).setAppliesFromStep(last.getAppliesFromStep())
        .setGradientSharpness(last.getGradientSharpness()).setLambdaHarmonic(last.getLambdaHarmonic())
        .setNegativeMass(last.getNegativeMass()).setEdgeRatio(last.getEdgeRatio()).setOperator(last.getOperator());
  }

  /**
   * The operator field of a point: OPERATOR_PRECONDITIONED, or unset for the Hessian, which is what
   * unset means, so that points written before the field and after it compare equal (as
   * {@link JobSpecs#toProto(io.stepsize.schedule.CurvaturePoint)} writes them).
   */
  public static Operator operator(boolean preconditioned) {
    return preconditioned ? Operator.OPERATOR_PRECONDITIONED : Operator.OPERATOR_UNSPECIFIED;
  }

  /**
   * The job's curvature as one message: the job record's latest fields, and the timeline made of
   * the segments (in index order) followed by the job record's points. A step present twice keeps
   * its later version (a segment a reader got before the job record that closed it overlaps that
   * record's predecessor point for point). Only the newest {@link #CAPACITY} points are kept.
   */
  public static Curvature assemble(Curvature job, Collection<Curvature> segmentsInIndexOrder) {
    if (segmentsInIndexOrder.isEmpty()) {
      return job;
    }
    List<CurvaturePoint> points = new ArrayList<>();
    for (Curvature s : segmentsInIndexOrder) {
      append(points, s.getTimelineList());
    }
    append(points, job.getTimelineList());
    int from = Math.max(0, points.size() - CAPACITY);
    return job.toBuilder().clearTimeline().addAllTimeline(points.subList(from, points.size())).build();
  }

  /** Appends, dropping points not newer than the last kept one, except that an equal step replaces it. */
  private static void append(List<CurvaturePoint> points, List<CurvaturePoint> more) {
    for (CurvaturePoint p : more) {
      int n = points.size();
      long last = n == 0 ? Long.MIN_VALUE : points.get(n - 1).getStep();
      if (p.getStep() > last) {
        points.add(p);
      } else {
        // the same step again, or an older one already covered: remove what it overlaps, keep the later
        int i = n - 1;
        while (i >= 0 && points.get(i).getStep() >= p.getStep()) {
          i--;
        }
        points.subList(i + 1, n).clear();
        points.add(p);
      }
    }
  }
}
