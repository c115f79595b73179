package io.stepsize.estimator;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.stepsize.wire.CurvatureRecords;
import io.stepsize.wire.InvalidProbeException;
import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.ProbeValidation;
import io.stepsize.wire.RecordHeaders;
import io.stepsize.wire.Topics;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Start;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobPlan;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.PhiPolicy;
import io.stepsize.schedule.StabilityMargin;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ValueAndTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Probes and jobs in, estimates and dead letters out (DESIGN.md §1.4, §4). A job record (from
 * {@code stepsize.jobs}) is stored in the task's job-spec store and releases the probes that waited
 * for it. A probe (keyed by its job_id by {@link ProbeRouter}) is validated against its
 * job, assigned its phase from the job's boundaries, merged with the other probes of its step and
 * smoothed across steps; the result goes to {@link CurvatureTopology#HISTORY} and
 * {@link CurvatureTopology#TIMELINE} as a {@link Curvature} carrying the new estimate as its only
 * timeline point. A probe whose job is not known yet waits ({@link ProbeParking}).
 *
 * <p>Every rejection is an {@link InvalidProbeException} thrown before any state is touched, caught
 * here and written to {@link CurvatureTopology#DEAD_LETTERS} as the record arrived on its source
 * topic (key, bytes, headers, partition, offset) with the reason: a probe that waited has no
 * Streams record to hand to the exception handler, and one rule for all keeps the dead letters
 * alike. Gradient-statistics probes are validated (known job, step in range, waiting for their job
 * as a Lanczos probe does) and go to {@link CurvatureTopology#GRADIENT}: they feed monitoring
 * ({@link GradientStatsProcessor}) and play no part in φ.
 */
final class CurvatureProcessor implements Processor<String, Message, Object, Object> {
  private static final Logger log = LoggerFactory.getLogger(CurvatureProcessor.class);
  /** Parsed specs kept per task; a spec is re-parsed only when its bytes change. */
  private static final int PARSED_CACHE = 10_000;

  private final CurvatureMath math;
  private final Topics topics;
  private final ProbeParking.Settings parkingSettings;
  private ProcessorContext<Object, Object> context;
  private KeyValueStore<String, ValueAndTimestamp<JobSpec>> jobs;
  private KeyValueStore<String, JobState> states;
  private ProbeParking parking;
  private final boolean edgeRatios;
  private EarlierPoints earlier;
  private KeyValueStore<String, Timeline> timelines;
  private final Map<String, Job> parsed = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Job> eldest) {
      return size() > PARSED_CACHE;
    }
  };

  /**
   * A job as the estimator reads it; {@code invalid} holds the reason when its spec is broken. The
   * plan (revisions included) and the stability margin are parsed once per spec, for the edge ratio
   * of every point.
   */
  private record Job(JobSpec spec, JobPlan plan, JobSchedule schedule, PhiPolicy.ConditionNumber lowerEdge,
      double halfLife, StabilityMargin margin, String invalid) {}

  CurvatureProcessor(CurvatureMath math, Topics topics, ProbeParking.Settings parking) {
    this(math, topics, parking, true);
  }

  /**
   * @param edgeRatios whether points carry their edge ratio (DESIGN.md §1.7), which keeps the job's
   *     earlier points in {@link EarlierPoints#STORE}; off only to measure what it costs
   */
  CurvatureProcessor(CurvatureMath math, Topics topics, ProbeParking.Settings parking, boolean edgeRatios) {
    this.math = math;
    this.topics = topics;
    this.parkingSettings = parking;
    this.edgeRatios = edgeRatios;
  }

  @Override
  public void init(ProcessorContext<Object, Object> context) {
    this.context = context;
    this.jobs = context.getStateStore(CurvatureTopology.JOB_STORE);
    this.states = context.getStateStore(CurvatureTopology.STATE_STORE);
    this.parking = new ProbeParking(context.getStateStore(CurvatureTopology.PARKED_STORE), parkingSettings);
    // a fresh copy after every (re)initialization: the one before may hold an aborted transaction's points
    this.earlier = edgeRatios ? new EarlierPoints(context.getStateStore(EarlierPoints.STORE)) : null;
    this.timelines = edgeRatios ? context.getStateStore(CurvatureTopology.TIMELINE_STORE) : null;
    // a second at most: a waiting probe is dead-lettered within a second of its grace period
    long every = Math.min(1000, parkingSettings.grace().toMillis());
    context.schedule(Duration.ofMillis(every), PunctuationType.WALL_CLOCK_TIME, this::expire);
  }

  @Override
  public void process(Record<String, Message> record) {
    // the router never forwards a null probe: a null value is a job's tombstone
    if (record.value() instanceof ProbeReport) {
      @SuppressWarnings("unchecked")
      Record<String, ProbeReport> probe = (Record<String, ProbeReport>) (Record<String, ?>) record;
      onProbe(probe, true);
    } else {
      onJob(record.key(), (JobSpec) record.value(), record);
    }
  }

  private void onJob(String key, JobSpec spec, Record<String, Message> record) {
    if (spec == null) {
      if (key != null) {
        jobs.delete(key);
        parsed.remove(key);
      }
      return;
    }
    if (key == null || !key.equals(spec.getJobId())) {
      // the service and every reader look a job up by its key: a record keyed otherwise is no job
      String reason = key == null
          ? "key: a job record must be keyed by its job_id (got no key, job_id '" + spec.getJobId() + "')"
          : "job_id: must equal the record key (key '" + key + "', job_id '" + spec.getJobId() + "')";
      Optional<RecordMetadata> m = context.recordMetadata();
      deadLetter(key == null ? null : key.getBytes(StandardCharsets.UTF_8), spec.toByteArray(), record.timestamp(),
          record.headers(), topics.jobs().name(), m.map(x -> Integer.toString(x.partition())).orElse(null),
          m.map(x -> Long.toString(x.offset())).orElse(null), reason);
      return;
    }
    jobs.put(key, ValueAndTimestamp.make(spec, record.timestamp()));
    for (ProbeParking.Parked p : parking.release(key)) {
      onProbe(new Record<>(key, parse(p.probe()), p.timestamp(), p.headers()), false);
    }
  }

  /** A probe keyed by its job_id; {@code mayWait}: false for one that waited already, its job now known. */
  private void onProbe(Record<String, ProbeReport> record, boolean mayWait) {
    String jobId = record.key();
    ProbeReport probe = record.value();
    try {
      // the rules every writer shares (ids, step, payload, gradient statistics): one reason for
      // this dead letter and for ReportProbes' INVALID_ARGUMENT
      Optional<String> violation = ProbeValidation.violation(probe);
      if (violation.isPresent()) {
        throw new InvalidProbeException(violation.get());
      }
      CurvatureMath.Probe lanczos = probe.hasLanczos() ? checkedLanczos(probe.getLanczos()) : null;
      ValueAndTimestamp<JobSpec> stored = jobs.get(jobId);
      if (stored == null || stored.value() == null) {
        if (!mayWait) {
          throw new IllegalStateException("job '" + jobId + "' gone while releasing its probes");
        }
        Optional<String> refused = parking.park(new ProbeParking.Parked(jobId, context.currentSystemTimeMs(),
            record.timestamp(), record.headers(), probe.toByteArray()));
        if (refused.isPresent()) {
          throw new InvalidProbeException(refused.get());
        }
        return;
      }
      estimate(record, probe, lanczos, job(jobId, stored.value()));
    } catch (InvalidProbeException e) {
      deadLetter(record.headers(), probe.toByteArray(), record.timestamp(), e.getMessage());
    }
  }

  private void expire(long now) {
    for (ProbeParking.Parked p : parking.expired(now)) {
      deadLetter(p.headers(), p.probe(), p.timestamp(), "job_id: no job '" + p.jobId() + "' arrived within "
          + parkingSettings.graceText() + " of its probe");
    }
  }

  private void estimate(Record<String, ProbeReport> record, ProbeReport probe, CurvatureMath.Probe lanczos, Job job) {
    String jobId = record.key();
    long step = probe.getStep();
    try {
      job.schedule.budget().checkStep(step);
    } catch (IllegalArgumentException e) {
      throw new InvalidProbeException(e.getMessage());
    }
    if (lanczos == null) {
      // gradient statistics: kept per job by their own branch, no part of the estimate (the branch
      // writes records of its own, so the probe's headers go no further)
      context.forward(new Record<Object, Object>(jobId, probe, record.timestamp()), CurvatureTopology.GRADIENT);
      return;
    }
    Optional<String> operator = ProbeValidation.operatorViolation(probe.getLanczos(), job.spec);
    if (operator.isPresent()) {
      throw new InvalidProbeException(operator.get());
    }
    JobState previous = states.get(jobId);
    if (previous != null) {
      Optional<String> late = ProbeValidation.outOfOrder(step, previous.step());
      if (late.isPresent()) {
        throw new InvalidProbeException(late.get());
      }
    }
    int phase = job.schedule.budget().phaseOf(step);
    JobState state = JobState.advance(previous, phase, step, lanczos);
    if (state == previous) {
      return; // a duplicate of a probe already in this step's estimate: nothing changes
    }
    if (previous != null && previous.operatorConflict(step, lanczos)) {
      throw new InvalidProbeException(ProbeValidation.mixedOperator(step, previous.preconditioned(),
          lanczos.preconditioned()).orElseThrow());
    }
    CurvatureMath.Smoothed s = math.estimate(step, state.ewmaBefore(), state.probes(), job.lowerEdge,
        job.halfLife);
    long appliesFrom = job.schedule.appliesFrom(step);
    double edgeRatio = Double.NaN;
    if (earlier != null) {
      io.stepsize.schedule.CurvaturePoint own = new io.stepsize.schedule.CurvaturePoint(step, appliesFrom, phase,
          s.lambdaMin(), s.lambdaLow(), s.lambdaMax(), s.kappa(), s.lambdaMaxBound(), s.probes(),
          lanczos.preconditioned());
      // the job's timeline as it stands: every estimate before this one is in it (TimelineProcessor
      // runs within the forward of each), this step's own earlier point too, which before() leaves out
      edgeRatio = edgeRatio(job, step, own, earlier.before(jobId, step, timelines.get(jobId)));
    }
    states.put(jobId, state.withEwmaAfter(s.ewmaAfter()));

    CurvaturePoint point = CurvaturePoint.newBuilder().setStep(step).setPhase(phase)
        .setLambdaMin(s.lambdaMin()).setLambdaMax(s.lambdaMax()).setLambdaLow(s.lambdaLow()).setKappa(s.kappa())
        .setLambdaMaxBound(s.lambdaMaxBound()).setProbes(s.probes()).setAppliesFromStep(appliesFrom)
        .setGradientSharpness(s.gradientSharpness()).setLambdaHarmonic(s.lambdaHarmonic())
        .setNegativeMass(s.negativeMass()).setEdgeRatio(edgeRatio)
        .setOperator(CurvatureRecords.operator(lanczos.preconditioned())).build();
    Curvature estimate = CurvatureRecords.withLatest(Curvature.newBuilder().setJobId(jobId), point)
        .setProbes(state.jobProbes()).addTimeline(point).build();
    // where the probe came from is the estimator's own business, not the estimate's
    ProbeRouter.stripSource(record.headers());
    Record<Object, Object> out = new Record<>(jobId, estimate, record.timestamp(), record.headers());
    context.forward(out, CurvatureTopology.HISTORY);
    context.forward(out, CurvatureTopology.TIMELINE);
  }

  /**
   * The edge ratio of a point (DESIGN.md §1.7): η(p)·λ_max/threshold, with η(p) the lr the job's plan
   * (revisions included) schedules for the probe step p from the points before p, and λ_max the
   * point's own. The points before p are the ones a trainer's answer for p can rest on before p's
   * own probes are processed; with apply_delay_steps ≥ 1 (the default) p's own point never applies
   * to p, so this η(p) is the lr the job is served for p.
   */
  private static double edgeRatio(Job job, long step, io.stepsize.schedule.CurvaturePoint own,
      CurvatureTimeline before) {
    return job.margin.edgeRatio(StabilityMargin.eta(job.plan.evaluate(step, before)), own);
  }

  /** A probe's dead letter, as it arrived on {@code stepsize.probes} ({@link ProbeRouter}'s headers). */
  private void deadLetter(Headers headers, byte[] probe, long timestamp, String reason) {
    deadLetter(ProbeRouter.value(headers, ProbeRouter.SOURCE_KEY), probe, timestamp, headers, topics.probes().name(),
        text(ProbeRouter.value(headers, ProbeRouter.SOURCE_PARTITION)),
        text(ProbeRouter.value(headers, ProbeRouter.SOURCE_OFFSET)), reason);
  }

  /** The record with the headers Streams' own dead-letter handler writes (KIP-1034), stack trace aside. */
  private void deadLetter(byte[] key, byte[] value, long timestamp, Headers original, String topic, String partition,
      String offset, String reason) {
    Headers h = new org.apache.kafka.common.header.internals.RecordHeaders(original.toArray());
    ProbeRouter.stripSource(h);
    h.add(RecordHeaders.DLQ_EXCEPTION, utf8(InvalidProbeException.class.getName()));
    h.add(RecordHeaders.DLQ_REASON, utf8(reason));
    h.add(RecordHeaders.DLQ_TOPIC, utf8(topic));
    if (partition != null) {
      h.add(RecordHeaders.DLQ_PARTITION, utf8(partition));
    }
    if (offset != null) {
      h.add(RecordHeaders.DLQ_OFFSET, utf8(offset));
    }
    log.warn("dead-lettered a record of {} (partition {}, offset {}): {}", topic, partition, offset, reason);
    context.forward(new Record<Object, Object>(key, value, timestamp, h), CurvatureTopology.DEAD_LETTERS);
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String text(byte[] b) {
    return b == null ? null : new String(b, StandardCharsets.UTF_8);
  }

  private static ProbeReport parse(byte[] bytes) {
    try {
      return ProbeReport.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      // the bytes were written by this class from a parsed probe
      throw new IllegalStateException("a parked probe no longer parses", e);
    }
  }

  private CurvatureMath.Probe checkedLanczos(LanczosProbe p) {
    double[] alpha = ProbeValidation.toArray(p.getAlphaList());
    double[] beta = ProbeValidation.toArray(p.getBetaList());
    CurvatureMath.Probe probe = new CurvatureMath.Probe(alpha, beta, p.getStart() == Start.START_GRADIENT,
        p.getOperator() == Operator.OPERATOR_PRECONDITIONED);
    math.check(probe);
    return probe;
  }

  private Job job(String jobId, JobSpec spec) {
    Job job = parsed.get(jobId);
    if (job == null || !job.spec.equals(spec)) {
      job = parse(spec);
      parsed.put(jobId, job);
    }
    if (job.invalid != null) {
      throw new InvalidProbeException("job_id: the job's spec is invalid: " + job.invalid);
    }
    return job;
  }

  private static Job parse(JobSpec spec) {
    try {
      // the schedule in force: a revision may extend the job (probes past the old total are good) or
      // move its boundaries (the phase of a probe is the revised one)
      JobPlan plan = JobSpecs.toPlan(spec);
      return new Job(spec, plan, plan.inForce(), JobSpecs.lowerEdgeSettings(spec), JobSpecs.halfLifeProbes(spec),
          JobSpecs.stabilityMargin(spec), null);
    } catch (IllegalArgumentException e) {
      return new Job(spec, null, null, null, 0, null, e.getMessage());
    }
  }
}
