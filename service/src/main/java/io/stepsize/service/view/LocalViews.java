package io.stepsize.service.view;

import io.stepsize.wire.JobSpecs;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobPlan;
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
 * This replica's in-memory copies of the compacted topics (jobs, curvature, gradient statistics), so a learning rate is a map lookup
 * plus the formula. Readers never block writers: entries are immutable and replaced whole.
 */
public final class LocalViews {
  private static final Logger log = LoggerFactory.getLogger(LocalViews.class);

  /**
   * A job as the hot path needs it: its record on {@code stepsize.jobs} (the spec with its
   * revisions) for GetJob, the parsed plan for the formula, and the tenant that created it (""
   * when the service ran without authentication).
   */
  public record JobEntry(JobSpec spec, JobPlan plan, String owner) {
    /** The schedule in force (the spec with every revision applied): its budget is the job's range of steps. */
    public JobSchedule schedule() {
      return plan.inForce();
    }

    /** The latest revision's number, 0 for none. */
    public int revision() {
      return spec.getRevisionsCount();
    }
  }

  /**
   * What a watcher is told: a new curvature entry ({@code revision} 0), or revision n of the job
   * ({@code revision} n, {@code curvature} the entry in force, null when none yet).
   */
  public record Change(CurvatureEntry curvature, int revision) {}

  /**
   * A job's latest kappa, the phi it brings, the edge ratio at its latest point (NaN when the
   * estimator could not tell) and the time of the probe behind it (epoch ms; -1 unknown), for monitoring.
   */
  public record JobCurvature(String jobId, double kappa, double phi, double edgeRatio, long probeTimeMillis) {}

  /**
   * The latest curvature record of a job and its timeline, parsed once per update, with the
   * record's timestamp: the produce time of the probe that caused it (Streams keeps it), -1 unknown.
   */
  public record CurvatureEntry(Curvature curvature, CurvatureTimeline timeline, long probeTimeMillis) {}

  private final Map<String, JobEntry> jobs = new ConcurrentHashMap<>();
  // ids whose entry is a CreateJob's own write not yet read back (changed only inside jobs.compute of the id)
  private final java.util.Set<String> provisional = ConcurrentHashMap.newKeySet();
  private volatile boolean caughtUp;
  private final Map<String, CurvatureEntry> curvature = new ConcurrentHashMap<>();
  private final Map<String, GradientStatsTimeline> gradientStats = new ConcurrentHashMap<>();
  private final Map<String, CopyOnWriteArrayList<Consumer<Change>>> watchers = new ConcurrentHashMap<>();
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

  /** The job's gradient statistics as last read from {@code stepsize.gradient-stats}, or null. */
  public GradientStatsTimeline gradientStats(String jobId) {
    return gradientStats.get(jobId);
  }

  /** Applies a record of {@code stepsize.gradient-stats}: the job's whole timeline replaces the one here. */
  public void putGradientStats(GradientStatsTimeline t) {
    gradientStats.put(t.getJobId(), t);
  }

  /** A tombstone on {@code stepsize.gradient-stats}: the job's statistics are gone. */
  public void removeGradientStats(String jobId) {
    gradientStats.remove(jobId);
  }

  /** What {@link #putJob} did with a record. */
  public enum Put {
    /** The job's first record (replacing or confirming a provisional entry): it sets the owner. */
    ADDED,
    /** A later record of the owner: its spec replaces the job's. */
    UPDATED,
    /** The same spec and owner again, or an older record of the job than the one here (fewer revisions). */
    UNCHANGED,
    /** A record under another tenant than the job's first record: skipped, the owner stays. */
    FOREIGN_OWNER
  }

  /**
   * Applies a job record read from {@code stepsize.jobs}, written by {@code owner} (the record's
   * tenant header; "" without authentication). The owner of a job is its first record's tenant:
   * a later record under another tenant changes neither the owner nor the spec, so every replica,
   * reading the same partition in the same order, keeps the same owner. A provisional entry
   * ({@link #putProvisionalJob}) is not a record: the record read back replaces it, whoever wrote it.
   *
   * @throws IllegalArgumentException when the spec breaks a rule of the schedule (nothing changes)
   */
  public Put putJob(JobSpec spec, String owner) {
    String id = spec.getJobId();
    Put[] outcome = new Put[1];
    JobPlan[] parsed = new JobPlan[1];
    int[] revisionsBefore = new int[1];
    jobs.compute(id, (k, previous) -> {
      boolean confirmed = previous != null && !provisional.contains(k);
      if (confirmed && !previous.owner().equals(owner)) {
        outcome[0] = Put.FOREIGN_OWNER;
        return previous;
      }
      if (previous != null && previous.spec().equals(spec) && previous.owner().equals(owner)) {
        outcome[0] = confirmed ? Put.UNCHANGED : Put.ADDED;
        provisional.remove(k);
        return previous;
      }
      if (previous != null && spec.getRevisionsCount() < previous.revision()) {
        // revisions only grow: this record is older than one this replica wrote itself (ReviseJob)
        outcome[0] = Put.UNCHANGED;
        return previous;
      }
      parsed[0] = JobSpecs.toPlan(spec); // throws before anything changes
      outcome[0] = confirmed ? Put.UPDATED : Put.ADDED;
      revisionsBefore[0] = previous == null ? 0 : previous.revision();
      provisional.remove(k);
      return new JobEntry(spec, parsed[0], owner);
    });
    if (parsed[0] != null) {
      JobSchedule s = parsed[0].inForce();
      log.info("job {}: {} steps, {} phase(s), policy {}, {} revision(s)", id, s.budget().totalSteps(),
          s.budget().phases(), s.policy(), spec.getRevisionsCount());
      tellRevisions(id, revisionsBefore[0], spec.getRevisionsCount());
    }
    return outcome[0];
  }

