package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

import io.stepsize.estimator.math.RitzSpectrum;
import io.stepsize.schedule.LowerEdgeRule;
import io.stepsize.schedule.PhiPolicy;
import java.util.List;
import java.util.SplittableRandom;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.api.Test;

/**
 * The statistics of DESIGN.md §1.7 against a dense eigendecomposition. For a symmetric H = Σ λ_i v_i v_iᵀ
 * (EJML's eigenvectors) and a start ĝ = g/‖g‖, the spectral measure seen from ĝ has weights
 * w_i = (v_iᵀĝ)², so the truth is λ_h = Σ_{λ_i>τ} w_i / Σ_{λ_i>τ} w_i/λ_i, negative_mass = Σ_{λ_i<0} w_i and
 * α₀ = ĝᵀHĝ = Σ λ_i w_i. Lanczos from ĝ with full reorthogonalization ({@link #lanczos}, written here
 * rather than borrowed, so that the start vector is the test's) reproduces that measure exactly at
 * m = n, and the estimator's {@link LanczosMath} must then agree to 1e-10.
 */
class GradientStatisticsReferenceTest {
  private static final double TOL = 1e-10;

  /** A dense symmetric matrix and EJML's eigenpairs: values ascending, vectors[i] the unit vector of values[i]. */
  record Eigen(double[] a, int n, double[] values, double[][] vectors) {
    /** w_i = (v_iᵀĝ)² of a unit start. */
    double[] weights(double[] unit) {
      double[] w = new double[n];
      for (int i = 0; i < n; i++) {
        double d = dot(vectors[i], unit);
        w[i] = d * d;
      }
      return w;
    }
  }

