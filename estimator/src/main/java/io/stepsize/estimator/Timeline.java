package io.stepsize.estimator;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * The per-job value behind {@code stepsize.curvature}: the newest {@link #CAPACITY} estimates,
 * oldest first, and the job's probe count.
 *
 * <p>Stored as fixed-width records in one byte array, because the aggregate reads and writes this
 * value for every estimate: copying a few hundred KiB is far cheaper than parsing and rebuilding a
 * 4,096-point protobuf. The {@link Curvature} message is built only when the store's cache
 * flushes (at most once per job per commit). Immutable: {@link #add} returns a new timeline, so the
 * array handed to the serializer is never changed afterwards.
 */
public final class Timeline {
  /** Estimates kept per job; about 250 KiB on the wire, well under the 1 MiB message limit. */
  public static final int CAPACITY = 4096;

  private static final byte VERSION = 1;
  private static final int HEADER = 1 + 8 + 4;
  /** step, appliesFrom, phase, probes, lambdaMin, lambdaMax, lambdaLow, kappa, lambdaMaxBound. */
  private static final int RECORD = 9 * 8;

  private final byte[] bytes;

  private Timeline(byte[] bytes) {
    this.bytes = bytes;
  }

  public static Timeline empty() {
    return new Timeline(ByteBuffer.allocate(HEADER).put(VERSION).putLong(0).putInt(0).array());
  }

  public int size() {
    return ByteBuffer.wrap(bytes).getInt(9);
  }

  /** Probes of the job so far ({@code Curvature.probes}). */
  public long jobProbes() {
    return ByteBuffer.wrap(bytes).getLong(1);
  }

  /**
   * The timeline with {@code estimate} (a {@link Curvature} with the latest fields and one timeline
   * point) added: it replaces the newest point when that has the same step (another worker's probe
   * for the step was merged in), else it is appended and the oldest beyond {@link #CAPACITY} drop.
   */
  public Timeline add(Curvature estimate) {
    CurvaturePoint p = estimate.getTimeline(0);
    int n = size();
    boolean replace = n > 0 && ByteBuffer.wrap(bytes).getLong(offset(n - 1)) == p.getStep();
    int kept = replace ? n - 1 : Math.min(n, CAPACITY - 1);
    int dropped = n - (replace ? 1 : 0) - kept;
    byte[] next = new byte[HEADER + (kept + 1) * RECORD];
    System.arraycopy(bytes, offset(dropped), next, HEADER, kept * RECORD);
    ByteBuffer b = ByteBuffer.wrap(next);
    b.put(VERSION).putLong(estimate.getProbes()).putInt(kept + 1);
    b.position(HEADER + kept * RECORD);
    b.putLong(p.getStep()).putLong(p.getAppliesFromStep()).putLong(p.getPhase()).putLong(p.getProbes())
        .putDouble(p.getLambdaMin()).putDouble(p.getLambdaMax()).putDouble(p.getLambdaLow())
        .putDouble(p.getKappa()).putDouble(p.getLambdaMaxBound());
    return new Timeline(next);
  }

  public CurvaturePoint point(int i) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    b.position(offset(i));
    return CurvaturePoint.newBuilder().setStep(b.getLong()).setAppliesFromStep(b.getLong())
        .setPhase(b.getLong()).setProbes(b.getLong()).setLambdaMin(b.getDouble()).setLambdaMax(b.getDouble())
        .setLambdaLow(b.getDouble()).setKappa(b.getDouble()).setLambdaMaxBound(b.getDouble()).build();
  }

  /** The compacted-topic value: the newest estimate's fields and the whole timeline. */
  public Curvature toCurvature(String jobId) {
    Curvature.Builder c = Curvature.newBuilder().setJobId(jobId).setProbes(jobProbes());
    int n = size();
    for (int i = 0; i < n; i++) {
      c.addTimeline(point(i));
    }
    if (n > 0) {
      CurvaturePoint last = c.getTimeline(n - 1);
      c.setPhase(last.getPhase()).setStep(last.getStep()).setLambdaMin(last.getLambdaMin())
          .setLambdaMax(last.getLambdaMax()).setLambdaLow(last.getLambdaLow()).setKappa(last.getKappa())
          .setLambdaMaxBound(last.getLambdaMaxBound()).setAppliesFromStep(last.getAppliesFromStep());
    }
    return c.build();
  }

  private static int offset(int i) {
    return HEADER + i * RECORD;
  }

  public static Serde<Timeline> serde() {
    return Serdes.serdeFrom((topic, t) -> t == null ? null : t.bytes, (topic, data) -> {
      if (data == null) {
        return null;
      }
      if (data.length < HEADER || data[0] != VERSION || (data.length - HEADER) % RECORD != 0) {
        throw new SerializationException("not a version-" + VERSION + " curvature timeline (" + data.length + " bytes)");
      }
      return new Timeline(data);
    });
  }
}
