package io.stepsize.estimator;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.Operator;
import io.stepsize.wire.CurvatureRecords;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serde;

/**
 * A job's curvature state for {@code stepsize.curvature} ({@link CurvatureRecords}): its probe
 * count, the index of its open segment, the open segment's points (at most
 * {@link CurvatureRecords#SEGMENT}), and whether its job record still has to be written. Closed
 * segments are written once, when they close, and never change, so the estimator does not keep
 * them: a job's state stays small however long its timeline grows.
 *
 * <p>Immutable: {@link #add} returns a new value. Its bytes in the store are {@link TimelineCodec}'s.
 *
 * @param jobProbes probes of the job so far ({@code Curvature.probes})
 * @param openIndex index of the open segment: the job's first {@code openIndex·SEGMENT} points are
 *     in closed ones
 * @param dirty true when the job record on the topic is older than this state
 * @param openSegment the open segment's points, oldest first
 */
public record Timeline(long jobProbes, long openIndex, boolean dirty, List<Point> openSegment) {
  private static final Timeline EMPTY = new Timeline(0, 0, false, List.of());

  public Timeline {
    openSegment = List.copyOf(openSegment);
  }

  /**
   * One estimate of the timeline: the fields of a {@link CurvaturePoint}, kept as plain values so
   * that reading a job's state does not build a proto per point. The gradient statistics, the edge
   * ratio and the operator are DESIGN.md §1.7's; a point read from state written before them has NaN
   * statistics and the Hessian operator.
   */
  public record Point(long step, long appliesFromStep, long phase, long probes, double lambdaMin,
      double lambdaMax, double lambdaLow, double kappa, double lambdaMaxBound, double gradientSharpness,
      double lambdaHarmonic, double negativeMass, double edgeRatio, boolean preconditioned) {

    /** A point of the layout before DESIGN.md §1.7: NaN statistics, the Hessian. */
    public Point(long step, long appliesFromStep, long phase, long probes, double lambdaMin, double lambdaMax,
        double lambdaLow, double kappa, double lambdaMaxBound) {
      this(step, appliesFromStep, phase, probes, lambdaMin, lambdaMax, lambdaLow, kappa, lambdaMaxBound, Double.NaN,
          Double.NaN, Double.NaN, Double.NaN, false);
    }

    static Point of(CurvaturePoint p) {
      return new Point(p.getStep(), p.getAppliesFromStep(), p.getPhase(), p.getProbes(), p.getLambdaMin(),
          p.getLambdaMax(), p.getLambdaLow(), p.getKappa(), p.getLambdaMaxBound(), p.getGradientSharpness(),
          p.getLambdaHarmonic(), p.getNegativeMass(), p.getEdgeRatio(),
          p.getOperator() == Operator.OPERATOR_PRECONDITIONED);
    }

    CurvaturePoint toProto() {
      return CurvaturePoint.newBuilder().setStep(step).setAppliesFromStep(appliesFromStep).setPhase(phase)
          .setProbes(probes).setLambdaMin(lambdaMin).setLambdaMax(lambdaMax).setLambdaLow(lambdaLow)
          .setKappa(kappa).setLambdaMaxBound(lambdaMaxBound).setGradientSharpness(gradientSharpness)
          .setLambdaHarmonic(lambdaHarmonic).setNegativeMass(negativeMass).setEdgeRatio(edgeRatio)
          .setOperator(CurvatureRecords.operator(preconditioned)).build();
    }
  }

  public static Timeline empty() {
    return EMPTY;
  }

  public int openCount() {
    return openSegment.size();
  }

  public Timeline withDirty(boolean dirty) {
    return this.dirty == dirty ? this : new Timeline(jobProbes, openIndex, dirty, openSegment);
  }

  /** The state after an estimate, and the segment the estimate closed (null if none). */
  public record Added(Timeline timeline, Curvature closed) {}

  /**
   * With {@code estimate} (a {@link Curvature} with the latest fields and one timeline point)
   * added, marked dirty: it replaces the newest point when that has the same step (another
   * worker's probe for the step was merged in), else it is appended, after closing the open
   * segment when that is full. A point is final once a later step arrives, so a closed segment
   * never changes.
   */
  public Added add(String jobId, Curvature estimate) {
    Point p = Point.of(estimate.getTimeline(0));
    int count = openSegment.size();
    long index = openIndex;
    Curvature closed = null;
    List<Point> next;
    if (count > 0 && p.step() < openSegment.get(count - 1).step()) {
      // the estimator refuses steps before a job's latest, and EarlierPoints relies on rising steps
      throw new IllegalStateException("job '" + jobId + "': estimate of step " + p.step() + " after step "
          + openSegment.get(count - 1).step());
    }
    if (count > 0 && openSegment.get(count - 1).step() == p.step()) {
      next = new ArrayList<>(openSegment);
      next.set(count - 1, p);
    } else if (count == CurvatureRecords.SEGMENT) {
      closed = points(Curvature.newBuilder().setJobId(jobId)).build();
      next = List.of(p);
      index++;
    } else {
      next = new ArrayList<>(count + 1);
      next.addAll(openSegment);
      next.add(p);
    }
    return new Added(new Timeline(estimate.getProbes(), index, true, next), closed);
  }

  private Curvature.Builder points(Curvature.Builder c) {
    for (Point p : openSegment) {
      c.addTimeline(p.toProto());
    }
    return c;
  }

  /** The record under the job's id: the newest estimate's fields and the open segment's points. */
  public Curvature jobRecord(String jobId) {
    Curvature.Builder c = points(Curvature.newBuilder().setJobId(jobId).setProbes(jobProbes));
    int n = c.getTimelineCount();
    return (n == 0 ? c : CurvatureRecords.withLatest(c, c.getTimeline(n - 1))).build();
  }

  public static Serde<Timeline> serde() {
    return TimelineCodec.serde();
  }
}
