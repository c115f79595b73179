package io.stepsize.service;

import io.stepsize.wire.RecordHeaders;

import io.stepsize.schedule.LrEvaluator;

import io.stepsize.wire.Topics;
import io.stepsize.wire.ProbeValidation;
import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.LearningRateProtos;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrValue;
import io.stepsize.service.view.LocalViews;
import io.stepsize.service.view.LocalViews.CurvatureEntry;
import io.stepsize.service.view.LocalViews.JobEntry;
import io.stepsize.service.security.JobRateLimiter;
import io.stepsize.service.security.Limits;
import io.stepsize.service.view.ViewLoader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * What the RPCs do, without gRPC plumbing: job creation with read-your-writes, learning rates from
 * the local views, probe validation and publishing. Failures are status exceptions from
 * {@link ApiErrors}.
 */
public final class StepsizeCore {
  private static final long PRODUCE_TIMEOUT_MS = 10_000;

  private final LocalViews views;
  private final Producer<String, byte[]> producer;
  private final Topics topics;
  private final Limits limits;
  private final JobRateLimiter rate;

  public StepsizeCore(LocalViews views, Producer<String, byte[]> producer, Topics topics) {
    this(views, producer, topics, Limits.DEFAULT);
  }

  public StepsizeCore(LocalViews views, Producer<String, byte[]> producer, Topics topics, Limits limits) {
    this.views = views;
    this.producer = producer;
    this.topics = topics;
    this.limits = limits;
    this.rate = limits.requestsPerSecondPerJob() > 0 ? new JobRateLimiter(limits.requestsPerSecondPerJob()) : null;
  }

  /**
   * The job, if {@code tenant} may use it and it is within its request rate. A null tenant means
   * the service runs without authentication; then every job is everyone's.
   */
  public JobEntry admit(String tenant, String jobId) {
    JobEntry job = requireJob(jobId);
    checkOwner(tenant, job);
    acquire(jobId);
    return job;
  }

  private void acquire(String jobId) {
    if (rate != null && !rate.tryAcquire(jobId)) {
      throw ApiErrors.resourceExhausted("job_id: more than " + rate.permitsPerSecond()
          + " requests/s for job '" + jobId + "'; retry later");
    }
  }

  private static void checkOwner(String tenant, JobEntry job) {
    if (tenant != null && !tenant.equals(job.owner())) {
      throw ApiErrors.permissionDenied("job_id: job '" + job.spec().getJobId() + "' belongs to another tenant");
    }
  }

  public LocalViews views() {
    return views;
  }

  /** Idempotent for an identical spec; the job is readable here as soon as this returns. */
  public Job createJob(JobSpec spec) {
    return createJob(spec, null);
  }

