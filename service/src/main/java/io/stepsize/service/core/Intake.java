package io.stepsize.service.core;

import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.service.security.Caller;
import io.stepsize.service.security.Limits;
import io.stepsize.service.view.LocalViews;
import io.stepsize.service.view.LocalViews.CurvatureEntry;
import io.stepsize.service.view.LocalViews.JobEntry;
import io.stepsize.wire.FieldRules;
import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.ProbeValidation;
import io.stepsize.wire.RecordHeaders;
import io.stepsize.wire.Topics;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * What a caller writes: job specs to {@code stepsize.jobs} and probes to {@code stepsize.probes},
 * each validated whole before anything is published, and acknowledged by Kafka before the call
 * returns. Refusals are {@link ApiException}s.
 */
public final class Intake {
  private static final long PRODUCE_TIMEOUT_MS = 10_000;

  private final Jobs jobs;
  private final LocalViews views;
  private final int maxProbeSteps;
  private final Producer<String, byte[]> producer;
  private final Topics topics;

  public Intake(Jobs jobs, Producer<String, byte[]> producer, Topics topics) {
    this.jobs = jobs;
    this.views = jobs.views();
    this.maxProbeSteps = jobs.limits().maxProbeSteps();
    this.producer = producer;
    this.topics = topics;
  }

  /**
   * Idempotent for an identical spec, after defaults are written out ({@link JobSpecs#normalized}):
   * it answers the job as stored. The job is readable here as soon as this returns, and belongs to
   * the caller's tenant (to none for {@link Caller#ANONYMOUS}).
   */
  public Job createJob(Caller caller, JobSpec spec) {
    checkBounds(spec);
    JobSchedule schedule;
    try {
      schedule = JobSpecs.toSchedule(spec);
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid("spec." + e.getMessage());
    }
    jobs.requireCaughtUp();
    if (jobs.takenByAnother(caller, spec.getJobId())) {
      throw ApiException.taken(spec.getJobId());
    }
    Optional<JobEntry> existing = jobs.find(caller, spec.getJobId());
    if (existing.isPresent()) {
      JobSpec stored = existing.get().spec();
      if (stored.equals(spec) || JobSpecs.normalized(stored).equals(JobSpecs.normalized(spec))) {
        return Jobs.describe(existing.get());
      }
      throw ApiException.alreadyExists(spec.getJobId());
    }
    int maxJobs = jobs.limits().maxJobsPerTenant();
    long owned = views.jobsOwnedBy(caller.tenant());
    if (owned >= maxJobs) {
      throw ApiException.resourceExhausted("job_id: " + (caller.authenticated() ? "tenant '" + caller.tenant() + "'"
          : "the service (no tokens: one tenant)") + " has " + owned + " jobs, the limit of " + maxJobs
          + " jobs per tenant; use an existing job");
    }
    await(List.of(producer.send(jobRecord(topics, spec, caller.tenant()))), "could not store the job");
    views.putProvisionalJob(spec, schedule, caller.tenant());
    // a record read back meanwhile came first on the topic (a racing CreateJob elsewhere) and decides
    if (jobs.takenByAnother(caller, spec.getJobId())) {
      throw ApiException.taken(spec.getJobId());
    }
    JobEntry now = views.job(spec.getJobId());
    if (now != null && !now.spec().equals(spec)) {
      throw ApiException.alreadyExists(spec.getJobId());
    }
    return Jobs.describe(spec, schedule);
  }

  /** The longest reason a revision may give: it is stored with the job and shown by GetJob. */
  public static final int MAX_REASON_CHARS = 1000;

