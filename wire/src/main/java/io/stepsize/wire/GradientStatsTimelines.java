package io.stepsize.wire;

import io.stepsize.proto.v1.GradientStats;
import io.stepsize.proto.v1.GradientStatsPoint;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.ProbeReport;
import java.util.List;

/**
 * How a job's gradient statistics are kept (DESIGN.md §2.1): the rule the estimator applies to each
 * report before it writes the job's timeline to {@code stepsize.gradient-stats}, one record per job.
 *
 * <ul>
 *   <li>One point per step, as the curvature timeline has: the reports of one step (data-parallel
 *       workers) are combined into it, loss and grad_norm as their means, microbatch norms
 *       concatenated in arrival order. A report for an earlier step than the newest joins that step's
 *       point or is inserted in step order: workers' producers need not be in step with each other.
 *   <li>Bounded as the curvature timeline is: its newest {@link #CAPACITY} points. A report older
 *       than every kept point of a full timeline counts in {@code reports} and is not kept.
 *   <li>At most {@link #MAX_MICROBATCH_NORMS} microbatch norms in all, so that the record stays under
 *       Kafka's default 1 MiB whatever the trainers send: the oldest points lose theirs first.
 * </ul>
 *
 * <p>Why the mean grad_norm: under data parallelism each worker either reports the norm of the
 * synchronized (all-reduced) gradient, the same on every worker, which the mean keeps exactly, or the
 * norm of its own shard's gradient, whose mean bounds the norm of the averaged gradient from above
 * (triangle inequality). The norms alone cannot give that norm exactly; the microbatch norms are kept
 * as they came for whoever wants their spread.
 */
public final class GradientStatsTimelines {
  /** Points a timeline keeps (the newest): the curvature timeline's bound, one definition for both. */
  public static final int CAPACITY = CurvatureRecords.CAPACITY;
  /**
   * Microbatch norms kept over a whole timeline: 512 KiB of doubles, which with {@link #CAPACITY}
   * points of about 30 bytes keeps a record near 640 KiB, under Kafka's default 1 MiB.
   */
  public static final int MAX_MICROBATCH_NORMS = 65_536;

  private GradientStatsTimelines() {}

  /** A job's timeline before its first report. */
  public static GradientStatsTimeline empty(String jobId) {
    return GradientStatsTimeline.newBuilder().setJobId(jobId).build();
  }

  /**
   * {@code timeline} with one more report: the statistics {@code g} of step {@code step}, already
   * valid ({@link ProbeValidation#violation(GradientStats)}) and within the job.
   */
  public static GradientStatsTimeline add(GradientStatsTimeline timeline, long step, GradientStats g) {
    GradientStatsTimeline.Builder t = timeline.toBuilder();
    addTo(t, step, g);
    return t.build();
  }

  /**
   * {@code timeline} with the reports added in their order, each as {@link #add} adds it: one copy of the
   * timeline for all of them, where {@link #add} copies it once per report.
   */
  public static GradientStatsTimeline addAll(GradientStatsTimeline timeline, List<ProbeReport> reports) {
    GradientStatsTimeline.Builder t = timeline.toBuilder();
    for (ProbeReport r : reports) {
      addTo(t, r.getStep(), r.getGradient());
    }
    return t.build();
  }

  private static void addTo(GradientStatsTimeline.Builder t, long step, GradientStats g) {
    t.setReports(t.getReports() + 1);
    int n = t.getPointsCount();
    int i = indexOf(t, step);
    if (i >= 0) {
      t.setPoints(i, combined(t.getPoints(i), g));
    } else {
      int at = -i - 1;
      if (at == 0 && n >= CAPACITY) {
        return; // older than every kept point of a full timeline: it would leave at once
      }
      t.addPoints(at, GradientStatsPoint.newBuilder().setStep(step).setLoss(g.getLoss()).setGradNorm(g.getGradNorm())
          .addAllMicrobatchGradNorms(g.getMicrobatchGradNormsList()).setWorkers(1).build());
      if (n + 1 > CAPACITY) {
        t.removePoints(0);
      }
    }
    boundMicrobatchNorms(t);
  }

  /** The index of the point of {@code step}, or -(insertion point) - 1, as Arrays.binarySearch. */
  private static int indexOf(GradientStatsTimeline.Builder t, long step) {
    int lo = 0;
    int hi = t.getPointsCount() - 1;
    // reports come mostly in step order: the newest point, or after it, in O(1)
    if (hi < 0 || t.getPoints(hi).getStep() < step) {
      return -(hi + 1) - 1;
    }
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      long s = t.getPoints(mid).getStep();
      if (s < step) {
        lo = mid + 1;
      } else if (s > step) {
        hi = mid - 1;
      } else {
        return mid;
      }
    }
    return -lo - 1;
  }

  private static GradientStatsPoint combined(GradientStatsPoint p, GradientStats g) {
    int w = p.getWorkers();
    return p.toBuilder().setLoss((p.getLoss() * w + g.getLoss()) / (w + 1))
        .setGradNorm((p.getGradNorm() * w + g.getGradNorm()) / (w + 1))
        .addAllMicrobatchGradNorms(g.getMicrobatchGradNormsList()).setWorkers(w + 1).build();
  }

  /** Clears the oldest points' microbatch norms until at most {@link #MAX_MICROBATCH_NORMS} are left. */
  private static void boundMicrobatchNorms(GradientStatsTimeline.Builder t) {
    long total = 0;
    for (int i = 0; i < t.getPointsCount(); i++) {
      total += t.getPoints(i).getMicrobatchGradNormsCount();
    }
    for (int i = 0; total > MAX_MICROBATCH_NORMS && i < t.getPointsCount(); i++) {
      GradientStatsPoint p = t.getPoints(i);
      int k = p.getMicrobatchGradNormsCount();
      if (k == 0) {
        continue;
      }
      long over = total - MAX_MICROBATCH_NORMS;
      if (i == t.getPointsCount() - 1 && over < k) {
        // the newest point alone: keep its first norms
        t.setPoints(i, p.toBuilder().clearMicrobatchGradNorms()
            .addAllMicrobatchGradNorms(p.getMicrobatchGradNormsList().subList(0, (int) (k - over))).build());
        total -= over;
      } else {
        t.setPoints(i, p.toBuilder().clearMicrobatchGradNorms().build());
        total -= k;
      }
    }
  }
}