  /** Q·diag(λ)·Qᵀ with Q a product of random Householder reflections: dense, with eigenvectors nothing aligns. */
  static double[] designed(double[] lambda, long seed) {
    int n = lambda.length;
    double[] a = new double[n * n];
    for (int i = 0; i < n; i++) {
      a[i * n + i] = lambda[i];
    }
    SplittableRandom g = new SplittableRandom(seed);
    for (int r = 0; r < 3; r++) {
      double[] u = unit(gaussian(n, g));
      double[] w = new double[n];
      double c = 0.0;
      for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int j = 0; j < n; j++) {
          s += a[i * n + j] * u[j];
        }
        w[i] = s;
        c += u[i] * s;
      }
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          a[i * n + j] += 4 * c * (u[i] * u[j]) - (2 * u[i] * w[j] + 2 * w[i] * u[j]);
        }
      }
    }
    return a;
  }

  static Eigen eigen(double[] a, int n) {
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
    if (!eig.decompose(DMatrixRMaj.wrap(n, n, a.clone()))) {
      throw new AssertionError("EJML's dense symmetric eigensolver did not converge");
    }
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (x, y) -> Double.compare(eig.getEigenvalue(x).real, eig.getEigenvalue(y).real));
    double[] values = new double[n];
    double[][] vectors = new double[n][];
    for (int k = 0; k < n; k++) {
      values[k] = eig.getEigenvalue(order[k]).real;
      vectors[k] = unit(eig.getEigenVector(order[k]).getData().clone());
    }
    return new Eigen(a, n, values, vectors);
  }

  /**
   * m Lanczos steps on the dense a from the unit start q0, reorthogonalized twice against every earlier
   * vector, in DESIGN.md's convention (beta[j] couples j and j+1, beta[m-1] = β_m).
   */
  static double[][] lanczos(double[] a, int n, double[] q0, int m) {
    double[][] q = new double[m + 1][];
    q[0] = q0.clone();
    double[] alpha = new double[m];
    double[] beta = new double[m];
    for (int j = 0; j < m; j++) {
      double[] w = new double[n];
      for (int i = 0; i < n; i++) {
        double s = 0.0;
        for (int k = 0; k < n; k++) {
          s += a[i * n + k] * q[j][k];
        }
        w[i] = s;
      }
      alpha[j] = dot(q[j], w);
      for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k <= j; k++) {
          double c = dot(q[k], w);
          for (int i = 0; i < n; i++) {
            w[i] -= c * q[k][i];
          }
        }
      }
      beta[j] = Math.sqrt(dot(w, w));
      q[j + 1] = w;
      for (int i = 0; i < n; i++) {
        w[i] /= beta[j];
      }
    }
    return new double[][] {alpha, beta};
  }

  private static final double[] INDEFINITE =
      {-2.0, -0.7, -0.1, 0.05, 0.3, 0.8, 1.1, 1.7, 2.4, 3.0, 4.2, 6.5};

  private static PhiPolicy.ConditionNumber harmonicEdge(double floorRatio) {
    PhiPolicy.ConditionNumber d = PhiPolicy.ConditionNumber.defaults();
    return new PhiPolicy.ConditionNumber(d.scale(), d.exponent(), d.phiMin(), d.phiMax(),
        LowerEdgeRule.GRADIENT_HARMONIC, floorRatio, d.quantile(), d.tol(), d.mode());
  }

  /** λ_h, negative mass, α₀ of a measure Σ w_i δ(λ_i), computed from their definitions. */
  private static double[] truth(double[] lambda, double[] w, double tau) {
    double mass = 0;
    double inverse = 0;
    double negative = 0;
    double alpha0 = 0;
    for (int i = 0; i < lambda.length; i++) {
      if (lambda[i] > tau) {
        mass += w[i];
        inverse += w[i] / lambda[i];
      }
      if (lambda[i] < 0) {
        negative += w[i];
      }
      alpha0 += lambda[i] * w[i];
    }
    return new double[] {mass / inverse, negative, alpha0};
  }

  @Test
  void atMEqualsNTheStatisticsAreTheExactOnesOfAnIndefiniteMatrix() {
    int n = INDEFINITE.length;
    Eigen e = eigen(designed(INDEFINITE, 7), n);
    assertThat(e.values()).containsExactly(INDEFINITE, offset(1e-12));
    double[] g = unit(gaussian(n, new SplittableRandom(8)));
    double[][] t = lanczos(e.a(), n, g, n);
    double[] w = e.weights(g);

    // the Ritz values and SLQ weights at m = n are the eigenvalues and (v_iᵀĝ)²
    RitzSpectrum r = RitzSpectrum.of(t[0], t[1]);
    assertThat(r.theta()).containsExactly(e.values(), offset(TOL));
    assertThat(r.weights()).containsExactly(w, offset(TOL));

    // τ = 0.02·6.5 = 0.13: λ = 0.05 is below it, so λ_h leaves out its weight as well as the negative ones
    double floorRatio = 0.02;
    double[] exact = truth(e.values(), w, floorRatio * e.values()[n - 1]);
    CurvatureMath.Smoothed s = new LanczosMath().estimate(10, new byte[0],
        List.of(new CurvatureMath.Probe(t[0], t[1], true, false)), harmonicEdge(floorRatio), 3);
    assertThat(s.lambdaHarmonic()).isCloseTo(exact[0], offset(TOL));
    assertThat(s.negativeMass()).isCloseTo(exact[1], offset(TOL));
    assertThat(s.gradientSharpness()).isCloseTo(exact[2], offset(TOL));
    assertThat(t[0][0]).isCloseTo(exact[2], offset(TOL)); // α₀ = ĝᵀHĝ
    assertThat(s.lambdaLow()).isEqualTo(s.lambdaHarmonic()); // gradient_harmonic: one number
    assertThat(s.lambdaMax()).isCloseTo(6.5, offset(TOL));
    assertThat(exact[1]).isGreaterThan(0.05); // the test means something: real weight below zero
    assertThat(s.negativeMass()).isEqualTo(
        w[0] + w[1] + w[2], offset(TOL));
  }

  @Test
  void twoWorkersAverageTheirMeasuresAndTheirSharpness() {
    int n = INDEFINITE.length;
    Eigen e = eigen(designed(INDEFINITE, 9), n);
    double[] g1 = unit(gaussian(n, new SplittableRandom(10)));
    double[] g2 = unit(gaussian(n, new SplittableRandom(11)));
    double[][] t1 = lanczos(e.a(), n, g1, n);
    double[][] t2 = lanczos(e.a(), n, g2, n);
    double[] w1 = e.weights(g1);
    double[] w2 = e.weights(g2);
    double[] mean = new double[n];
    for (int i = 0; i < n; i++) {
      mean[i] = (w1[i] + w2[i]) / 2;
    }
    double floorRatio = 1e-6;
    double[] exact = truth(e.values(), mean, floorRatio * e.values()[n - 1]);
    double a1 = truth(e.values(), w1, 0)[2];
    double a2 = truth(e.values(), w2, 0)[2];
    // a random-start probe of the same step joins the density but not the sharpness
    double[] r = unit(gaussian(n, new SplittableRandom(12)));
    double[][] t3 = lanczos(e.a(), n, r, n);
    double[] w3 = e.weights(r);
    double[] three = new double[n];
    for (int i = 0; i < n; i++) {
      three[i] = (w1[i] + w2[i] + w3[i]) / 3;
    }
    double[] exact3 = truth(e.values(), three, floorRatio * e.values()[n - 1]);

    LanczosMath math = new LanczosMath();
    CurvatureMath.Smoothed s = math.estimate(10, new byte[0], List.of(new CurvatureMath.Probe(t1[0], t1[1], true,
        false), new CurvatureMath.Probe(t2[0], t2[1], true, false)), harmonicEdge(floorRatio), 3);
    assertThat(s.lambdaHarmonic()).isCloseTo(exact[0], offset(TOL));
    assertThat(s.negativeMass()).isCloseTo(exact[1], offset(TOL));
    assertThat(s.gradientSharpness()).isCloseTo((a1 + a2) / 2, offset(TOL));
    assertThat(s.gradientSharpness()).isCloseTo(exact[2], offset(TOL)); // the mean of α₀ is α₀ of the mean measure

    CurvatureMath.Smoothed s3 = math.estimate(10, new byte[0], List.of(new CurvatureMath.Probe(t1[0], t1[1], true,
        false), new CurvatureMath.Probe(t2[0], t2[1], true, false), new CurvatureMath.Probe(t3[0], t3[1], false,
        false)), harmonicEdge(floorRatio), 3);
    assertThat(s3.lambdaHarmonic()).isCloseTo(exact3[0], offset(TOL));
    assertThat(s3.negativeMass()).isCloseTo(exact3[1], offset(TOL));
    assertThat(s3.gradientSharpness()).isCloseTo((a1 + a2) / 2, offset(TOL));

    // random starts only: no gradient sharpness
    CurvatureMath.Smoothed random = math.estimate(10, new byte[0], List.of(new CurvatureMath.Probe(t3[0], t3[1])),
        harmonicEdge(floorRatio), 3);
    assertThat(random.gradientSharpness()).isNaN();
  }

  /**
   * At m = 20 on an SPD matrix (n = 500, κ = 100, eigenvalues spread evenly over [1, 100]) with τ below
   * λ_min, every Ritz value counts, Σ w_i = 1, and 1/λ_h = Σ w_i/θ_i = e1ᵀT_m⁻¹e1: the m-point Gauss
   * quadrature of ∫ 1/x dμ = ĝᵀH⁻¹ĝ. For 1/x, whose even derivatives are positive on (0, ∞), the
   * Gauss rule is a lower bound, so λ_h^(m) ≥ λ_h: Lanczos overestimates λ_h. The gap is the squared
   * H-norm error of m steps of conjugate gradients on Hx = ĝ from x₀ = 0, for which CG's bound gives
   *
   * <pre>  0 ≤ ĝᵀH⁻¹ĝ − e1ᵀT_m⁻¹e1 ≤ 4·ĝᵀH⁻¹ĝ·((√κ − 1)/(√κ + 1))^(2m)</pre>
   *
   * (here 4·(9/11)^40 ≈ 1.3e-3 relative). Both sides are asserted.
   */
  @Test
  void atM20TheHarmonicOverestimatesWithinTheConjugateGradientBound() {
    int n = 500;
    int m = 20;
    double[] lambda = new double[n];
    for (int i = 0; i < n; i++) {
      lambda[i] = 1.0 + 99.0 * i / (n - 1);
    }
    Eigen e = eigen(designed(lambda, 13), n);
    double kappa = e.values()[n - 1] / e.values()[0];
    assertThat(kappa).isCloseTo(100.0, offset(1e-9));
    double[] g = unit(gaussian(n, new SplittableRandom(14)));
    double[] w = e.weights(g);
    double exactInverse = 0;
    for (int i = 0; i < n; i++) {
      exactInverse += w[i] / e.values()[i];
    }
    double[][] t = lanczos(e.a(), n, g, m);
    RitzSpectrum r = RitzSpectrum.of(t[0], t[1]);
    double[] theta = r.theta();
    double[] weight = r.weights();
    assertThat(theta[0]).isGreaterThan(1e-6 * theta[m - 1]); // τ below every node: all weight counts
    double gauss = 0;
    for (int i = 0; i < m; i++) {
      gauss += weight[i] / theta[i];
    }
    CurvatureMath.Smoothed s = new LanczosMath().estimate(10, new byte[0],
        List.of(new CurvatureMath.Probe(t[0], t[1], true, false)), harmonicEdge(1e-6), 3);
    assertThat(s.lambdaHarmonic()).isCloseTo(1 / gauss, offset(1e-12 / gauss));

    double gap = exactInverse - gauss;
    double rho = (Math.sqrt(kappa) - 1) / (Math.sqrt(kappa) + 1);
    double bound = 4 * exactInverse * Math.pow(rho, 2 * m);
    assertThat(gap).isGreaterThan(0.0).isLessThanOrEqualTo(bound);
    assertThat(s.lambdaHarmonic()).isGreaterThan(1 / exactInverse);
    // far from the quadrature's rounding (~1e-16): the lower bound is a real statement here
    assertThat(gap / exactInverse).isGreaterThan(1e-12);
  }

  static double[] gaussian(int n, SplittableRandom g) {
    double[] x = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = g.nextGaussian();
    }
    return x;
  }

  static double[] unit(double[] x) {
    double norm = Math.sqrt(dot(x, x));
    double[] u = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      u[i] = x[i] / norm;
    }
    return u;
  }

  static double dot(double[] x, double[] y) {
    double s = 0.0;
    for (int i = 0; i < x.length; i++) {
      s += x[i] * y[i];
    }
    return s;
  }
}
