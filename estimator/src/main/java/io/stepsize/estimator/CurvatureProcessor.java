package io.stepsize.estimator;

import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.InvalidProbeException;
import io.stepsize.wire.ProbeValidation;
import io.stepsize.wire.CurvatureRecords;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.PhiPolicy;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.TimestampedKeyValueStore;
import org.apache.kafka.streams.state.ValueAndTimestamp;

/**
 * Probes in, estimates out (DESIGN.md §1.4): validates a probe against its job, assigns its phase
 * from the job's boundaries, merges it with the other probes of its step, smooths across steps and
 * forwards a {@link Curvature} carrying the new estimate as its only timeline point.
 *
 * <p>Every rejection throws {@link InvalidProbeException} before any state is touched, so Streams'
 * processing-exception handler can send the record to the dead-letter topic and go on with nothing
 * half-done. Gradient-statistics probes are validated (known job, step in range) and then dropped:
 * they feed monitoring elsewhere and play no part in φ.
 */
final class CurvatureProcessor implements FixedKeyProcessor<String, ProbeReport, Curvature> {
  /** Parsed specs kept per task; a spec is re-parsed only when its bytes change. */
  private static final int PARSED_CACHE = 10_000;

  private final CurvatureMath math;
  private final String jobStoreName;
  private final String stateStoreName;
  private FixedKeyProcessorContext<String, Curvature> context;
  private TimestampedKeyValueStore<String, JobSpec> jobs;
  private KeyValueStore<String, JobState> states;
  private final Map<String, Job> parsed = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Job> eldest) {
      return size() > PARSED_CACHE;
    }
  };

  /** A job as the estimator reads it; {@code invalid} holds the reason when its spec is broken. */
  private record Job(JobSpec spec, JobSchedule schedule, PhiPolicy.ConditionNumber lowerEdge, double halfLife,
      String invalid) {}

  CurvatureProcessor(CurvatureMath math, String jobStoreName, String stateStoreName) {
    this.math = math;
    this.jobStoreName = jobStoreName;
    this.stateStoreName = stateStoreName;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Curvature> context) {
    this.context = context;
    this.jobs = context.getStateStore(jobStoreName);
    this.states = context.getStateStore(stateStoreName);
  }

  @Override
  public void process(FixedKeyRecord<String, ProbeReport> record) {
    String jobId = record.key();
    ProbeReport probe = record.value();
    if (probe == null) {
      throw new InvalidProbeException("value: must be a ProbeReport (got an empty record)");
    }
    if (jobId == null || !jobId.equals(probe.getJobId())) {
      throw new InvalidProbeException("job_id: must equal the record key (key '" + jobId + "', job_id '"
          + probe.getJobId() + "')");
    }
    CurvatureMath.Probe lanczos = switch (probe.getPayloadCase()) {
      case LANCZOS -> checkedLanczos(probe.getLanczos());
      case GRADIENT -> null;
      case PAYLOAD_NOT_SET -> throw new InvalidProbeException("payload: must be lanczos or gradient (got none)");
    };
    Job job = job(jobId);
    long step = probe.getStep();
    try {
      job.schedule.budget().checkStep(step);
    } catch (IllegalArgumentException e) {
      throw new InvalidProbeException(e.getMessage());
    }
    if (lanczos == null) {
      return; // gradient statistics: accepted, not used for curvature
    }
    JobState previous = states.get(jobId);
    if (previous != null && step < previous.step()) {
      throw new InvalidProbeException("step: out of order, older than the job's latest processed step "
          + previous.step() + " (got " + step + ")");
    }
    int phase = job.schedule.budget().phaseOf(step);
    JobState state = JobState.advance(previous, phase, step, lanczos);
    if (state == previous) {
      return; // a duplicate of a probe already in this step's estimate: nothing changes
    }
    CurvatureMath.Smoothed s = math.estimate(step, state.ewmaBefore(), state.probes(), job.lowerEdge,
        job.halfLife);
    states.put(jobId, state.withEwmaAfter(s.ewmaAfter()));

    CurvaturePoint point = CurvaturePoint.newBuilder().setStep(step).setPhase(phase)
        .setLambdaMin(s.lambdaMin()).setLambdaMax(s.lambdaMax()).setLambdaLow(s.lambdaLow()).setKappa(s.kappa())
        .setLambdaMaxBound(s.lambdaMaxBound()).setProbes(s.probes())
        .setAppliesFromStep(job.schedule.appliesFrom(step)).build();
    Curvature estimate = CurvatureRecords.withLatest(Curvature.newBuilder().setJobId(jobId), point)
        .setProbes(state.jobProbes()).addTimeline(point).build();
    context.forward(record.withValue(estimate));
  }

  private CurvatureMath.Probe checkedLanczos(LanczosProbe p) {
    double[] alpha = ProbeValidation.toArray(p.getAlphaList());
    double[] beta = ProbeValidation.toArray(p.getBetaList());
    math.check(alpha, beta);
    return new CurvatureMath.Probe(alpha, beta);
  }

  private Job job(String jobId) {
    ValueAndTimestamp<JobSpec> stored = jobs.get(jobId);
    if (stored == null || stored.value() == null) {
      throw new InvalidProbeException("job_id: must name a known job (got '" + jobId + "')");
    }
    JobSpec spec = stored.value();
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
      return new Job(spec, JobSpecs.toSchedule(spec), JobSpecs.lowerEdgeSettings(spec), JobSpecs.halfLifeProbes(spec),
          null);
    } catch (IllegalArgumentException e) {
      return new Job(spec, null, null, 0, e.getMessage());
    }
  }
}
