package io.stepsize.client.lanczos;

/** The few BLAS-1 kernels the driver needs. */
final class Vectors {

    private Vectors() {
    }

    static double dot(double[] x, double[] y) {
        double s = 0.0;
        for (int i = 0; i < x.length; i++) {
            s += x[i] * y[i];
        }
        return s;
    }

    /**
     * Euclidean norm, scaled so that it neither overflows nor underflows for extreme HVP
     * magnitudes (curvatures of 1e200 or 1e-200 are rare but a probe must not turn into NaN).
     */
    static double norm(double[] x) {
        double max = 0.0;
        for (double v : x) {
            max = Math.max(max, Math.abs(v));
        }
        if (max == 0.0 || !Double.isFinite(max)) {
            return max;
        }
        double s = 0.0;
        for (double v : x) {
            double t = v / max;
            s += t * t;
        }
        return max * Math.sqrt(s);
    }

    /** y += a·x */
    static void axpy(double a, double[] x, double[] y) {
        for (int i = 0; i < x.length; i++) {
            y[i] += a * x[i];
        }
    }

    static void scale(double[] x, double a) {
        for (int i = 0; i < x.length; i++) {
            x[i] *= a;
        }
    }
}
