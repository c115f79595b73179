package io.stepsize.estimator.math;

import java.nio.ByteBuffer;

/**
 * The smoothed curvature of one (job, phase), small and immutable so that a Kafka Streams
 * store can hold it as {@link #toBytes()}: 57 bytes, big-endian, a version byte first.
 *
 * @param step           the probe step of the newest observation absorbed
 * @param lambdaMin      linear EWMA of the signed λ_min
 * @param lambdaLow      log-space EWMA of λ_low (or the newest value, see {@link LogEwma})
 * @param lambdaMax      log-space EWMA of λ_max
 * @param lambdaMaxBound log-space EWMA of the λ_max bound
 * @param probes         probes absorbed so far
 * @param observations   probe steps absorbed so far
 */
public record EwmaState(long step, double lambdaMin, double lambdaLow, double lambdaMax, double lambdaMaxBound,
        long probes, long observations) {

    /** Format version of {@link #toBytes()}. */
    public static final byte VERSION = 1;

    /** Length of {@link #toBytes()}. */
    public static final int BYTES = 1 + 3 * Long.BYTES + 4 * Double.BYTES;

    public boolean hasConditionNumber() {
        return lambdaLow > 0.0 && lambdaMax >= lambdaLow;
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
                .array();
    }

    public static EwmaState fromBytes(byte[] bytes) {
        if (bytes == null || bytes.length != BYTES || bytes[0] != VERSION) {
            throw new IllegalArgumentException("EwmaState bytes must be " + BYTES + " bytes of version " + VERSION
                    + ", got " + (bytes == null ? "null" : bytes.length + " bytes"
                    + (bytes.length > 0 ? " of version " + bytes[0] : "")));
        }
        ByteBuffer b = ByteBuffer.wrap(bytes, 1, BYTES - 1);
        long step = b.getLong();
        long probes = b.getLong();
        long observations = b.getLong();
        return new EwmaState(step, b.getDouble(), b.getDouble(), b.getDouble(), b.getDouble(), probes, observations);
    }
}
