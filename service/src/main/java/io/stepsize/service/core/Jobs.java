package io.stepsize.service.core;

import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.service.security.Caller;
import io.stepsize.service.security.JobRateLimiter;
import io.stepsize.service.security.Limits;
import io.stepsize.service.view.LocalViews;
import io.stepsize.service.view.LocalViews.JobEntry;
import io.stepsize.wire.FieldRules;
import java.util.Optional;

/**
 * The one way from a request to a job: every lookup takes the {@link Caller} and hides a job the
 * caller may not use before any detail of it (its step range, its spec, its existence) can show, and {@link #admit} also takes a permit of the job's request rate. {@link Queries}
 * and {@link Intake} reach jobs only through here, and nothing outside this package can call it.
 */
public final class Jobs {
  private final LocalViews views;
  private final Limits limits;
  private final JobRateLimiter rate; // null: no limit

  public Jobs(LocalViews views, Limits limits) {
    this.views = views;
    this.limits = limits;
    this.rate = limits.requestsPerSecondPerJob() > 0 ? new JobRateLimiter(limits.requestsPerSecondPerJob()) : null;
  }

  /**
   * The job named by a request, if the caller may use it and the job is within its request rate.
   * Another tenant's job is NOT_FOUND with the message of an unknown id, so ids cannot be probed
   * for existence; before the views have caught up a job not (yet) here is UNAVAILABLE instead,
   * since its absence is not known then.
   */
  JobEntry admit(Caller caller, String jobId) {
    // a malformed id names no job; its refusal also keeps a megabyte id out of the NOT_FOUND message
    FieldRules.jobIdViolation(jobId).ifPresent(v -> {
      throw ApiException.invalid(v);
    });
    JobEntry job = find(caller, jobId).orElseThrow(() -> views.caughtUp() ? ApiException.notFound(jobId)
        : ApiException.catchingUp());
    acquire(jobId);
    return job;
  }

  /**
   * The job if there is one the caller may use, for requests where absence is not NOT_FOUND
   * (CreateJob, one probe of many): another tenant's job is absent here. Takes no permit: see
   * {@link #acquire}.
   */
  Optional<JobEntry> find(Caller caller, String jobId) {
    JobEntry job = views.job(jobId);
    return job != null && caller.mayUse(job.owner()) ? Optional.of(job) : Optional.empty();
  }

  /** Up to {@code max} jobs the caller may use with ids after {@code afterId}, sorted by id (ListJobs). */
  java.util.List<JobEntry> list(Caller caller, String afterId, int max) {
    return views.jobsAfter(afterId, job -> caller.mayUse(job.owner()), max);
  }

  /** Whether a job the caller may not use holds the id (CreateJob's ALREADY_EXISTS). */
  boolean takenByAnother(Caller caller, String jobId) {
    JobEntry job = views.job(jobId);
    return job != null && !caller.mayUse(job.owner());
  }

  /** Refuses writes until the views have caught up: a write must see every job written before it. */
  void requireCaughtUp() {
    if (!views.caughtUp()) {
      throw ApiException.catchingUp();
    }
  }

  /** Takes one permit of a job's request rate (a job found by {@link #find}, once the request is valid). */
  void acquire(String jobId) {
    if (rate != null && !rate.tryAcquire(jobId)) {
      throw ApiException.resourceExhausted("job_id: more than " + rate.permitsPerSecond()
          + " requests/s for job '" + jobId + "'; retry later");
    }
  }

  LocalViews views() {
    return views;
  }

  Limits limits() {
    return limits;
  }

  /** The Job message of a spec: what CreateJob answers for a new job. */
  static Job describe(JobSpec spec, JobSchedule schedule) {
    return Job.newBuilder().setSpec(spec).setPhases(schedule.budget().phases())
        .setTotalSteps(schedule.budget().totalSteps()).build();
  }

  /**
   * The Job message of a stored job, what GetJob, CreateJob (a repeat) and ReviseJob answer: the spec
   * as created, its revisions, and the phases and total_steps in force.
   */
  static Job describe(JobEntry job) {
    JobSpec record = job.spec();
    return Job.newBuilder().setSpec(record.toBuilder().clearRevisions()).addAllRevisions(record.getRevisionsList())
        .setPhases(job.schedule().budget().phases()).setTotalSteps(job.schedule().budget().totalSteps()).build();
  }
}
