package io.stepsize.lab.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The loop on objectives whose trajectories are known by hand. */
class TrainingLoopTest {
  /** ½‖θ‖², gradient θ, whatever the batch: plain SGD with lr 1/2 halves θ every step. */
  private static final TrainingLoop.Objective HALF_SQUARE = (params, batch, gradient) -> {
    double loss = 0;
    for (int k = 0; k < params.length; k++) {
      gradient[k] = params[k];
      loss += 0.5 * params[k] * params[k];
    }
    return loss;
  };

  @Test
  void eachStepProbesThenAsksItsRateThenReportsItsLossThenUpdates() throws InterruptedException {
    List<String> events = new ArrayList<>();
    TrainingLoop loop = new TrainingLoop(new TrainingLoop.Config(3, 2, 5, false), 4);
    TrainingLoop.Outcome out = loop.run(new double[] {1.0}, HALF_SQUARE, new SgdMomentum(1, 0),
        s -> {
          events.add("lr " + s);
          return 0.5;
        },
        (s, params) -> events.add("probe " + s + " at " + params[0]),
        (s, lr, loss) -> events.add("loss " + s + " = " + loss + " with lr " + lr));
    assertThat(events).containsExactly(
        "probe 0 at 1.0", "lr 0", "loss 0 = 0.5 with lr 0.5",
        "probe 1 at 0.5", "lr 1", "loss 1 = 0.125 with lr 0.5",
        "probe 2 at 0.25", "lr 2", "loss 2 = 0.03125 with lr 0.5");
    assertThat(out.params()).containsExactly(0.125);
    assertThat(out.stepsRun()).isEqualTo(3);
    assertThat(out.diverged()).isFalse();
  }

  @Test
  void batchesAreDropLastEpochsOfASeededShuffle() throws InterruptedException {
    List<int[]> batches = batches(7, 5);
    // 5 examples in batches of 2: two batches an epoch, the fifth example left out of each
    int[] epoch0 = BatchOrder.permutation(5, new SplittableRandom(7 * 1_000_003L));
    int[] epoch1 = BatchOrder.permutation(5, new SplittableRandom(7 * 1_000_003L + 1));
    assertThat(batches.get(0)).containsExactly(epoch0[0], epoch0[1]);
    assertThat(batches.get(1)).containsExactly(epoch0[2], epoch0[3]);
    assertThat(batches.get(2)).containsExactly(epoch1[0], epoch1[1]);
    assertThat(epoch0).containsExactlyInAnyOrder(0, 1, 2, 3, 4);
    // the same seed gives the same batches, another seed others
    assertThat(batches(7, 5)).usingRecursiveComparison().isEqualTo(batches);
    assertThat(batches(8, 5)).usingRecursiveComparison().isNotEqualTo(batches);
  }

  private static List<int[]> batches(long seed, int steps) throws InterruptedException {
    List<int[]> seen = new ArrayList<>();
    new TrainingLoop(new TrainingLoop.Config(steps, 2, seed, false), 5).run(new double[] {0}, (p, batch, g) -> {
      seen.add(Arrays.copyOf(batch, batch.length));
      return 0;
    }, new SgdMomentum(1, 0), s -> 0.1, TrainingLoop.ProbeHook.NONE, TrainingLoop.StepObserver.NONE);
    return seen;
  }

  /** HALF_SQUARE, but from step 2 on the loss is NaN (nanLoss) or the gradient is (otherwise). */
  private static TrainingLoop.Objective breaksAtStep2(boolean nanLoss) {
    long[] step = {0};
    return (params, batch, gradient) -> {
      double loss = HALF_SQUARE.lossAndGradient(params, batch, gradient);
      if (step[0]++ < 2) {
        return loss;
      }
      if (nanLoss) {
        return Double.NaN;
      }
      gradient[0] = Double.POSITIVE_INFINITY;
      return loss;
    };
  }

  @Test
  void stopsAtTheFirstNonFiniteLossOrGradientWithoutApplyingThatUpdate() throws InterruptedException {
    for (boolean nanLoss : new boolean[] {true, false}) {
      List<Long> observed = new ArrayList<>();
      TrainingLoop.Outcome out = new TrainingLoop(new TrainingLoop.Config(5, 1, 1, true), 3).run(new double[] {1.0},
          breaksAtStep2(nanLoss), new SgdMomentum(1, 0), s -> 0.5, TrainingLoop.ProbeHook.NONE,
          (s, lr, loss) -> observed.add(s));
      assertThat(out.diverged()).isTrue();
      assertThat(out.stepsRun()).isEqualTo(2);
      assertThat(out.params()).containsExactly(0.25); // two halvings, the third update skipped
      assertThat(observed).containsExactly(0L, 1L, 2L);
    }
  }

  @Test
  void withoutStoppingItRunsTheWholeBudget() throws InterruptedException {
    List<Long> observed = new ArrayList<>();
    TrainingLoop.Outcome out = new TrainingLoop(new TrainingLoop.Config(4, 1, 1, false), 3).run(new double[] {1.0},
        breaksAtStep2(true), new SgdMomentum(1, 0), s -> 0.5, TrainingLoop.ProbeHook.NONE,
        (s, lr, loss) -> observed.add(s));
    assertThat(out.diverged()).isFalse();
    assertThat(out.stepsRun()).isEqualTo(4);
    assertThat(out.params()).containsExactly(0.0625);
    assertThat(observed).containsExactly(0L, 1L, 2L, 3L);
  }

  @Test
  void aNegativeOrNonFiniteRateIsAnError() {
    for (double bad : new double[] {-1, Double.NaN}) {
      assertThatThrownBy(() -> new TrainingLoop(new TrainingLoop.Config(3, 1, 1, false), 3).run(new double[] {1.0},
          HALF_SQUARE, new SgdMomentum(1, 0), s -> s == 1 ? bad : 0.5, TrainingLoop.ProbeHook.NONE,
          TrainingLoop.StepObserver.NONE))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("learning rate of step 1 is " + bad);
    }
  }

  @Test
  void configAndBatchSizeAreChecked() {
    assertThatThrownBy(() -> new TrainingLoop.Config(0, 1, 1, false))
        .hasMessage("need steps >= 1 and batchSize >= 1; got 0, 1");
    assertThatThrownBy(() -> new TrainingLoop(new TrainingLoop.Config(1, 5, 1, false), 4))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("batch size 5 > training set 4");
    assertThatThrownBy(() -> new SgdMomentum(1, 1.0)).hasMessage("momentum must be in [0, 1), got 1.0");
  }
}