  /**
   * Appends a revision to a job (DESIGN.md §1.5): validated against the schedule in force, numbered
   * latest + 1, authored by the caller's tenant, stored on {@code stepsize.jobs} as the job's record
   * with every revision (so compaction keeps them all), readable here as soon as this returns. A
   * repeat of the latest revision with the same content answers the job unchanged. Another tenant's
   * job is NOT_FOUND, as for every RPC. Revisions made on this replica are made one at a time; two
   * replicas revising one job at once both write, and the later record on the topic stands (the
   * earlier caller's revision is then not in the job: GetJob shows which one is).
   */
  public synchronized Job reviseJob(Caller caller, String jobId, io.stepsize.proto.v1.Revision revision,
      OptionalLong expectedRevision) {
    jobs.requireCaughtUp();
    JobEntry job = jobs.admit(caller, jobId);
    if (revision.getNumber() != 0 || !revision.getAuthor().isEmpty() || revision.hasCreated()) {
      throw ApiException.invalid("revision: number, author and created are set by the service; leave them unset"
          + " (got number " + revision.getNumber() + ")");
    }
    if (revision.getReason().length() > MAX_REASON_CHARS) {
      throw ApiException.invalid("revision.reason: must be at most " + MAX_REASON_CHARS + " characters (got "
          + revision.getReason().length() + ")");
    }
    int latest = job.revision();
    if (latest > 0 && sameContent(job.spec().getRevisions(latest - 1), revision)) {
      return Jobs.describe(job); // an identical repeat of the latest revision
    }
    if (expectedRevision.isPresent()) {
      long expected = expectedRevision.getAsLong();
      if (expected < 0) {
        throw ApiException.invalid("expected_revision: must be >= 0 (got " + expected + ")");
      }
      if (expected < latest) {
        throw new ApiException(ApiException.Kind.FAILED_PRECONDITION, "expected_revision: the job has revision "
            + latest + ", later than " + expected + "; read it with GetJob and revise again if still wanted");
      }
      if (expected > latest) {
        throw ApiException.unavailable("expected_revision: this replica knows revision " + latest + " of job '"
            + jobId + "', not yet " + expected + "; retry in a moment", null);
      }
    }
    io.stepsize.schedule.JobPlan plan;
    try {
      plan = job.plan().revise(JobSpecs.revision(revision));
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid("revision." + e.getMessage());
    }
    java.time.Instant now = java.time.Instant.now();
    io.stepsize.proto.v1.Revision stored = revision.toBuilder().setNumber(latest + 1L).setAuthor(caller.tenant())
        .setCreated(com.google.protobuf.Timestamp.newBuilder().setSeconds(now.getEpochSecond()).setNanos(now.getNano()))
        .build();
    JobSpec record = job.spec().toBuilder().addRevisions(stored).build();
    FieldRules.recordSizeViolation("revision", record.getSerializedSize()).ifPresent(v -> {
      throw ApiException.resourceExhausted(v.replace("revision: ", "revision: the job's record with it ")
          + "; create a new job to continue");
    });
    await(List.of(producer.send(jobRecord(topics, record, job.owner()))), "could not store the revision");
    if (!views.putRevised(record, plan, job.owner())) {
      // a record read back meanwhile came first on the topic (a revision on another replica) and decides
      throw new ApiException(ApiException.Kind.FAILED_PRECONDITION, "expected_revision: the job was revised "
          + "elsewhere meanwhile (it has revision " + views.job(jobId).revision() + "); read it with GetJob");
    }
    return Jobs.describe(views.job(jobId));
  }

  /** Whether a stored revision has the content of a request's (number, author and created aside). */
  private static boolean sameContent(io.stepsize.proto.v1.Revision stored, io.stepsize.proto.v1.Revision request) {
    return stored.toBuilder().clearNumber().clearAuthor().clearCreated().build().equals(request);
  }

