package io.stepsize.estimator.math;

import java.nio.ByteBuffer;

/**
 * The smoothed curvature of one (job, phase), small and immutable so that a Kafka Streams
 * store can hold it as {@link #toBytes()}: 65 bytes, big-endian, a version byte first.
 * Bytes of version 1 (57 bytes, before λ_h) still read, with λ_h NaN: the next observation
 * then restarts λ_h's average.
 *
 * @param step           the probe step of the newest observation absorbed
 * @param lambdaMin      linear EWMA of the signed λ_min
 * @param lambdaLow      log-space EWMA of λ_low (or the newest value, see {@link LogEwma})
 * @param lambdaMax      log-space EWMA of λ_max
 * @param lambdaMaxBound log-space EWMA of the λ_max bound
 * @param probes         probes absorbed so far
 * @param observations   probe steps absorbed so far
 * @param lambdaHarmonic log-space EWMA of λ_h (or the newest value, see {@link LogEwma})
 */
public record EwmaState(long step, double lambdaMin, double lambdaLow, double lambdaMax, double lambdaMaxBound,
        long probes, long observations, double lambdaHarmonic) {

    /** Format version of {@link #toBytes()}. */
    public static final byte VERSION = 2;

    /** Length of {@link #toBytes()}. */
    public static final int BYTES = 1 + 3 * Long.BYTES + 5 * Double.BYTES;

    /** Version 1: no λ_h. */
    private static final byte VERSION_1 = 1;
    private static final int BYTES_1 = BYTES - Double.BYTES;

    /** A state without λ_h (NaN). */
    public EwmaState(long step, double lambdaMin, double lambdaLow, double lambdaMax, double lambdaMaxBound,
            long probes, long observations) {
        this(step, lambdaMin, lambdaLow, lambdaMax, lambdaMaxBound, probes, observations, Double.NaN);
    }

    public boolean hasConditionNumber() {
        return lambdaLow > 0.0 && lambdaMax >= lambdaLow;
    }

    /** Whether λ_h can enter a log average; the same test as {@link #hasConditionNumber} with λ_h for λ_low. */
    public boolean hasHarmonic() {
        return lambdaHarmonic > 0.0 && lambdaMax >= lambdaHarmonic;
    }

    public byte[] toBytes() {
        return ByteBuffer.allocate(BYTES)
                .put(VERSION)
                .putLong(step)
                .putLong(probes)
                .putLong(observations)
                .putDouble(lambdaMin)
                .putDouble(lambdaLow)
                .putDouble(lambdaMax)
                .putDouble(lambdaMaxBound)
                .putDouble(lambdaHarmonic)
                .array();
    }

    public static EwmaState fromBytes(byte[] bytes) {
        boolean v2 = bytes != null && bytes.length == BYTES && bytes[0] == VERSION;
        boolean v1 = bytes != null && bytes.length == BYTES_1 && bytes[0] == VERSION_1;
        if (!v1 && !v2) {
            throw new IllegalArgumentException("EwmaState bytes must be " + BYTES + " bytes of version " + VERSION
                    + " (or " + BYTES_1 + " of version " + VERSION_1 + "), got " + (bytes == null ? "null"
                    : bytes.length + " bytes" + (bytes.length > 0 ? " of version " + bytes[0] : "")));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 1, bytes.length - 1);
        long step = b.getLong();
        long probes = b.getLong();
        long observations = b.getLong();
        double lambdaMin = b.getDouble();
        double lambdaLow = b.getDouble();
        double lambdaMax = b.getDouble();
        double bound = b.getDouble();
        double harmonic = v2 ? b.getDouble() : Double.NaN;
        return new EwmaState(step, lambdaMin, lambdaLow, lambdaMax, bound, probes, observations, harmonic);
    }
}
