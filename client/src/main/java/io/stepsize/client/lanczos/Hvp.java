package io.stepsize.client.lanczos;

/**
 * A Hessian-vector product H·v over double vectors of a fixed dimension. Implementations are
 * called from one thread; they must write every entry of {@code out} and must not keep
 * references to either array (the driver reuses them).
 */
@FunctionalInterface
public interface Hvp {

    /** Writes H·v into {@code out}; {@code v} must not be modified. */
    void apply(double[] v, double[] out);

    /**
     * Adapts a float HVP (what a float32 trainer has) to the double driver. The Lanczos vectors
     * stay in double: rounding v to float costs ~6e-8 relative per product, but keeping the
     * basis and the reorthogonalization in double keeps T_m symmetric-tridiagonal to double
     * accuracy, so only the HVP's own float error limits the Ritz values.
     */
    static Hvp ofFloat(FloatHvp hvp, int n) {
        float[] vf = new float[n];
        float[] outf = new float[n];
        return (v, out) -> {
            for (int i = 0; i < n; i++) {
                vf[i] = (float) v[i];
            }
            hvp.apply(vf, outf);
            for (int i = 0; i < n; i++) {
                out[i] = outf[i];
            }
        };
    }
}
