package io.stepsize.client.lanczos;

/** Hand-built spectra for the tests. */
final class Spectra {

    private Spectra() {
    }

    /** n − 1 eigenvalues evenly in [lo, hi] and one extra value appended. */
    static double[] uniformPlus(int n, double lo, double hi, double extra) {
        double[] l = new double[n];
        for (int i = 0; i < n - 1; i++) {
            l[i] = lo + (hi - lo) * i / (n - 2);
        }
        l[n - 1] = extra;
        return l;
    }

    static double max(double[] x) {
        double m = Double.NEGATIVE_INFINITY;
        for (double v : x) {
            m = Math.max(m, v);
        }
        return m;
    }

    static double min(double[] x) {
        double m = Double.POSITIVE_INFINITY;
        for (double v : x) {
            m = Math.min(m, v);
        }
        return m;
    }
}
