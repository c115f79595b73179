package io.stepsize.estimator;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serde;

/**
 * The bytes of a {@link Timeline} in the estimator's {@code curvature-timeline} store and its
 * changelog: every field is written and read here, in this order, and nowhere else.
 *
 * <pre>
 * version      byte   {@link #VERSION}
 * jobProbes    long
 * openIndex    long
 * dirty        byte   0 or 1
 * openCount    int
 * openCount points, each: step, appliesFromStep, phase, probes (long),
 *                         lambdaMin, lambdaMax, lambdaLow, kappa, lambdaMaxBound,
 *                         gradientSharpness, lambdaHarmonic, negativeMass, edgeRatio (double),
 *                         preconditioned (byte, 0 or 1)
 * </pre>
 *
 * Big-endian, fixed width: the estimator reads and writes a job's timeline for every estimate.
 * Version 2 (since segments were introduced) is this layout without the last five fields of a
 * point; it still reads, its points with NaN statistics and the Hessian operator. Bytes of any
 * other version are rejected ({@link StateBytes#open}).
 */
final class TimelineCodec {
  static final byte VERSION = 3;
  /** Before DESIGN.md §1.7. */
  static final byte VERSION_2 = 2;
  private static final String WHAT = "curvature timeline";
  private static final int HEADER_BYTES = Byte.BYTES + Long.BYTES + Long.BYTES + Byte.BYTES + Integer.BYTES;
  private static final int POINT_BYTES_2 = 4 * Long.BYTES + 5 * Double.BYTES;
  private static final int POINT_BYTES = POINT_BYTES_2 + 4 * Double.BYTES + Byte.BYTES;

  private TimelineCodec() {}

  /** The length of {@link #encode}'s bytes. */
  static int sizeOf(Timeline t) {
    return HEADER_BYTES + t.openCount() * POINT_BYTES;
  }

  static byte[] encode(Timeline t) {
    ByteBuffer b = ByteBuffer.allocate(sizeOf(t));
    b.put(VERSION);
    b.putLong(t.jobProbes());
    b.putLong(t.openIndex());
    b.put(t.dirty() ? (byte) 1 : (byte) 0);
    b.putInt(t.openCount());
    for (Timeline.Point p : t.openSegment()) {
      b.putLong(p.step());
      b.putLong(p.appliesFromStep());
      b.putLong(p.phase());
      b.putLong(p.probes());
      b.putDouble(p.lambdaMin());
      b.putDouble(p.lambdaMax());
      b.putDouble(p.lambdaLow());
      b.putDouble(p.kappa());
      b.putDouble(p.lambdaMaxBound());
      b.putDouble(p.gradientSharpness());
      b.putDouble(p.lambdaHarmonic());
      b.putDouble(p.negativeMass());
      b.putDouble(p.edgeRatio());
      b.put(p.preconditioned() ? (byte) 1 : (byte) 0);
    }
    return b.array();
  }

  static Timeline decode(byte[] bytes) {
    ByteBuffer b = StateBytes.open(bytes, WHAT, VERSION_2, VERSION);
    boolean v3 = bytes[0] >= VERSION;
    try {
      long jobProbes = b.getLong();
      long openIndex = b.getLong();
      boolean dirty = b.get() != 0;
      int openCount = StateBytes.count(b, WHAT, "openCount", v3 ? POINT_BYTES : POINT_BYTES_2);
      List<Timeline.Point> openSegment = new ArrayList<>(openCount);
      for (int i = 0; i < openCount; i++) {
        Timeline.Point p = point(b, v3);
        if (i > 0 && p.step() <= openSegment.get(i - 1).step()) {
          throw new SerializationException(WHAT + ": point " + i + " has step " + p.step() + ", not after "
              + openSegment.get(i - 1).step() + " (" + bytes.length + " bytes)");
        }
        openSegment.add(p);
      }
      StateBytes.end(b, WHAT);
      return new Timeline(jobProbes, openIndex, dirty, openSegment);
    } catch (BufferUnderflowException e) {
      throw StateBytes.truncated(bytes, WHAT, e);
    }
  }

  private static Timeline.Point point(ByteBuffer b, boolean v3) {
    long step = b.getLong();
    long appliesFromStep = b.getLong();
    long phase = b.getLong();
    long probes = b.getLong();
    double lambdaMin = b.getDouble();
    double lambdaMax = b.getDouble();
    double lambdaLow = b.getDouble();
    double kappa = b.getDouble();
    double lambdaMaxBound = b.getDouble();
    if (!v3) {
      return new Timeline.Point(step, appliesFromStep, phase, probes, lambdaMin, lambdaMax, lambdaLow, kappa,
          lambdaMaxBound);
    }
    double gradientSharpness = b.getDouble();
    double lambdaHarmonic = b.getDouble();
    double negativeMass = b.getDouble();
    double edgeRatio = b.getDouble();
    boolean preconditioned = b.get() != 0;
    return new Timeline.Point(step, appliesFromStep, phase, probes, lambdaMin, lambdaMax, lambdaLow, kappa,
        lambdaMaxBound, gradientSharpness, lambdaHarmonic, negativeMass, edgeRatio, preconditioned);
  }

  static Serde<Timeline> serde() {
    return StateBytes.serde(TimelineCodec::encode, TimelineCodec::decode);
  }
}
