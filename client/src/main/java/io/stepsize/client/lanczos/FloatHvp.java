package io.stepsize.client.lanczos;

/** A Hessian-vector product over float vectors; adapt it with {@link Hvp#ofFloat}. */
@FunctionalInterface
public interface FloatHvp {

    /** Writes H·v into {@code out}; {@code v} must not be modified. */
    void apply(float[] v, float[] out);
}