  /**
   * Records a job's new record that this replica has just written (ReviseJob), readable at once; the
   * record read back later finds it here unchanged. Refused (false) when the view holds another record
   * with as many revisions or more: it was read meanwhile, came first on the topic and decides.
   */
  public boolean putRevised(JobSpec record, JobPlan plan, String owner) {
    String id = record.getJobId();
    int[] before = {-1};
    boolean[] ours = {true};
    jobs.compute(id, (k, previous) -> {
      if (previous != null && previous.revision() >= record.getRevisionsCount()) {
        // our own record already read back stands; any other came first on the topic
        ours[0] = previous.spec().equals(record);
        return previous;
      }
      before[0] = previous == null ? 0 : previous.revision();
      return new JobEntry(record, plan, owner);
    });
    if (before[0] >= 0) {
      tellRevisions(id, before[0], record.getRevisionsCount());
    }
    return ours[0];
  }

  /** Tells the job's watchers each revision after {@code from} up to {@code to}. */
  private void tellRevisions(String jobId, int from, int to) {
    var list = watchers.get(jobId);
    if (list == null) {
      return;
    }
    for (int n = from + 1; n <= to; n++) {
      Change change = new Change(curvature.get(jobId), n);
      for (Consumer<Change> w : list) {
        w.accept(change);
      }
    }
  }

  /**
   * Records a job this replica has just written (CreateJob), readable at once, until its record is
   * read back by {@link #putJob}. Does nothing when the job's record is already here: that record
   * came first on the topic and decides.
   */
  public void putProvisionalJob(JobSpec spec, JobSchedule schedule, String owner) {
    jobs.computeIfAbsent(spec.getJobId(), k -> {
      provisional.add(k);
      return new JobEntry(spec, JobPlan.of(schedule, List.of(), JobSpecs.stabilityMargin(spec)), owner);
    });
  }

  /** Whether the views have read the jobs and curvature topics to the ends they had at start. */
  public boolean caughtUp() {
    return caughtUp;
  }

  /** Called once the views reached the ends the topics had at start (health turns SERVING then). */
  public void markCaughtUp() {
    caughtUp = true;
  }

  public void removeJob(String jobId) {
    jobs.compute(jobId, (k, previous) -> {
      provisional.remove(k);
      return null;
    });
  }

  /**
   * Jobs in the view owned by {@code owner} ("" for jobs written without authentication). A scan:
   * CreateJob asks once per new job, which a Kafka round trip costs more than.
   */
  public long jobsOwnedBy(String owner) {
    return jobs.values().stream().filter(j -> j.owner().equals(owner)).count();
  }

  /**
   * Up to {@code max} jobs with ids after {@code afterId} that {@code include} accepts, sorted by id.
   * A scan, as {@link #jobsOwnedBy}: listing is an operator's request, not the hot path.
   */
  public List<JobEntry> jobsAfter(String afterId, java.util.function.Predicate<JobEntry> include, int max) {
    return jobs.values().stream()
        .filter(j -> j.spec().getJobId().compareTo(afterId) > 0 && include.test(j))
        .sorted(java.util.Comparator.comparing(j -> j.spec().getJobId()))
        .limit(max)
        .toList();
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
      out.add(new JobCurvature(ids.get(i), c.curvature().getKappa(), inForce(job, c).phi(),
          c.curvature().getEdgeRatio(), c.probeTimeMillis()));
    }
    return out;
  }

  /** {@link #putCurvature(Curvature, long)} with the probe's time unknown. */
  public void putCurvature(Curvature c) {
    putCurvature(c, -1);
  }

  /**
   * Applies a curvature record whose probe was produced at {@code probeTimeMillis} (epoch ms, -1
   * unknown) and tells the job's watchers when the estimate changed.
   */
  public void putCurvature(Curvature c, long probeTimeMillis) {
    CurvatureEntry previous = curvature.get(c.getJobId());
    if (previous != null && previous.curvature().equals(c)) {
      return;
    }
    CurvatureEntry entry = new CurvatureEntry(c, JobSpecs.timeline(c), probeTimeMillis);
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
      Change change = new Change(entry, 0);
      for (Consumer<Change> w : list) {
        w.accept(change);
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
    return at(job, fromStep(job, entry), entry);
  }

  /** The job's answer at a step (clamped into the job) under the estimates of {@code entry} (null: none). */
  public static LrValue at(JobEntry job, long step, CurvatureEntry entry) {
    long s = Math.min(Math.max(0, step), job.schedule().budget().totalSteps() - 1);
    return job.plan().evaluate(s, entry == null ? CurvatureTimeline.EMPTY : entry.timeline());
  }

  /** Registers a watcher of a job's curvature and revisions; the returned handle removes it. */
  public Runnable watch(String jobId, Consumer<Change> watcher) {
    watchers.computeIfAbsent(jobId, k -> new CopyOnWriteArrayList<>()).add(watcher);
    return () -> watchers.computeIfPresent(jobId, (k, list) -> {
      list.remove(watcher);
      return list.isEmpty() ? null : list;
    });
  }
}
