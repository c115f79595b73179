package io.stepsize.estimator;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serde;

/**
 * The bytes of a {@link JobState} in the estimator's {@code curvature-state} store and its
 * changelog: every field is written and read here, in this order, and nowhere else.
 *
 * <pre>
 * version          byte   {@link #VERSION}
 * phase            int
 * step             long
 * jobProbesBefore  long
 * ewmaBefore       int length, then that many bytes
 * ewmaAfter        int length, then that many bytes
 * probes           int count, then per probe: alpha, beta (each an int length, then that many doubles),
 *                  flags byte (bit 0: gradient start, bit 1: preconditioned operator)
 * </pre>
 *
 * Big-endian. The EWMA states stay opaque bytes ({@link CurvatureMath} owns their layout). Version 1
 * had no flags byte (every probe a random-start Hessian probe) and still reads; bytes of any other
 * version are rejected ({@link StateBytes#open}).
 */
final class JobStateCodec {
  static final byte VERSION = 2;
  /** Before DESIGN.md §1.7: no flags byte. */
  static final byte VERSION_1 = 1;
  private static final byte GRADIENT_START = 1;
  private static final byte PRECONDITIONED = 2;
  private static final String WHAT = "estimator job state";
  private static final int HEADER_BYTES = Byte.BYTES + Integer.BYTES + Long.BYTES + Long.BYTES;

  private JobStateCodec() {}

  /** The length of {@link #encode}'s bytes. */
  static int sizeOf(JobState s) {
    int size = HEADER_BYTES + sizeOf(s.ewmaBefore()) + sizeOf(s.ewmaAfter()) + Integer.BYTES;
    for (CurvatureMath.Probe p : s.probes()) {
      size += sizeOf(p.alpha()) + sizeOf(p.beta()) + Byte.BYTES;
    }
    return size;
  }

  static byte[] encode(JobState s) {
    ByteBuffer b = ByteBuffer.allocate(sizeOf(s));
    b.put(VERSION);
    b.putInt(s.phase());
    b.putLong(s.step());
    b.putLong(s.jobProbesBefore());
    putBytes(b, s.ewmaBefore());
    putBytes(b, s.ewmaAfter());
    b.putInt(s.probes().size());
    for (CurvatureMath.Probe p : s.probes()) {
      putDoubles(b, p.alpha());
      putDoubles(b, p.beta());
      b.put((byte) ((p.gradientStart() ? GRADIENT_START : 0) | (p.preconditioned() ? PRECONDITIONED : 0)));
    }
    return b.array();
  }

  static JobState decode(byte[] bytes) {
    ByteBuffer b = StateBytes.open(bytes, WHAT, VERSION_1, VERSION);
    boolean flags = bytes[0] >= VERSION;
    try {
      int phase = b.getInt();
      long step = b.getLong();
      long jobProbesBefore = b.getLong();
      byte[] ewmaBefore = getBytes(b, "ewmaBefore length");
      byte[] ewmaAfter = getBytes(b, "ewmaAfter length");
      // each probe takes at least its two lengths
      int count = StateBytes.count(b, WHAT, "probes count", 2 * Integer.BYTES);
      List<CurvatureMath.Probe> probes = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        double[] alpha = getDoubles(b, "alpha length");
        double[] beta = getDoubles(b, "beta length");
        byte f = flags ? b.get() : 0;
        probes.add(new CurvatureMath.Probe(alpha, beta, (f & GRADIENT_START) != 0, (f & PRECONDITIONED) != 0));
      }
      StateBytes.end(b, WHAT);
      return new JobState(phase, step, jobProbesBefore, ewmaBefore, ewmaAfter, List.copyOf(probes));
    } catch (BufferUnderflowException e) {
      throw StateBytes.truncated(bytes, WHAT, e);
    }
  }

  static Serde<JobState> serde() {
    return StateBytes.serde(JobStateCodec::encode, JobStateCodec::decode);
  }

  private static int sizeOf(byte[] values) {
    return Integer.BYTES + values.length;
  }

  private static int sizeOf(double[] values) {
    return Integer.BYTES + values.length * Double.BYTES;
  }

  private static void putBytes(ByteBuffer b, byte[] values) {
    b.putInt(values.length).put(values);
  }

  private static byte[] getBytes(ByteBuffer b, String field) {
    byte[] values = new byte[StateBytes.count(b, WHAT, field, Byte.BYTES)];
    b.get(values);
    return values;
  }

  private static void putDoubles(ByteBuffer b, double[] values) {
    b.putInt(values.length);
    for (double v : values) {
      b.putDouble(v);
    }
  }

  private static double[] getDoubles(ByteBuffer b, String field) {
    double[] values = new double[StateBytes.count(b, WHAT, field, Double.BYTES)];
    for (int i = 0; i < values.length; i++) {
      values[i] = b.getDouble();
    }
    return values;
  }
}
