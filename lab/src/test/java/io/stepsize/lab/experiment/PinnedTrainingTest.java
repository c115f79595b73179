package io.stepsize.lab.experiment;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.lab.demo.Dataset;
import io.stepsize.lab.demo.DemoRun;
import io.stepsize.lab.demo.DemoSettings;
import io.stepsize.lab.demo.Digits;
import io.stepsize.lab.demo.Progress;
import io.stepsize.lab.demo.RunResult;
import org.junit.jupiter.api.Test;

/**
 * Same seed, same numbers: the values below were printed by the two training loops the lab had
 * before they became one (the demo's Trainer.train and the experiments' RunExecutor.run), so a
 * change to the batch order, the updates or the order of a step's parts shows up here as a
 * different double, not as a tolerance that still passes.
 */
class PinnedTrainingTest {
  private static final Dataset.Split DIGITS = Digits.load().split(DemoSettings.SPLIT_SEED, DemoSettings.TEST_SIZE);

  private static RunResult demo(String model, java.util.function.LongToDoubleFunction lr) {
    return DemoRun.local("pinned", DemoSettings.defaults(model).withSteps(90, 30), DIGITS, lr, Progress.silent(),
        new long[1]);
  }

  @Test
  void demoRunsGiveTheLossesOfTheFormerTrainer() {
    RunResult softmax = demo("softmax", s -> 0.3 + 0.2 * Math.cos(s));
    assertThat(softmax.finalTrainLoss()).isEqualTo(0.1565186487169606);
    assertThat(softmax.testLoss()).isEqualTo(0.2298426263273561);
    assertThat(softmax.testAccuracy()).isEqualTo(0.947103274559194);
    RunResult mlp = demo("mlp", s -> 0.3 + 0.2 * Math.cos(s));
    assertThat(mlp.finalTrainLoss()).isEqualTo(0.14744009749373813);
    assertThat(mlp.testLoss()).isEqualTo(0.25543580508109365);
    assertThat(mlp.testAccuracy()).isEqualTo(0.9168765743073047);
  }

  @Test
  void demoRunsTheWholeBudgetEvenWhenTheLossOverflows() {
    RunResult hot = demo("mlp", s -> 1e12);
    assertThat(hot.batchLoss()[0]).isEqualTo(2.403771338658215);
    assertThat(hot.batchLoss()[1]).isEqualTo(3.191253224572466E19);
    assertThat(hot.batchLoss()[89]).isNaN();
    assertThat(hot.lr()).hasSize(90).containsOnly(1e12);
    assertThat(hot.finalTrainLoss()).isNaN();
    assertThat(hot.testAccuracy()).isEqualTo(0.0982367758186398);
  }

  private static Run.Result experiment(double lrSgd, double lrAdamw, OptimizerKind optimizer, String arm)
      throws InterruptedException {
    Workload w = Workloads.digits(16, 32, 60, new Workloads.Rates(lrSgd, lrAdamw));
    // a baseline arm never calls the service, so no client
    return new RunExecutor(null, 20, 4).run(
        new Run.Spec(0, w, optimizer, 100, 60, RunExecutor.warmup(60), 3, Arm.parse(arm), ""));
  }

  @Test
  void experimentRunsGiveTheLossesOfTheFormerRunExecutor() throws InterruptedException {
    Run.Result sgd = experiment(0.1, 0.01, OptimizerKind.SGD, "cosine");
    assertThat(sgd.trainLoss()).isEqualTo(0.5242910690475042);
    assertThat(sgd.testLoss()).isEqualTo(0.6023226981909312);
    assertThat(sgd.testAccuracy()).isEqualTo(0.8722222222222222);
    assertThat(sgd.stepsRun()).isEqualTo(60);
    assertThat(sgd.diverged()).isFalse();
    Run.Result adamw = experiment(0.1, 0.01, OptimizerKind.ADAMW, "onecycle");
    assertThat(adamw.trainLoss()).isEqualTo(1.0007703520593516);
    assertThat(adamw.testLoss()).isEqualTo(1.070539079495865);
    assertThat(adamw.testAccuracy()).isEqualTo(0.7722222222222223);
  }

  @Test
  void experimentRunStopsAtTheFirstNonFiniteLoss() throws InterruptedException {
    Run.Result sgd = experiment(1e12, 1e12, OptimizerKind.SGD, "cosine");
    assertThat(sgd.diverged()).isTrue();
    assertThat(sgd.stepsRun()).isEqualTo(19);
    assertThat(sgd.batchLoss()[18]).isEqualTo(2.7284300387176244E289);
    assertThat(sgd.batchLoss()[19]).isInfinite();
    assertThat(sgd.batchLoss()[20]).isNaN(); // never computed
    assertThat(sgd.lr()[20]).isZero();
    assertThat(sgd.trainLoss()).isNaN();
    assertThat(experiment(1e12, 1e12, OptimizerKind.ADAMW, "cosine").stepsRun()).isEqualTo(16);
  }
}
