package io.stepsize.service.core;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ListJobsResponse;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.schedule.LrValue;
import io.stepsize.service.security.Caller;
import io.stepsize.service.security.WindowGate;
import io.stepsize.service.view.LocalViews;
import io.stepsize.service.view.LocalViews.CurvatureEntry;
import io.stepsize.service.view.LocalViews.JobEntry;
import io.stepsize.wire.LearningRateProtos;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a caller may read about its jobs, answered from this replica's local views alone (no Kafka
 * on this path, so a broker outage does not stop it): the job, learning rates, the curvature, the
 * gradient statistics and the stream of schedule updates. Refusals are {@link ApiException}s.
 */
public final class Queries {
  private static final Logger log = LoggerFactory.getLogger(Queries.class);
  /** ListJobs' largest page, and its page when page_size is 0. */
  public static final int MAX_PAGE_SIZE = 1000;
  public static final int DEFAULT_PAGE_SIZE = 100;

  private final Jobs jobs;
  private final LocalViews views;
  private final int maxWindow;
  private final int maxWindowNumbers;
  private final WindowGate windows;

  public Queries(Jobs jobs) {
    this.jobs = jobs;
    this.views = jobs.views();
    this.maxWindow = jobs.limits().maxWindow();
    this.maxWindowNumbers = jobs.limits().maxWindowNumbers();
    this.windows = new WindowGate(jobs.limits().maxConcurrentWindows());
  }

  public Job job(Caller caller, String jobId) {
    return Jobs.describe(jobs.admit(caller, jobId));
  }

  /**
   * A page of the caller's jobs sorted by job_id (every job when the service runs without tokens).
   * The page token is the last id of the previous page, so a job created meanwhile with a later id
   * still shows on a later page. UNAVAILABLE until the views have caught up: a partial list would
   * look complete.
   */
  public ListJobsResponse listJobs(Caller caller, long pageSize, String pageToken) {
    if (pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
      throw ApiException.invalid("page_size: must be in [0, " + MAX_PAGE_SIZE + "] (got " + pageSize + ")");
    }
    jobs.requireCaughtUp();
    int size = pageSize == 0 ? DEFAULT_PAGE_SIZE : (int) pageSize;
    // one more than the page tells whether another page follows
    List<JobEntry> found = jobs.list(caller, pageToken, size + 1);
    ListJobsResponse.Builder b = ListJobsResponse.newBuilder();
    for (JobEntry job : found.subList(0, Math.min(size, found.size()))) {
      b.addJobs(Jobs.describe(job.spec(), job.schedule()));
    }
    if (found.size() > size) {
      b.setNextPageToken(found.get(size - 1).spec().getJobId());
    }
    return b.build();
  }

  public LearningRate learningRate(Caller caller, String jobId, long step) {
    JobEntry job = jobs.admit(caller, jobId);
    checkStep("step", step, job);
    return LearningRateProtos.learningRate(jobId, job.plan().evaluate(step, views.timeline(jobId)));
  }

  /**
   * A permit for one window ({@link #learningRates}), released by running the handle once the answer
   * has left the server, or RESOURCE_EXHAUSTED when this replica has its limit of windows in flight.
   * Every transport takes one before it asks for a window.
   */
  public Runnable enterWindow() {
    Runnable release = windows.tryEnter();
    if (release == null) {
      throw ApiException.resourceExhausted("GetLearningRates: this replica is serving its limit of "
          + windows.permits() + " windows at once; retry later");
    }
    return release;
  }

  /**
   * A window that stops at total_steps, and after {@code maxWindowNumbers / max(1, groups)} rates;
   * OUT_OF_RANGE only when from_step is outside the job. Take a permit with {@link #enterWindow} first.
   */
  public LearningRates learningRates(Caller caller, String jobId, long fromStep, long count) {
    return learningRates(caller, jobId, fromStep, count, 1);
  }

  /**
   * Every {@code stride}-th rate from from_step: steps from_step + i·stride for i < count, stopping
   * at total_steps, so a console draws a long budget from a bounded number of points (DESIGN.md
   * §5.2). Stride 1 is GetLearningRates' window, with the same limits on count.
   */
  public LearningRates learningRates(Caller caller, String jobId, long fromStep, long count, long stride) {
    JobEntry job = jobs.admit(caller, jobId);
    if (count < 1 || count > maxWindow) {
      throw ApiException.invalid("count: must be in [1, " + maxWindow + "] (got " + count + ")");
    }
    if (stride < 1) {
      throw ApiException.invalid("stride: must be >= 1 (got " + stride + ")");
    }
    checkStep("from_step", fromStep, job);
    // the answer's size is bounded in numbers, rates × max(1, groups): fewer rates for a job with
    // many groups, as a window stops at total_steps (DESIGN.md §3)
    long rates = Math.min(count, Math.max(1, maxWindowNumbers / Math.max(1, job.schedule().groups().size())));
    long n = job.schedule().budget().windowCount(fromStep, rates, stride);
    var timeline = views.timeline(jobId);
    LearningRates.Builder b = LearningRates.newBuilder();
    for (long i = 0; i < n; i++) {
      b.addRates(LearningRateProtos.learningRate(jobId, job.plan().evaluate(fromStep + i * stride, timeline)));
    }
    return b.build();
  }

