package io.stepsize.service.core;

import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.service.security.Caller;
import io.stepsize.service.view.LocalViews;
import io.stepsize.service.view.LocalViews.JobEntry;
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
   * Idempotent for an identical spec; the job is readable here as soon as this returns. The job
   * belongs to the caller's tenant (to none for {@link Caller#ANONYMOUS}).
   */
  public Job createJob(Caller caller, JobSpec spec) {
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
      if (existing.get().spec().equals(spec)) {
        return Jobs.describe(spec, existing.get().schedule());
      }
      throw ApiException.alreadyExists(spec.getJobId());
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

  /** The record of a job on {@code stepsize.jobs}: keyed by its id, its owner (if any) in a header. */
  public static ProducerRecord<String, byte[]> jobRecord(Topics topics, JobSpec spec, String owner) {
    ProducerRecord<String, byte[]> record = new ProducerRecord<>(topics.jobs().name(), spec.getJobId(), spec.toByteArray());
    if (!owner.isEmpty()) {
      record.headers().add(RecordHeaders.OWNER, owner.getBytes(StandardCharsets.UTF_8));
    }
    return record;
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
      String problem = problem(probes.get(i), named.get(probes.get(i).getJobId()));
      if (problem != null) {
        throw ApiException.invalid("probes[" + i + "]." + problem);
      }
    }
    named.keySet().forEach(jobs::acquire);
    List<Future<RecordMetadata>> sent = new ArrayList<>(probes.size());
    for (ProbeReport p : probes) {
      sent.add(producer.send(new ProducerRecord<>(topics.probes().name(), p.getJobId(), p.toByteArray())));
    }
    await(sent, "could not publish the probes");
    return probes.size();
  }

  /** What is wrong with a probe of {@code job} (null: no such job), or null. */
  private String problem(ProbeReport p, JobEntry job) {
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
      case LANCZOS -> p.getLanczos().getAlphaCount() > maxProbeSteps
          ? "lanczos: m must be <= " + maxProbeSteps + " on this service (got m = "
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
      throw ApiException.unavailable(what + ": Kafka did not acknowledge in time ("
          + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()) + ")", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw ApiException.unavailable(what + ": interrupted", e);
    }
  }
}