  /** As {@link #createJob(JobSpec)}, owned by {@code tenant} (null without authentication). */
  public Job createJob(JobSpec spec, String tenant) {
    JobSchedule schedule;
    try {
      schedule = JobSpecs.toSchedule(spec);
    } catch (IllegalArgumentException e) {
      throw ApiErrors.invalid("spec." + e.getMessage());
    }
    JobEntry existing = views.job(spec.getJobId());
    if (existing != null) {
      checkOwner(tenant, existing);
      if (existing.spec().equals(spec)) {
        return job(existing);
      }
      throw ApiErrors.alreadyExists(spec.getJobId());
    }
    String owner = tenant == null ? "" : tenant;
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.jobs().name(), spec.getJobId(), spec.toByteArray());
    if (tenant != null) {
      record.headers().add(RecordHeaders.OWNER, owner.getBytes(StandardCharsets.UTF_8));
    }
    await(List.of(producer.send(record)), "could not store the job");
    views.putJob(spec, owner);
    return Job.newBuilder().setSpec(spec).setPhases(schedule.budget().phases()).build();
  }

  public Job getJob(String jobId) {
    return getJob(null, jobId);
  }

  /** The job, for {@code tenant} (null without authentication): one lookup admits and answers. */
  public Job getJob(String tenant, String jobId) {
    return job(admit(tenant, jobId));
  }

  public LearningRate learningRate(String jobId, long step) {
    return learningRate(null, jobId, step);
  }

  public LearningRate learningRate(String tenant, String jobId, long step) {
    JobEntry job = admit(tenant, jobId);
    checkStep("step", step, job.schedule());
    return LearningRateProtos.learningRate(jobId, evaluate(job, jobId, step));
  }

  /** A window that stops at total_steps; OUT_OF_RANGE only when from_step is outside the job. */
  public LearningRates learningRates(String jobId, long fromStep, long count) {
    return learningRates(null, jobId, fromStep, count);
  }

  public LearningRates learningRates(String tenant, String jobId, long fromStep, long count) {
    JobEntry job = admit(tenant, jobId);
    if (count < 1 || count > limits.maxWindow()) {
      throw ApiErrors.invalid("count: must be in [1, " + limits.maxWindow() + "] (got " + count + ")");
    }
    checkStep("from_step", fromStep, job.schedule());
    long end = Math.min(job.schedule().budget().totalSteps(), fromStep + count);
    var timeline = views.timeline(jobId);
    LearningRates.Builder b = LearningRates.newBuilder();
    for (long s = fromStep; s < end; s++) {
      b.addRates(LearningRateProtos.learningRate(jobId, LrEvaluator.evaluate(job.schedule(), s, timeline)));
    }
    return b.build();
  }

  /** Validates every probe, then publishes all of them; one bad probe rejects the request. */
  public long reportProbes(List<ProbeReport> probes) {
    return reportProbes(probes, null);
  }

  /** As {@link #reportProbes(List)}, for probes of jobs that {@code tenant} owns; one permit per job. */
  public long reportProbes(List<ProbeReport> probes, String tenant) {
    if (probes.isEmpty()) {
      throw ApiErrors.invalid("probes: must not be empty");
    }
    // one lookup per job, and ownership before any detail of the job (its step range) can show
    Map<String, JobEntry> jobs = new LinkedHashMap<>();
    for (ProbeReport p : probes) {
      JobEntry job = jobs.computeIfAbsent(p.getJobId(), views::job);
      if (job != null) {
        checkOwner(tenant, job);
      }
    }
    for (int i = 0; i < probes.size(); i++) {
      String problem = probeProblem(probes.get(i), jobs.get(probes.get(i).getJobId()));
      if (problem != null) {
        throw ApiErrors.invalid("probes[" + i + "]." + problem);
      }
    }
    jobs.keySet().forEach(this::acquire);
    List<Future<RecordMetadata>> sent = new ArrayList<>(probes.size());
    for (ProbeReport p : probes) {
      sent.add(producer.send(new ProducerRecord<>(topics.probes().name(), p.getJobId(), p.toByteArray())));
    }
    await(sent, "could not publish the probes");
    return probes.size();
  }

  /** The latest estimate and the timeline; probes = 0 before the first estimate. */
  public Curvature curvature(String jobId) {
    return curvature(null, jobId);
  }

  public Curvature curvature(String tenant, String jobId) {
    JobEntry job = admit(tenant, jobId);
    CurvatureEntry c = views.curvature(jobId);
    if (c == null) {
      return Curvature.newBuilder().setJobId(job.spec().getJobId()).build();
    }
    return c.curvature();
  }

  /** The update a watcher gets for a curvature entry: the estimate and the phi it brings, from when. */
  public ScheduleUpdate update(String jobId, CurvatureEntry entry) {
    JobEntry job = requireJob(jobId);
    LrValue v = LocalViews.inForce(job, entry);
    ScheduleUpdate.Builder b = ScheduleUpdate.newBuilder().setJobId(jobId).setPhi(v.phi())
        .setFromStep(LocalViews.fromStep(job, entry))
        .setSource(LearningRateProtos.source(v.source()));
    if (entry != null) {
      // the latest point only: the timeline can be long and a watcher already knows the past
      b.setCurvature(entry.curvature().toBuilder().clearTimeline());
    }
    return b.build();
  }

  public JobEntry requireJob(String jobId) {
    if (jobId.isEmpty()) {
      throw ApiErrors.invalid("job_id: must not be empty");
    }
    JobEntry job = views.job(jobId);
    if (job == null) {
      throw ApiErrors.notFound(jobId);
    }
    return job;
  }

  private LrValue evaluate(JobEntry job, String jobId, long step) {
    return LrEvaluator.evaluate(job.schedule(), step, views.timeline(jobId));
  }

  private static void checkStep(String field, long step, JobSchedule schedule) {
    if (step < 0) {
      throw ApiErrors.invalid(field + ": must be >= 0 (got " + step + ")");
    }
    long total = schedule.budget().totalSteps();
    if (step >= total) {
      throw ApiErrors.outOfRange(field + ": must be < total_steps = " + total + " (got " + step + ")");
    }
  }

  /** What is wrong with a probe of {@code job} (null: no such job), or null. */
  private String probeProblem(ProbeReport p, JobEntry job) {
    if (p.getJobId().isEmpty()) {
      return "job_id: must not be empty";
    }
    if (job == null) {
      return "job_id: no job '" + p.getJobId() + "'";
    }
    long total = job.schedule().budget().totalSteps();
    if (p.getStep() < 0 || p.getStep() >= total) {
      return "step: must be in [0, total_steps = " + total + ") (got " + p.getStep() + ")";
    }
    return switch (p.getPayloadCase()) {
      case LANCZOS -> p.getLanczos().getAlphaCount() > limits.maxProbeSteps()
          ? "lanczos: m must be <= " + limits.maxProbeSteps() + " on this service (got m = "
              + p.getLanczos().getAlphaCount() + ")"
          : ProbeValidation.violation(p.getLanczos()).orElse(null);
      case GRADIENT -> Double.isFinite(p.getGradient().getLoss()) && Double.isFinite(p.getGradient().getGradNorm())
          && p.getGradient().getGradNorm() >= 0 ? null : "gradient: loss and grad_norm must be finite, grad_norm >= 0";
      case PAYLOAD_NOT_SET -> "payload: one of lanczos or gradient is required";
    };
  }

  private static void await(List<Future<RecordMetadata>> futures, String what) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PRODUCE_TIMEOUT_MS);
    try {
      for (Future<RecordMetadata> f : futures) {
        f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw ApiErrors.unavailable(what + ": Kafka did not acknowledge in time ("
          + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiErrors.unavailable(what + ": interrupted", e);
    }
  }

  private static Job job(JobEntry e) {
    return Job.newBuilder().setSpec(e.spec()).setPhases(e.schedule().budget().phases()).build();
  }
}
