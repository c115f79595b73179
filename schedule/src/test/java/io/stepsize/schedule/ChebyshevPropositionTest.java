package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Proposition 1 (DESIGN.md §1.2): with phi = 2κ and lr in [1/λ_u, 1/λ_l], one phase of T UBA step
 * sizes are the Chebyshev step sizes, so max over λ in [λ_l, λ_u] of |Π_t (1 - η_t λ)| is
 * 2ρ^T/(1 + ρ^{2T}), attained at every Chebyshev extremal point.
 *
 * <p>The product spans hundreds of orders of magnitude for T = 200, κ = 1e4 (single factors reach
 * κ), so it is summed in logs: log|Π| = Σ log|1 - η_t λ|.
 */
class ChebyshevPropositionTest {

  @ParameterizedTest(name = "lambda_low={0} lambda_max={1} T={2}")
  @CsvSource({
      "1, 10, 5",
      "0.5, 50, 20",
      "0.001, 1, 64",
      "1, 1.5, 3",
      "0.1, 1000, 100",
      "2, 20000, 200",
      "1, 10000, 1",
      "3, 7, 200"
  })
  void ubaWithPhiTwoKappaIsTheChebyshevMinimax(double lambdaLow, double lambdaMax, int totalSteps) {
    double kappa = lambdaMax / lambdaLow;
    Budget budget = Budget.of(totalSteps);
    JobSchedule job = new JobSchedule(budget, 1.0, 0.0, List.of(), new PhiPolicy.Chebyshev(), 1.0, 0);
    CurvaturePoint point = new CurvaturePoint(0, 0, 1, lambdaLow, lambdaLow, lambdaMax, kappa, lambdaMax, 1);
    CurvatureTimeline timeline = CurvatureTimeline.of(List.of(point));

    double[] eta = new double[totalSteps];
    double[] cosine = new double[totalSteps];
    for (int s = 0; s < totalSteps; s++) {
      LrValue v = LrEvaluator.evaluate(job, s, timeline);
      assertThat(v.source()).isEqualTo(Source.CURVATURE);
      assertThat(v.phi()).isEqualTo(2 * kappa);
      eta[s] = v.lr();
      // the same mapping straight from Uba
      double direct = (1 / lambdaLow - 1 / lambdaMax) * Uba.factor(2 * kappa, budget, s) + 1 / lambdaMax;
      assertThat(eta[s]).isCloseTo(direct, within(1e-15 * direct));
      cosine[s] = (1 / lambdaLow - 1 / lambdaMax) * Uba.factor(2, budget, s) + 1 / lambdaMax;
    }

    double rho = (Math.sqrt(kappa) - 1) / (Math.sqrt(kappa) + 1);
    double logBound = Math.log(2) + totalSteps * Math.log(rho) - Math.log1p(Math.pow(rho, 2.0 * totalSteps));

    double mid = (lambdaMax + lambdaLow) / 2;
    double half = (lambdaMax - lambdaLow) / 2;
    double logMax = Double.NEGATIVE_INFINITY;
    // the extremal points: every one of them reaches the bound (equioscillation)
    for (int j = 0; j <= totalSteps; j++) {
      double lambda = mid - half * Math.cos(j * Math.PI / totalSteps);
      double log = logAbsProduct(eta, lambda);
      assertThat(Math.expm1(log - logBound)).as("extremal point j=%d", j).isCloseTo(0, within(1e-9));
      logMax = Math.max(logMax, log);
    }
    // and nothing on a dense grid exceeds it
    int grid = 20_000;
    double logMaxCosine = Double.NEGATIVE_INFINITY;
    for (int i = 0; i <= grid; i++) {
      double lambda = lambdaLow + (lambdaMax - lambdaLow) * i / grid;
      logMax = Math.max(logMax, logAbsProduct(eta, lambda));
      logMaxCosine = Math.max(logMaxCosine, logAbsProduct(cosine, lambda));
    }
    assertThat(Math.expm1(logMax - logBound)).isCloseTo(0, within(1e-9));

    // constant step 2/(λ_l + λ_u): |1 - ηλ| peaks at the edges at (κ - 1)/(κ + 1) per step
    double logConstant = totalSteps * Math.log((kappa - 1) / (kappa + 1));
    if (totalSteps > 1) {
      assertThat(logMax).isLessThan(logConstant);
      assertThat(logMax).isLessThan(logMaxCosine);
    } else {
      // one step: Chebyshev is the constant step 2/(λ_l + λ_u) itself
      assertThat(logMax).isCloseTo(logConstant, within(1e-12));
    }
  }

  private static double logAbsProduct(double[] eta, double lambda) {
    double sum = 0;
    for (double e : eta) {
      sum += Math.log(Math.abs(1 - e * lambda));
    }
    return sum;
  }
}
