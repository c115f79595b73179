package io.stepsize.client.lanczos;

/**
 * H·v for an explicit dense symmetric matrix, for tests and demos (a real trainer computes
 * H·v by double back-propagation without ever forming H).
 */
public final class DenseHvp implements Hvp {

    private final double[] a; // row-major n×n
    private final int n;

    private DenseHvp(double[] a, int n) {
        this.a = a;
        this.n = n;
    }

    /**
     * Wraps a row-major n×n matrix (copied). Symmetry is checked to 1e-12 of the largest
     * entry, because Lanczos on a non-symmetric matrix silently produces meaningless numbers.
     */
    public static DenseHvp ofRowMajor(double[] a, int n) {
        if (n < 1 || a.length != (long) n * n) {
            throw new IllegalArgumentException("need n >= 1 and n*n entries, got n = " + n + " and " + a.length);
        }
        double max = 0.0;
        for (double x : a) {
            max = Math.max(max, Math.abs(x));
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                if (Math.abs(a[i * n + j] - a[j * n + i]) > 1e-12 * max) {
                    throw new IllegalArgumentException("matrix is not symmetric at (" + i + ", " + j + ")");
                }
            }
        }
        return new DenseHvp(a.clone(), n);
    }

    /** Wraps a square symmetric matrix given as rows (copied). */
    public static DenseHvp of(double[][] rows) {
        int n = rows.length;
        double[] a = new double[n * n];
        for (int i = 0; i < n; i++) {
            if (rows[i].length != n) {
                throw new IllegalArgumentException("row " + i + " has " + rows[i].length + " entries, expected " + n);
            }
            System.arraycopy(rows[i], 0, a, i * n, n);
        }
        return ofRowMajor(a, n);
    }

    public int dimension() {
        return n;
    }

    @Override
    public void apply(double[] v, double[] out) {
        for (int i = 0; i < n; i++) {
            double s = 0.0;
            int row = i * n;
            for (int j = 0; j < n; j++) {
                s += a[row + j] * v[j];
            }
            out[i] = s;
        }
    }
}
