package io.stepsize.lab.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The models' gradients and Hessian-vector products against central finite differences of the
 * loss and of the gradient, at random (not only initial) weights, on a batch of real digits.
 * Central differences with ε = 1e-5 err by O(ε²) ≈ 1e-10 of the derivative's scale plus rounding
 * ≈ 1e-16/ε, so the relative tolerance 1e-6 leaves four orders of margin and still catches any
 * wrong term (a missing factor or sign is an O(1) error).
 */
class ModelDerivativesTest {
  private static final double EPS = 1e-5;
  private static final double TOL = 1e-6;

  static Stream<Arguments> models() {
    return Stream.of(
        Arguments.of(new SoftmaxRegression(Digits.PIXELS, Digits.CLASSES, 1e-3)),
        Arguments.of(new Mlp(Digits.PIXELS, 16, Digits.CLASSES, 1e-3)));
  }

  private static Dataset batch() {
    return Digits.load().split(7, 450).train().subset(java.util.stream.IntStream.range(0, 48).toArray());
  }

  /** Weights away from the start, where the softmax is no longer uniform and tanh is curved. */
  private static double[] randomParams(Model model, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] p = model.initialParameters(seed);
    for (int k = 0; k < p.length; k++) {
      p[k] += 0.3 * random.nextGaussian();
    }
    return p;
  }

  private static double[] randomUnit(int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    double[] v = new double[n];
    double norm = 0;
    for (int k = 0; k < n; k++) {
      v[k] = random.nextGaussian();
      norm += v[k] * v[k];
    }
    norm = Math.sqrt(norm);
    for (int k = 0; k < n; k++) {
      v[k] /= norm;
    }
    return v;
  }

  private static double relativeError(double[] actual, double[] expected) {
    double diff = 0;
    double norm = 0;
    for (int k = 0; k < actual.length; k++) {
      diff += (actual[k] - expected[k]) * (actual[k] - expected[k]);
      norm += expected[k] * expected[k];
    }
    return Math.sqrt(diff / norm);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void gradientMatchesFiniteDifferencesOfTheLoss(Model model) {
    Dataset batch = batch();
    double[] theta = randomParams(model, 11);
    int n = model.dimension();
    double[] gradient = new double[n];
    model.lossAndGradient(theta, batch, gradient);
    double[] numeric = new double[n];
    for (int k = 0; k < n; k++) {
      double keep = theta[k];
      theta[k] = keep + EPS;
      double up = model.lossAndGradient(theta, batch, null);
      theta[k] = keep - EPS;
      double down = model.lossAndGradient(theta, batch, null);
      theta[k] = keep;
      numeric[k] = (up - down) / (2 * EPS);
    }
    double error = relativeError(gradient, numeric);
    assertTrue(error < TOL, model.name() + " gradient relative error " + error);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void hessianVectorProductMatchesFiniteDifferencesOfTheGradient(Model model) {
    Dataset batch = batch();
    double[] theta = randomParams(model, 12);
    int n = model.dimension();
    for (long seed = 1; seed <= 3; seed++) {
      double[] v = randomUnit(n, seed);
      double[] hv = new double[n];
      model.hessianVector(theta, batch, v, hv);
      double[] plus = theta.clone();
      double[] minus = theta.clone();
      for (int k = 0; k < n; k++) {
        plus[k] += EPS * v[k];
        minus[k] -= EPS * v[k];
      }
      double[] gPlus = new double[n];
      double[] gMinus = new double[n];
      model.lossAndGradient(plus, batch, gPlus);
      model.lossAndGradient(minus, batch, gMinus);
      double[] numeric = new double[n];
      for (int k = 0; k < n; k++) {
        numeric[k] = (gPlus[k] - gMinus[k]) / (2 * EPS);
      }
      double error = relativeError(hv, numeric);
      assertTrue(error < TOL, model.name() + " HVP relative error " + error + " (direction " + seed + ")");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void hessianIsSymmetric(Model model) {
    Dataset batch = batch();
    double[] theta = randomParams(model, 13);
    int n = model.dimension();
    double[] u = randomUnit(n, 21);
    double[] v = randomUnit(n, 22);
    double[] hu = new double[n];
    double[] hv = new double[n];
    model.hessianVector(theta, batch, u, hu);
    model.hessianVector(theta, batch, v, hv);
    double vhu = 0;
    double uhv = 0;
    for (int k = 0; k < n; k++) {
      vhu += v[k] * hu[k];
      uhv += u[k] * hv[k];
    }
    assertEquals(vhu, uhv, 1e-12 * Math.max(1, Math.abs(vhu)));
  }
}