  /** The record of a job on {@code stepsize.jobs}: keyed by its id, its owner (if any) in a header. */
  public static ProducerRecord<String, byte[]> jobRecord(Topics topics, JobSpec spec, String owner) {
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.jobs().name(), spec.getJobId(), spec.toByteArray());
    if (!owner.isEmpty()) {
      record.headers().add(RecordHeaders.OWNER, owner.getBytes(StandardCharsets.UTF_8));
    }
    return record;
  }

  /**
   * This service's bounds of a spec, before anything parses it: the job_id rule first (an id of a
   * megabyte must not be echoed, nor counted as spec bytes), then the groups, then the size.
   */
  private void checkBounds(JobSpec spec) {
    FieldRules.jobIdViolation(spec.getJobId()).ifPresent(v -> {
      throw ApiException.invalid("spec." + v);
    });
    if (spec.getRevisionsCount() > 0) {
      throw ApiException.invalid("spec.revisions: must be empty; a job is revised with ReviseJob (got "
          + spec.getRevisionsCount() + ")");
    }
    Limits limits = jobs.limits();
    if (spec.getGroupsCount() > limits.maxGroups()) {
      throw ApiException.invalid("spec.groups: must have at most " + limits.maxGroups()
          + " groups on this service (got " + spec.getGroupsCount() + ")");
    }
    if (spec.getSerializedSize() > limits.maxSpecBytes()) {
      throw ApiException.invalid("spec: must serialize to at most " + limits.maxSpecBytes()
          + " bytes on this service (got " + spec.getSerializedSize() + ")");
    }
  }

  /**
   * Validates every probe, then publishes all of them: one bad probe rejects the request, naming
   * its index. A probe of another tenant's job reads as one of an unknown job, so it learns nothing
   * about it; each job named takes one permit of its request rate.
   */
  public long reportProbes(Caller caller, List<ProbeReport> probes) {
    if (probes.isEmpty()) {
      throw ApiException.invalid("probes: must not be empty");
    }
    jobs.requireCaughtUp();
    Map<String, JobEntry> named = new LinkedHashMap<>(); // null: no such job
    for (ProbeReport p : probes) {
      if (!named.containsKey(p.getJobId())) {
        named.put(p.getJobId(), jobs.find(caller, p.getJobId()).orElse(null));
      }
    }
    for (int i = 0; i < probes.size(); i++) {
      check(i, probes.get(i), named.get(probes.get(i).getJobId()));
    }
    named.keySet().forEach(jobs::acquire);
    List<Future<RecordMetadata>> sent = new ArrayList<>(probes.size());
    for (ProbeReport p : probes) {
      sent.add(producer.send(new ProducerRecord<>(topics.probes().name(), p.getJobId(), p.toByteArray())));
    }
    await(sent, "could not publish the probes");
    return probes.size();
  }

  /**
   * Refuses probe {@code i} of {@code job} (null: no such job) unless the estimator would use it:
   * the rules of {@link ProbeValidation} and of the job (its step range, the operator its optimizer
   * allows, this service's m) are
   * INVALID_ARGUMENT; a Lanczos probe older than the newest step this replica's view shows processed
   * is FAILED_PRECONDITION, by the rule the estimator dead-letters it with.
   */
  private void check(int i, ProbeReport p, JobEntry job) {
    String at = "probes[" + i + "].";
    Optional<String> violation = ProbeValidation.violation(p);
    if (violation.isPresent()) {
      throw ApiException.invalid(at + violation.get());
    }
    if (job == null) {
      throw ApiException.invalid(at + "job_id: no job '" + p.getJobId() + "'");
    }
    try {
      job.schedule().budget().checkStep(p.getStep());
    } catch (IllegalArgumentException e) {
      throw ApiException.invalid(at + e.getMessage());
    }
    if (p.hasLanczos()) {
      Optional<String> operator = ProbeValidation.operatorViolation(p.getLanczos(), job.spec());
      if (operator.isPresent()) {
        throw ApiException.invalid(at + operator.get());
      }
      if (p.getLanczos().getAlphaCount() > maxProbeSteps) {
        throw ApiException.invalid(at + "lanczos: m must be <= " + maxProbeSteps + " on this service (got m = "
            + p.getLanczos().getAlphaCount() + ")");
      }
      CurvatureEntry latest = views.curvature(p.getJobId());
      if (latest != null && latest.curvature().getProbes() > 0) {
        ProbeValidation.outOfOrder(p.getStep(), latest.curvature().getStep()).ifPresent(v -> {
          throw new ApiException(ApiException.Kind.FAILED_PRECONDITION, at + v);
        });
      }
    }
  }

  private static void await(List<Future<RecordMetadata>> futures, String what) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(PRODUCE_TIMEOUT_MS);
    try {
      for (Future<RecordMetadata> f : futures) {
        f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      }
    } catch (ExecutionException | TimeoutException e) {
      throw ApiException.unavailable(what + ": Kafka did not acknowledge in time ("
          + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiException.unavailable(what + ": interrupted", e);
    }
  }
}
