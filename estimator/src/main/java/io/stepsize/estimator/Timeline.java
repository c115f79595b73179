package io.stepsize.estimator;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.wire.CurvatureRecords;
import java.nio.ByteBuffer;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;

/**
 * A job's curvature state for {@code stepsize.curvature} ({@link CurvatureRecords}): its probe
 * count, the index of its open segment, the open segment's points (at most
 * {@link CurvatureRecords#SEGMENT}), and whether its job record still has to be written. Closed
 * segments are written once, when they close, and never change, so the estimator does not keep
 * them: a job's state stays small however long its timeline grows.
 *
 * <p>Fixed-width records in one byte array, because the estimator reads and writes this value for
 * every estimate. Immutable: {@link #add} returns a new value, so the array handed to the
 * serializer never changes afterwards.
 */
public final class Timeline {
  private static final byte VERSION = 2;
  /** version, job probes, open segment index, dirty, open count. */
  private static final int HEADER = 1 + 8 + 8 + 1 + 4;
  /** step, appliesFrom, phase, probes, lambdaMin, lambdaMax, lambdaLow, kappa, lambdaMaxBound. */
  private static final int RECORD = 9 * 8;

  private final byte[] bytes;

  private Timeline(byte[] bytes) {
    this.bytes = bytes;
  }

  public static Timeline empty() {
    return new Timeline(ByteBuffer.allocate(HEADER).put(VERSION).putLong(0).putLong(0).put((byte) 0).putInt(0)
        .array());
  }

  /** Probes of the job so far ({@code Curvature.probes}). */
  public long jobProbes() {
    return ByteBuffer.wrap(bytes).getLong(1);
  }

  /** Index of the open segment: the job's first {@code openIndex·SEGMENT} points are in closed ones. */
  public long openIndex() {
    return ByteBuffer.wrap(bytes).getLong(9);
  }

  /** True when the job record on the topic is older than this state. */
  public boolean dirty() {
    return bytes[17] != 0;
  }

  public int openCount() {
    return ByteBuffer.wrap(bytes).getInt(18);
  }

  public Timeline withDirty(boolean dirty) {
    if (dirty() == dirty) {
      return this;
    }
    byte[] next = bytes.clone();
    next[17] = (byte) (dirty ? 1 : 0);
    return new Timeline(next);
  }

  /** The state after an estimate, and the segment the estimate closed (null if none). */
  public record Added(Timeline timeline, Curvature closed) {}

  /**
   * With {@code estimate} (a {@link Curvature} with the latest fields and one timeline point)
   * added, marked dirty: it replaces the newest point when that has the same step (another
   * worker's probe for the step was merged in), else it is appended, after closing the open
   * segment when that is full. A point is final once a later step arrives, so a closed segment
   * never changes.
   */
  public Added add(String jobId, Curvature estimate) {
    CurvaturePoint p = estimate.getTimeline(0);
    int open = openCount();
    long index = openIndex();
    boolean replace = open > 0 && ByteBuffer.wrap(bytes).getLong(offset(open - 1)) == p.getStep();
    Curvature closed = null;
    byte[] next;
    if (replace) {
      next = bytes.clone();
      put(ByteBuffer.wrap(next), offset(open - 1), p);
    } else if (open == CurvatureRecords.SEGMENT) {
      closed = points(Curvature.newBuilder().setJobId(jobId)).build();
      next = new byte[HEADER + RECORD];
      put(ByteBuffer.wrap(next), offset(0), p);
      open = 1;
      index++;
    } else {
      next = new byte[bytes.length + RECORD];
      System.arraycopy(bytes, 0, next, 0, bytes.length);
      put(ByteBuffer.wrap(next), offset(open), p);
      open++;
    }
    ByteBuffer.wrap(next).put(0, VERSION).putLong(1, estimate.getProbes()).putLong(9, index).put(17, (byte) 1)
        .putInt(18, open);
    return new Added(new Timeline(next), closed);
  }

  private static void put(ByteBuffer b, int offset, CurvaturePoint p) {
    b.position(offset);
    b.putLong(p.getStep()).putLong(p.getAppliesFromStep()).putLong(p.getPhase()).putLong(p.getProbes())
        .putDouble(p.getLambdaMin()).putDouble(p.getLambdaMax()).putDouble(p.getLambdaLow())
        .putDouble(p.getKappa()).putDouble(p.getLambdaMaxBound());
  }

  private Curvature.Builder points(Curvature.Builder c) {
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int n = openCount();
    for (int i = 0; i < n; i++) {
      b.position(offset(i));
      c.addTimeline(CurvaturePoint.newBuilder().setStep(b.getLong()).setAppliesFromStep(b.getLong())
          .setPhase(b.getLong()).setProbes(b.getLong()).setLambdaMin(b.getDouble()).setLambdaMax(b.getDouble())
          .setLambdaLow(b.getDouble()).setKappa(b.getDouble()).setLambdaMaxBound(b.getDouble()));
    }
    return c;
  }

  /** The record under the job's id: the newest estimate's fields and the open segment's points. */
  public Curvature jobRecord(String jobId) {
    Curvature.Builder c = points(Curvature.newBuilder().setJobId(jobId).setProbes(jobProbes()));
    int n = c.getTimelineCount();
    return (n == 0 ? c : CurvatureRecords.withLatest(c, c.getTimeline(n - 1))).build();
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
        throw new SerializationException("not a version-" + VERSION + " curvature timeline (" + data.length
            + " bytes, version " + (data.length > 0 ? data[0] : -1) + "); state from an older Stepsize must be "
            + "reset (kafka-streams-application-reset, or a fresh data directory)");
      }
      return new Timeline(data);
    });
  }
}
