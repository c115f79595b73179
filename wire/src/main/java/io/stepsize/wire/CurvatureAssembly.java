package io.stepsize.wire;

import io.stepsize.proto.v1.Curvature;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The records of {@code stepsize.curvature} (job records and timeline segments, {@link CurvatureRecords})
 * folded into one {@link Curvature} per job, as a reader applies them in partition order. Not
 * thread-safe: one reader thread applies the records.
 */
public final class CurvatureAssembly {
  private final Map<String, Curvature> jobRecords = new HashMap<>();
  private final Map<String, TreeMap<Long, Curvature>> segments = new HashMap<>();

  /**
   * Applies one record ({@code value} null: a tombstone). Returns the job's whole curvature after
   * a job record, and null after a segment or a tombstone: those bring no new estimate, and a
   * segment's points are already in the job record a reader has (or in the one that follows).
   */
  public Curvature apply(String key, Curvature value) {
    String jobId = CurvatureRecords.jobIdOf(key);
    if (CurvatureRecords.isSegmentKey(key)) {
      long index = CurvatureRecords.segmentIndexOf(key);
      if (value == null) {
        TreeMap<Long, Curvature> s = segments.get(jobId);
        if (s != null) {
          s.remove(index);
          if (s.isEmpty()) {
            segments.remove(jobId);
          }
        }
      } else {
        segments.computeIfAbsent(jobId, k -> new TreeMap<>()).put(index, value);
      }
      return null;
    } else if (value == null) {
      jobRecords.remove(jobId);
      segments.remove(jobId);
      return null;
    } else {
      jobRecords.put(jobId, value);
    }
    return current(jobId);
  }

  /** The job's whole curvature as applied so far; null without a job record. */
  public Curvature current(String jobId) {
    Curvature job = jobRecords.get(jobId);
    if (job == null) {
      return null;
    }
    TreeMap<Long, Curvature> s = segments.get(jobId);
    return s == null ? job : CurvatureRecords.assemble(job, s.values());
  }

  /** Every job's whole curvature. */
  public Map<String, Curvature> all() {
    Map<String, Curvature> out = new HashMap<>();
    for (String jobId : jobRecords.keySet()) {
      out.put(jobId, current(jobId));
    }
    return out;
  }
}
