package io.stepsize.estimator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.common.serialization.Serde;

/**
 * The estimator's state for one job: its current phase and latest processed step, the EWMA state
 * before and after that step, and that step's probes.
 *
 * <p>Keeping the state from before the step is what lets a late worker's probe for the same step
 * replace that step's estimate (recomputed from all its probes) rather than count the step twice.
 * Steps only move forward (older ones go to the dead-letter topic), so one state per job is the
 * state of its current (job, phase); a new phase starts the EWMA fresh.
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
    if (phase != previous.phase) {
      return new JobState(phase, step, previous.jobProbes(), new byte[0], new byte[0], List.of(probe));
    }
    if (step == previous.step) {
      for (CurvatureMath.Probe seen : previous.probes) {
        if (Arrays.equals(seen.alpha(), probe.alpha()) && Arrays.equals(seen.beta(), probe.beta())) {
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

  public JobState withEwmaAfter(byte[] after) {
    return new JobState(phase, step, jobProbesBefore, ewmaBefore, after, probes);
  }

  /** Its bytes in the store are {@link JobStateCodec}'s. */
  public static Serde<JobState> serde() {
    return JobStateCodec.serde();
  }
}
