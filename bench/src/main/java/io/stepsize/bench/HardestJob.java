package io.stepsize.bench;

import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.PhiMode;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Revision;
import io.stepsize.wire.CurvatureRecords;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * The hardest job of DESIGN.md §6: condition_number in {@code continuous} mode, {@value #REVISIONS}
 * revisions made through ReviseJob, a full curvature timeline ({@link CurvatureRecords#CAPACITY}
 * points) of real estimates from Lanczos probes through the estimator. It is built as a running job
 * is: probes and revisions interleave in step order, each revision a little ahead of the last probe,
 * so every revision's era holds estimates, and in continuous mode each phi change there is a re-plan.
 *
 * <p>The revisions cycle through the kinds of §1.5: new bounds, a value set by hand, a hold (ended by
 * the next revision), and a longer budget with its phase boundaries.
 */
public final class HardestJob {
  private HardestJob() {}

  public static final int REVISIONS = 100;
  public static final long TOTAL_STEPS = 1_000_000;
  /** Steps between two revisions; {@link #PROBE_EVERY} and the timeline cap put estimates in every era. */
  static final long REVISION_EVERY = 4_000;
  static final long PROBE_EVERY = 100;
  static final long FIRST_PROBE = 100;

  /** The spec: today's condition_number job in continuous mode (the guard is not set: see §8). */
  public static JobSpec spec(String jobId) {
    JobSpec base = Workloads.conditionNumberJob(jobId, TOTAL_STEPS);
    PhiPolicy.ConditionNumber cn = base.getPhiPolicy().getConditionNumber().toBuilder()
        .setMode(PhiMode.PHI_MODE_CONTINUOUS).build();
    return base.toBuilder().setPhiPolicy(base.getPhiPolicy().toBuilder().setConditionNumber(cn)).build();
  }

  /** The step of the i-th probe (0-based). */
  static long probeStep(int i) {
    return FIRST_PROBE + PROBE_EVERY * i;
  }

  /**
   * Revisions in the order of §1.5's kinds, tracking the budget in force so that a longer budget
   * lists exactly the boundaries after its from_step.
   */
  static final class Reviser {
    private long total;
    private List<Long> boundaries;
    private int made;

    Reviser(JobSpec spec) {
      total = spec.getTotalSteps();
      boundaries = new ArrayList<>(spec.getPhaseBoundariesList());
    }

    /** The next revision from {@code from}: new bounds, set_lr, hold, or 1,000 more steps. */
    Revision next(long from) {
      int i = made++;
      Revision.Builder r = Revision.newBuilder().setFromStep(from).setReason("bench revision " + (i + 1));
      switch (i % 4) {
        case 0 -> r.setLrMax(0.1 - 0.0002 * (i % 100)).setLrMin(0.001 + 0.00001 * (i % 50));
        case 1 -> r.setSetLr(0.04 + 0.0001 * (i % 100));
        case 2 -> r.setHold(true);
        default -> {
          long newTotal = total + 1_000;
          List<Long> after = new ArrayList<>();
          for (long b : boundaries) {
            if (b > from && b < total) {
              after.add(b);
            }
          }
          after.add(newTotal);
          List<Long> kept = new ArrayList<>();
          for (long b : boundaries) {
            if (b <= from && b < total) {
              kept.add(b);
            }
          }
          kept.addAll(after);
          boundaries = kept;
          total = newTotal;
          r.setTotalSteps(newTotal).addAllPhaseBoundaries(after);
        }
      }
      return r.build();
    }
  }

  /**
   * Creates the job and brings it to {@code revisions} revisions and a timeline of {@code points}
   * estimates (at most the cap), then waits until the last estimate is visible. Returns the job as
   * GetJob answers it.
   */
  public static Job create(StepsizeClient client, String jobId, int revisions, int points)
      throws InterruptedException {
    JobSpec spec = spec(jobId);
    client.createJob(spec);
    Reviser reviser = new Reviser(spec);
    int probes = Math.max(points, 1);
    int made = 0;
    List<ProbeReport> batch = new ArrayList<>();
    for (int i = 0; i < probes; i++) {
      long step = probeStep(i);
      // a revision just ahead of the trainer, as an operator makes it on a running job
      while (made < revisions && (made + 1) * REVISION_EVERY <= step) {
        flush(client, batch);
        client.reviseJob(jobId, reviser.next((made + 1) * REVISION_EVERY), OptionalLong.of(made));
        made++;
      }
      batch.add(Workloads.probe(Workloads.lanczos(20, 5_000 + i), jobId, step));
      if (batch.size() == 256) {
        flush(client, batch);
      }
    }
    flush(client, batch);
    while (made < revisions) {
      client.reviseJob(jobId, reviser.next(probeStep(probes - 1) + (made + 1) * REVISION_EVERY), OptionalLong.of(made));
      made++;
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
    int expected = Math.min(probes, CurvatureRecords.CAPACITY);
    while (client.curvature(jobId).getTimelineCount() < expected
        || client.curvature(jobId).getStep() != probeStep(probes - 1)) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the timeline of " + jobId + " has " + client.curvature(jobId).getTimelineCount()
            + " points after 180 s, expected " + expected);
      }
      Thread.sleep(50);
    }
    return client.getJob(jobId);
  }

  /** The job as GetJob answers it and its curvature as GetCurvature does. */
  public record Built(Job job, Curvature curvature) {}

  /** Starts an embedded node, builds the hardest job ({@value #REVISIONS} revisions, a full timeline), reads it back. */
  public static Built onEmbeddedNode() throws InterruptedException {
    try (BenchNode node = BenchNode.open(null);
        StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(30))) {
      String jobId = "bench-hardest";
      Job job = create(client, jobId, REVISIONS, CurvatureRecords.CAPACITY);
      return new Built(job, client.curvature(jobId));
    }
  }

  private static void flush(StepsizeClient client, List<ProbeReport> batch) {
    if (!batch.isEmpty()) {
      client.reportProbes(batch);
      batch.clear();
    }
  }
}
