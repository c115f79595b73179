package io.stepsize.service.view;

import io.stepsize.schedule.LrEvaluator;

import io.stepsize.wire.JobSpecs;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrValue;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This replica's in-memory copies of the two compacted topics, so a learning rate is a map lookup
 * plus the formula. Readers never block writers: entries are immutable and replaced whole.
 */
public final class LocalViews {
  private static final Logger log = LoggerFactory.getLogger(LocalViews.class);

  /**
   * A job as the hot path needs it: the spec for GetJob, the parsed schedule for the formula, and
   * the tenant that created it ("" when the service ran without authentication).
   */
  public record JobEntry(JobSpec spec, JobSchedule schedule, String owner) {}

  /** A job's latest kappa and the phi it brings, for monitoring. */
  public record JobCurvature(String jobId, double kappa, double phi) {}

  /** The latest curvature record of a job and its timeline, parsed once per update. */
  public record CurvatureEntry(Curvature curvature, CurvatureTimeline timeline) {}

  private final Map<String, JobEntry> jobs = new ConcurrentHashMap<>();
  private final Map<String, CurvatureEntry> curvature = new ConcurrentHashMap<>();
  private final Map<String, CopyOnWriteArrayList<Consumer<CurvatureEntry>>> watchers = new ConcurrentHashMap<>();
  /** How many recently updated jobs {@link #recentlyUpdated} can name (monitoring keeps fewer). */
  static final int RECENT = 1024;
  // the RECENT job ids with the latest estimates, oldest first (guarded by itself): bounded, so a
  // replica serving millions of jobs neither holds nor copies all their ids for a metrics scrape
  private final LinkedHashMap<String, Boolean> updateOrder = new LinkedHashMap<>() {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
      return size() > RECENT;
    }
  };

  public JobEntry job(String jobId) {
    return jobs.get(jobId);
  }

  public int jobCount() {
    return jobs.size();
  }

  public CurvatureEntry curvature(String jobId) {
    return curvature.get(jobId);
  }

  public CurvatureTimeline timeline(String jobId) {
    CurvatureEntry e = curvature.get(jobId);
    return e == null ? CurvatureTimeline.EMPTY : e.timeline();
  }

  /**
   * Applies a job record written by {@code owner} (the tenant header of the record; "" without
   * authentication). A spec that does not parse is skipped with a warning: the topic is written
   * only through CreateJob, so this means a foreign writer, and one bad record must not stop the view.
   */
  public void putJob(JobSpec spec, String owner) {
    JobEntry previous = jobs.get(spec.getJobId());
    if (previous != null && previous.spec().equals(spec) && previous.owner().equals(owner)) {
      return;
    }
    try {
      jobs.put(spec.getJobId(), new JobEntry(spec, JobSpecs.toSchedule(spec), owner));
    } catch (IllegalArgumentException e) {
      log.warn("skipping job record {}: {}", spec.getJobId(), e.getMessage());
      return;
    }
    JobSchedule s = jobs.get(spec.getJobId()).schedule();
    log.info("job {}: {} steps, {} phase(s), policy {}", spec.getJobId(), s.budget().totalSteps(),
        s.budget().phases(), s.policy());
  }

  public void removeJob(String jobId) {
    jobs.remove(jobId);
  }

  /**
   * Jobs in the view owned by {@code owner} ("" for jobs written without authentication). A scan:
   * CreateJob asks once per new job, which a Kafka round trip costs more than.
   */
  public long jobsOwnedBy(String owner) {
    return jobs.values().stream().filter(j -> j.owner().equals(owner)).count();
  }

  /**
   * The {@code max} (at most {@link #RECENT}) jobs whose estimate changed last, with their kappa
   * and the phi their policy gives from the step the estimate applies from (newest first).
   */
  public List<JobCurvature> recentlyUpdated(int max) {
    List<String> ids;
    synchronized (updateOrder) {
      ids = new ArrayList<>(updateOrder.keySet());
    }
    List<JobCurvature> out = new ArrayList<>(Math.min(max, ids.size()));
    for (int i = ids.size() - 1; i >= 0 && out.size() < max; i--) {
      JobEntry job = jobs.get(ids.get(i));
      CurvatureEntry c = curvature.get(ids.get(i));
      if (job == null || c == null) {
        continue;
      }
      out.add(new JobCurvature(ids.get(i), c.curvature().getKappa(), inForce(job, c).phi()));
    }
    return out;
  }

  /** Applies a curvature record and tells the job's watchers when the estimate changed. */
  public void putCurvature(Curvature c) {
    CurvatureEntry previous = curvature.get(c.getJobId());
    if (previous != null && previous.curvature().equals(c)) {
      return;
    }
    CurvatureEntry entry = new CurvatureEntry(c, JobSpecs.timeline(c));
    curvature.put(c.getJobId(), entry);
    synchronized (updateOrder) {
      updateOrder.remove(c.getJobId());
      updateOrder.put(c.getJobId(), Boolean.TRUE);
    }
    if (previous == null || previous.curvature().getPhase() != c.getPhase()) {
      log.info("job {}: phase {} curvature from step {} (kappa {})", c.getJobId(), c.getPhase(), c.getStep(),
          c.getKappa());
    }
    var list = watchers.get(c.getJobId());
    if (list != null) {
      for (Consumer<CurvatureEntry> w : list) {
        w.accept(entry);
      }
    }
  }

  /** The first step the estimate in {@code entry} (null: none yet) governs, within the job. */
  public static long fromStep(JobEntry job, CurvatureEntry entry) {
    long total = job.schedule().budget().totalSteps();
    return entry == null ? 0 : Math.min(Math.max(0, entry.curvature().getAppliesFromStep()), total - 1);
  }

  /** The job's answer at {@link #fromStep}: the phi (and source) that {@code entry} brings. */
  public static LrValue inForce(JobEntry job, CurvatureEntry entry) {
    return LrEvaluator.evaluate(job.schedule(), fromStep(job, entry),
        entry == null ? CurvatureTimeline.EMPTY : entry.timeline());
  }

  /** Registers a watcher of a job's curvature; the returned handle removes it. */
  public Runnable watch(String jobId, Consumer<CurvatureEntry> watcher) {
    watchers.computeIfAbsent(jobId, k -> new CopyOnWriteArrayList<>()).add(watcher);
    return () -> watchers.computeIfPresent(jobId, (k, list) -> {
      list.remove(watcher);
      return list.isEmpty() ? null : list;
    });
  }
}