  /** The latest estimate and the timeline; probes = 0 before the first estimate. */
  public Curvature curvature(Caller caller, String jobId) {
    JobEntry job = jobs.admit(caller, jobId);
    CurvatureEntry c = views.curvature(jobId);
    return c == null ? Curvature.newBuilder().setJobId(job.spec().getJobId()).build() : c.curvature();
  }

  /**
   * The job's gradient statistics (DESIGN.md §2.1), one point per step, oldest first; no points and
   * reports = 0 before the first report.
   */
  public GradientStatsTimeline gradientStats(Caller caller, String jobId) {
    JobEntry job = jobs.admit(caller, jobId);
    GradientStatsTimeline t = views.gradientStats(jobId);
    return t == null ? GradientStatsTimeline.newBuilder().setJobId(job.spec().getJobId()).build() : t;
  }

  /**
   * Tells {@code updates} the job's current state at once, then one update per change of its
   * estimate and one per revision (from_step = the revision's), until the returned handle is run. Calls of {@code updates} never overlap and come in
   * order; one that throws is logged and the next change is told all the same.
   */
  public Runnable watch(Caller caller, String jobId, Consumer<ScheduleUpdate> updates) {
    JobEntry admitted = jobs.admit(caller, jobId);
    Object lock = new Object();
    // holding the lock while registering keeps a change that arrives meanwhile behind the current state
    synchronized (lock) {
      Runnable unwatch = views.watch(jobId, change -> {
        synchronized (lock) {
          try {
            JobEntry job = jobs.find(caller, jobId).orElseThrow(() -> ApiException.notFound(jobId));
            updates.accept(change.revision() > 0 ? revised(job, change) : update(job, change.curvature()));
          } catch (RuntimeException e) {
            log.debug("watch of {}: no update for this change ({})", jobId, e.getMessage());
          }
        }
      });
      try {
        updates.accept(update(admitted, views.curvature(jobId)));
      } catch (RuntimeException e) {
        unwatch.run();
        throw e;
      }
      return unwatch;
    }
  }

  /**
   * The update for revision n: from its from_step, with the phi and source there and the estimate in
   * force. A watcher drops what it prefetched from that step on.
   */
  private static ScheduleUpdate revised(JobEntry job, LocalViews.Change change) {
    long from = job.spec().getRevisions(change.revision() - 1).getFromStep();
    LrValue v = LocalViews.at(job, from, change.curvature());
    ScheduleUpdate.Builder b = ScheduleUpdate.newBuilder().setJobId(job.spec().getJobId()).setPhi(v.phi())
        .setFromStep(from).setSource(LearningRateProtos.source(v.source())).setRevision(change.revision());
    if (change.curvature() != null) {
      b.setCurvature(change.curvature().curvature().toBuilder().clearTimeline());
    }
    return b.build();
  }

  /** The update for a curvature entry (null: none yet): the estimate and the phi it brings, from when. */
  private static ScheduleUpdate update(JobEntry job, CurvatureEntry entry) {
    LrValue v = LocalViews.inForce(job, entry);
    ScheduleUpdate.Builder b = ScheduleUpdate.newBuilder().setJobId(job.spec().getJobId()).setPhi(v.phi())
        .setFromStep(LocalViews.fromStep(job, entry))
        .setSource(LearningRateProtos.source(v.source())).setRevision(job.revision());
    if (entry != null) {
      // the latest point only: the timeline can be long and a watcher already knows the past
      b.setCurvature(entry.curvature().toBuilder().clearTimeline());
    }
    return b.build();
  }

  /** OUT_OF_RANGE names the total in force and, when a revision set it, which one. */
  private static void checkStep(String field, long step, JobEntry job) {
    if (step < 0) {
      throw ApiException.invalid(field + ": must be >= 0 (got " + step + ")");
    }
    long total = job.schedule().budget().totalSteps();
    if (step >= total) {
      int by = 0;
      for (int n = job.revision(); n >= 1 && by == 0; n--) {
        if (job.spec().getRevisions(n - 1).hasTotalSteps()) {
          by = n;
        }
      }
      throw ApiException.outOfRange(field + ": must be < total_steps = " + total
          + (by > 0 ? ", as revision " + by + " set it" : "") + " (got " + step + ")");
    }
  }
}
