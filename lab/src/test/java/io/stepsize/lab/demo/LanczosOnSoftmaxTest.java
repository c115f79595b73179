package io.stepsize.lab.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.lab.train.SgdMomentum;
import io.stepsize.lab.train.TrainingLoop;
import io.stepsize.proto.v1.Start;
import java.util.Arrays;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;
import org.junit.jupiter.api.Test;

/**
 * The probe the demo publishes sees the real Hessian: the top Ritz value of a 20-step Lanczos run
 * with the model's HVPs equals the largest eigenvalue of the dense Hessian, assembled column by
 * column from the same HVPs and decomposed by EJML, on a small batch of digits; from a random start
 * and from the gradient (the demo's), whose alpha[0] is ĝᵀHĝ with the model's own gradient.
 */
class LanczosOnSoftmaxTest {

  @Test
  void topRitzValueIsTheDenseHessiansLargestEigenvalue() throws InterruptedException {
    double l2 = 1e-3;
    SoftmaxRegression model = new SoftmaxRegression(Digits.PIXELS, Digits.CLASSES, l2);
    Dataset train = Digits.load().split(3, 450).train();
    Dataset batch = train.subset(IntStream.range(0, 32).toArray());
    // trained a little so the predictions are not uniform (the Hessian at zero is a Kronecker product)
    double[] theta = new TrainingLoop(new TrainingLoop.Config(40, 32, 3, false), train.size())
        .run(model.initialParameters(3), model.objective(train), new SgdMomentum(model.dimension(), 0.9), s -> 0.2,
            TrainingLoop.ProbeHook.NONE, TrainingLoop.StepObserver.NONE).params();

    int n = model.dimension();
    DMatrixRMaj h = new DMatrixRMaj(n, n);
    double[] e = new double[n];
    double[] column = new double[n];
    for (int j = 0; j < n; j++) {
      Arrays.fill(e, 0);
      e[j] = 1;
      model.hessianVector(theta, batch, e, column);
      for (int i = 0; i < n; i++) {
        h.set(i, j, column[i]);
      }
    }
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, false, true);
    assertTrue(eig.decompose(h.copy()), "dense eigendecomposition failed"); // EJML may overwrite its input
    double top = Double.NEGATIVE_INFINITY;
    double bottom = Double.POSITIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      top = Math.max(top, eig.getEigenvalue(i).real);
      bottom = Math.min(bottom, eig.getEigenvalue(i).real);
    }

    LanczosResult probe = new CurvatureProbe(model, batch, CurvatureProbe.DEFAULT_STEPS, Start.START_RANDOM)
        .run(theta, 42);
    assertEquals(Start.START_RANDOM, probe.start());
    double ritzTop = Arrays.stream(ritzValues(probe)).max().orElseThrow();
    assertEquals(top, ritzTop, 1e-6 * top, "λ_max: dense " + top + ", Lanczos " + ritzTop);

    CurvatureProbe demoProbe = new CurvatureProbe(model, batch, CurvatureProbe.DEFAULT_STEPS);
    assertEquals(Start.START_GRADIENT, demoProbe.start());
    LanczosResult fromGradient = demoProbe.run(theta, 42);
    assertEquals(Start.START_GRADIENT, fromGradient.start());
    assertEquals(fromGradient, demoProbe.run(theta, 7), "the seed plays no part in a gradient start");
    double[] g = new double[n];
    model.lossAndGradient(theta, batch, g);
    double norm = Math.sqrt(Arrays.stream(g).map(x -> x * x).sum());
    double gHg = 0;
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        gHg += g[i] / norm * h.get(i, j) * g[j] / norm;
      }
    }
    assertEquals(gHg, fromGradient.alpha()[0], 1e-12 * top, "alpha[0] = g^T H g");
    double gradientTop = Arrays.stream(ritzValues(fromGradient)).max().orElseThrow();
    assertEquals(top, gradientTop, 1e-6 * top, "λ_max from the gradient: dense " + top + ", Lanczos " + gradientTop);
    // positive definite with λ_min = l2 exactly: the class-shift directions have no data curvature
    assertEquals(l2, bottom, 1e-9);
  }

  /** Eigenvalues of the tridiagonal T_m (alpha on the diagonal, beta[0..m-2] beside it). */
  static double[] ritzValues(LanczosResult probe) {
    int m = probe.steps();
    double[] a = probe.alpha();
    double[] b = probe.beta();
    DMatrixRMaj t = new DMatrixRMaj(m, m);
    for (int i = 0; i < m; i++) {
      t.set(i, i, a[i]);
      if (i + 1 < m) {
        t.set(i, i + 1, b[i]);
        t.set(i + 1, i, b[i]);
      }
    }
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(m, false, true);
    assertTrue(eig.decompose(t));
    double[] values = new double[m];
    for (int i = 0; i < m; i++) {
      values[i] = eig.getEigenvalue(i).real;
    }
    return values;
  }
}
