package io.stepsize.estimator;

import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serde;

/**
 * The estimator's state for one job: its current phase and latest processed step, the EWMA state
 * before and after that step, and that step's probes.
 *
 * <p>Keeping the state from before the step is what lets a late worker's probe for the same step
 * replace that step's estimate (recomputed from all its probes) rather than count the step twice.
 * Steps only move forward (older ones go to the dead-letter topic), so one state per job is the
 * state of its current (job, phase, operator); a new phase starts the EWMA fresh, and so does a step
 * whose probes ran on another operator than the step before (DESIGN.md §1.7: the Hessian and Adam's
 * preconditioned operator have different spectra, and averaging across them would describe neither).
 * The probes of one step share an operator ({@link #operatorConflict}).
 *
 * @param phase the phase of {@code step} (0 = warmup)
 * @param step the latest processed step
 * @param jobProbesBefore probes of the job at earlier steps (all phases)
 * @param ewmaBefore EWMA state before {@code step} (empty when {@code step} opened the phase)
 * @param ewmaAfter EWMA state including {@code step}
 * @param probes the probes of {@code step}, in arrival order
 */
public record JobState(int phase, long step, long jobProbesBefore, byte[] ewmaBefore,
    byte[] ewmaAfter, List<CurvatureMath.Probe> probes) {

  public long jobProbes() {
    return jobProbesBefore + probes.size();
  }

  /**
   * The state after {@code probe} at {@code step} of {@code phase}, before smoothing ({@code ewmaAfter}
   * unset); {@code previous} itself when the probe repeats one already counted for that step.
   */
  public static JobState advance(JobState previous, int phase, long step, CurvatureMath.Probe probe) {
    if (previous == null) {
      return new JobState(phase, step, 0, new byte[0], new byte[0], List.of(probe));
    }
    if (phase != previous.phase || (step != previous.step && probe.preconditioned() != previous.preconditioned())) {
      return new JobState(phase, step, previous.jobProbes(), new byte[0], new byte[0], List.of(probe));
    }
    if (step == previous.step) {
      for (CurvatureMath.Probe seen : previous.probes) {
        if (seen.sameAs(probe)) {
          // the same tridiagonal again is a retried publish (a ReportProbes retried after its
          // replica died, a producer without idempotence): two workers' random starts never give
          // bit-identical (alpha, beta)
          return previous;
        }
      }
      List<CurvatureMath.Probe> merged = new ArrayList<>(previous.probes);
      merged.add(probe);
      return new JobState(phase, step, previous.jobProbesBefore, previous.ewmaBefore,
          previous.ewmaAfter, merged);
    }
    return new JobState(phase, step, previous.jobProbes(), previous.ewmaAfter, new byte[0],
        List.of(probe));
  }

  /** Whether the probes of {@link #step} ran on the preconditioned operator (all of them do). */
  public boolean preconditioned() {
    return !probes.isEmpty() && probes.get(0).preconditioned();
  }

  /**
   * Whether {@code probe} at {@code step} would join this state's step with another operator than
   * its probes': such a probe is refused (its step's estimate would mix two operators' spectra).
   */
  public boolean operatorConflict(long step, CurvatureMath.Probe probe) {
    return step == this.step && !probes.isEmpty() && probe.preconditioned() != preconditioned();
  }

  public JobState withEwmaAfter(byte[] after) {
    return new JobState(phase, step, jobProbesBefore, ewmaBefore, after, probes);
  }

  /** Its bytes in the store are {@link JobStateCodec}'s. */
  public static Serde<JobState> serde() {
    return JobStateCodec.serde();
  }
}
