package io.stepsize.lab.experiment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.proto.v1.LowerEdge;
import io.stepsize.proto.v1.PhiMode;
import io.stepsize.proto.v1.Start;
import io.stepsize.lab.demo.Dataset;
import io.stepsize.lab.train.Update;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pieces of the experiment, each against an independently derived value. */
class ExperimentPartsTest {
  @TempDir Path dir;

  @Test
  void fashionLoaderNamesTheDebianPackageWhenFilesAreAbsent() {
    assertThatThrownBy(() -> FashionMnist.load(dir, 10, 10))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("train-images-idx3-ubyte.gz")
        .hasMessageContaining("dataset-fashion-mnist");
  }

  private void idx(String name, int magic, int[] dims, byte[] body) throws IOException {
    try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(dir.resolve(name))))) {
      out.writeInt(magic);
      for (int d : dims) {
        out.writeInt(d);
      }
      out.write(body);
    }
  }

  @Test
  void fashionLoaderReadsIdxPixelsOver255AndLabels() throws IOException {
    byte[] images = new byte[3 * 784];
    images[0] = (byte) 255;
    images[784 + 5] = (byte) 51;
    images[2 * 784 + 783] = (byte) 128;
    for (String p : new String[] {"train", "t10k"}) {
      idx(p + "-images-idx3-ubyte.gz", 2051, new int[] {3, 28, 28}, images);
      idx(p + "-labels-idx1-ubyte.gz", 2049, new int[] {3}, new byte[] {9, 0, 4});
    }
    Dataset.Split split = FashionMnist.load(dir, 2, 3);
    assertThat(split.train().size()).isEqualTo(2);
    assertThat(split.test().size()).isEqualTo(3);
    assertThat(split.test().x()[0][0]).isEqualTo(1.0);
    assertThat(split.test().x()[1][5]).isEqualTo(0.2);
    assertThat(split.test().x()[2][783]).isEqualTo(128 / 255.0);
    assertThat(split.test().y()).containsExactly(9, 0, 4);

    idx("train-labels-idx1-ubyte.gz", 2051, new int[] {3}, new byte[] {1, 2, 3});
    assertThatThrownBy(() -> FashionMnist.load(dir, 3, 3)).isInstanceOf(IOException.class)
        .hasMessageContaining("magic 2051, expected 2049");
  }

  @Test
  void installedFashionMnistHasTheOfficialShape() throws IOException {
    Path debian = Path.of(FashionMnist.DEBIAN_DIR);
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(debian), "dataset-fashion-mnist not installed");
    Dataset.Split split = FashionMnist.load(debian, 1_000, 500);
    assertThat(split.train().features()).isEqualTo(784);
    int[] counts = new int[10];
    for (int y : split.train().y()) {
      counts[y]++;
    }
    // the files are shuffled across classes: every class appears in the first thousand
    assertThat(java.util.Arrays.stream(counts).min().orElseThrow()).isGreaterThan(50);
  }

  @Test
  void sgdMomentumFollowsPytorchsRecurrence() {
    Update sgd = OptimizerKind.SGD.create(1);
    double[] p = {1.0};
    sgd.apply(p, new double[] {2.0}, 0.1); // buf = 2, p = 1 - 0.2
    assertThat(p[0]).isCloseTo(0.8, within(1e-15));
    sgd.apply(p, new double[] {1.0}, 0.1); // buf = 0.9*2 + 1 = 2.8, p = 0.8 - 0.28
    assertThat(p[0]).isCloseTo(0.52, within(1e-15));
  }

  @Test
  void adamwFirstStepIsSignTimesLrPlusDecoupledDecay() {
    Update adam = OptimizerKind.ADAMW.create(2);
    double[] p = {1.0, -2.0};
    adam.apply(p, new double[] {3.0, -0.5}, 0.01);
    // bias-corrected m̂ = g, v̂ = g², so the step is lr·g/(|g| + ε); decay multiplies by 1 − lr·wd first
    assertThat(p[0]).isCloseTo(1.0 * (1 - 0.01 * 0.01) - 0.01 * 3 / (3 + 1e-8), within(1e-15));
    assertThat(p[1]).isCloseTo(-2.0 * (1 - 0.01 * 0.01) + 0.01 * 0.5 / (0.5 + 1e-8), within(1e-15));
  }

  @Test
  void armsParseToTheirPolicies() {
    Arm cn = Arm.parse("kappa:0.5:0.25:latched");
    assertThat(cn.isKappa()).isTrue();
    var policy = cn.policy(OptimizerKind.SGD).getConditionNumber();
    assertThat(policy.getScale()).isEqualTo(0.5);
    assertThat(policy.getExponent()).isEqualTo(0.25);
    assertThat(policy.getMode()).isEqualTo(PhiMode.PHI_MODE_LATCHED);
    // φ = 0.5·(2·8)^0.25 = 0.5·2 = 1
    assertThat(cn.phiOfKappa(8)).isCloseTo(1.0, within(1e-15));
    assertThat(Arm.parse("phi:paper").policy(OptimizerKind.ADAMW).getFixed().getPhi()).isEqualTo(0.5);
    assertThat(Arm.parse("phi:paper").policy(OptimizerKind.SGD).getFixed().getPhi()).isEqualTo(5.0);
    assertThat(Arm.parse("REX").baseline()).isEqualTo(io.stepsize.schedule.Baseline.REX);
    // "kappa" alone is the service default, phi = 0.2 kappa
    assertThat(Arm.parse("kappa").label()).isEqualTo("uba-kappa:0.1:1:live");
    assertThatThrownBy(() -> Arm.parse("kappa:1")).hasMessageContaining("kappa:SCALE:EXPONENT");
    assertThatThrownBy(() -> Arm.parse("phi:-1")).hasMessageContaining("phi must be finite and > 0");
    assertThatThrownBy(() -> Arm.parse("sawtooth")).hasMessageContaining("must be one of");
  }

  @Test
  void issue14ArmOptionsParseToModeEdgeGuardAndGradientStarts() {
    Arm gh = Arm.parse("kappa:1:1:continuous:edge=gradient_harmonic:guard=1.5");
    var policy = gh.policy(OptimizerKind.SGD).getConditionNumber();
    assertThat(policy.getMode()).isEqualTo(PhiMode.PHI_MODE_CONTINUOUS);
    assertThat(policy.getLowerEdge()).isEqualTo(LowerEdge.LOWER_EDGE_GRADIENT_HARMONIC);
    assertThat(gh.edgeGuard().getMaxEdgeRatio()).isEqualTo(1.5);
    assertThat(gh.start()).isEqualTo(Start.START_GRADIENT);
    // the label names every option in a fixed order and parses back to the same arm (the smoke test relies on it)
    assertThat(gh.label()).isEqualTo("uba-kappa:1:1:continuous:edge=gradient_harmonic:guard=1.5");
    assertThat(Arm.parse(gh.label().substring("uba-".length()))).isEqualTo(gh);
    // options may follow the bare kappa and need no mode; guard also works on a fixed phi
    Arm bare = Arm.parse("kappa:guard=1");
    assertThat(bare.label()).isEqualTo("uba-kappa:0.1:1:live:guard=1");
    assertThat(bare.policy(OptimizerKind.SGD).getConditionNumber().getLowerEdge())
        .isEqualTo(LowerEdge.LOWER_EDGE_UNSPECIFIED);
    assertThat(Arm.parse("phi:0.5:guard=1").edgeGuard().getMaxEdgeRatio()).isEqualTo(1.0);
    // the first grid's arms keep their random starts and no guard (reproducible as measured)...
    Arm old = Arm.parse("kappa:0.1:1:live");
    assertThat(old.start()).isEqualTo(Start.START_RANDOM);
    assertThat(old.edgeGuard()).isNull();
    // only the gradient-harmonic edge implies a gradient start: the guard and continuous mode read λ_max
    assertThat(Arm.parse("kappa:0.1:1:continuous").start()).isEqualTo(Start.START_RANDOM);
    assertThat(Arm.parse("kappa:0.1:1:continuous").label()).isEqualTo("uba-kappa:0.1:1:continuous");
    assertThat(Arm.parse("kappa:guard=1").start()).isEqualTo(Start.START_RANDOM);
    assertThat(Arm.parse("phi:0.5:guard=1").start()).isEqualTo(Start.START_RANDOM);
    assertThat(Arm.parse("kappa:0.1:1:live:edge=floor").start()).isEqualTo(Start.START_RANDOM);
    assertThat(Arm.parse("kappa:0.1:1:live:edge=gradient_harmonic").start()).isEqualTo(Start.START_GRADIENT);
    assertThat(Arm.parse("kappa:0.1:1:continuous:guard=1.5:start=gradient").label())
        .isEqualTo("uba-kappa:0.1:1:continuous:guard=1.5:start=gradient");
    // ...and start= overrides either default, named in the label only where it differs
    assertThat(Arm.parse("kappa:0.1:1:live:start=gradient").label()).isEqualTo("uba-kappa:0.1:1:live:start=gradient");
    assertThat(Arm.parse("kappa:0.1:1:live:edge=gradient_harmonic:start=random").start()).isEqualTo(Start.START_RANDOM);
    assertThat(Arm.parse("kappa:0.1:1:live:start=random").label()).isEqualTo("uba-kappa:0.1:1:live");
  }

  @Test
  void runExecutorWiresTheArmsGuardEdgeAndProbeStartIntoTheJob() {
    Workload w = Workloads.digits(16, 32, 60, new Workloads.Rates(0.1, 0.01));
    RunExecutor executor = new RunExecutor(null, 20, 4);
    Run.Spec guarded = new Run.Spec(0, w, OptimizerKind.SGD, 100, 60, RunExecutor.warmup(60), 3,
        Arm.parse("kappa:0.1:1:live:edge=gradient_harmonic:guard=1.5"), "wired");
    io.stepsize.proto.v1.JobSpec job = executor.jobSpec(guarded);
    assertThat(job.getJobId()).isEqualTo("wired");
    assertThat(job.hasGuard()).isTrue();
    assertThat(job.getGuard().getMaxEdgeRatio()).isEqualTo(1.5);
    assertThat(job.hasMomentum()).isFalse();
    var policy = job.getPhiPolicy().getConditionNumber();
    assertThat(policy.getLowerEdge()).isEqualTo(LowerEdge.LOWER_EDGE_GRADIENT_HARMONIC);
    assertThat(policy.getScale()).isEqualTo(0.1);
    assertThat(policy.getMode()).isEqualTo(PhiMode.PHI_MODE_LIVE);
    assertThat(executor.prober(guarded, w.model()).start()).isEqualTo(Start.START_GRADIENT);
    // the first grid's arm: no guard on the job, probes from a random start
    Run.Spec old = new Run.Spec(0, w, OptimizerKind.SGD, 100, 60, RunExecutor.warmup(60), 3,
        Arm.parse("kappa:0.1:1:live"), "old");
    assertThat(executor.jobSpec(old).hasGuard()).isFalse();
    assertThat(executor.prober(old, w.model()).start()).isEqualTo(Start.START_RANDOM);
  }

  @Test
  void badArmsAreRefusedWithTheirRule() {
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:sometimes")).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("arm 'kappa:1:1:sometimes': mode must be live, latched or continuous");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:edge=lowest"))
        .hasMessage("arm 'kappa:1:1:live:edge=lowest': edge must be smallest_positive, quantile, floor or "
            + "gradient_harmonic");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:guard=0"))
        .hasMessage("arm 'kappa:1:1:live:guard=0': guard must be finite and > 0");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:guard=x"))
        .hasMessage("arm 'kappa:1:1:live:guard=x': 'x' is not a number");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:guard=1:guard=2"))
        .hasMessage("arm 'kappa:1:1:live:guard=1:guard=2': option guard given twice");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:colour=red"))
        .hasMessage("arm 'kappa:1:1:live:colour=red': unknown option colour (edge, guard or start)");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:edge=floor:gradient"))
        .hasMessage("arm 'kappa:1:1:live:edge=floor:gradient': option 'gradient' must be NAME=VALUE "
            + "(edge, guard or start)");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:gradient"))
        .hasMessage("arm 'kappa:1:1:live:gradient': expected kappa or "
            + "kappa:SCALE:EXPONENT[:live|latched|continuous][:OPTION=VALUE...]");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:start=middle"))
        .hasMessage("arm 'kappa:1:1:live:start=middle': start must be gradient or random");
    assertThatThrownBy(() -> Arm.parse("phi:5:edge=floor"))
        .hasMessage("arm 'phi:5:edge=floor': edge applies to kappa arms only");
    assertThatThrownBy(() -> Arm.parse("kappa:1:1:live:guard="))
        .hasMessage("arm 'kappa:1:1:live:guard=': option 'guard=' must be NAME=VALUE (edge, guard or start)");
  }

  @Test
  void ritzStatsOfADiagonalTridiagonalAreItsEntries() {
    // β = 0 everywhere: T is diagonal, its Ritz values are exact and every residual bound is 0
    LanczosResult r = new LanczosResult(new double[] {2.0, -0.5, 8.0, 1e-9}, new double[] {0, 0, 0, 0}, 4, true);
    RitzStats s = RitzStats.of(r);
    assertThat(s.lambdaMax()).isCloseTo(8.0, within(1e-12));
    assertThat(s.lambdaMin()).isCloseTo(-0.5, within(1e-12));
    assertThat(s.indefinite()).isTrue();
    // 1e-9 is below floor_ratio·λ_max = 8e-6, so the smallest qualifying value is 2
    assertThat(s.smallestConvergedPositive()).isCloseTo(2.0, within(1e-12));
  }

  @Test
  void probeStepsCoverStartEndOfWarmupAndEvenSpacing() {
    // K = ceil((100 − 5)/4) = 24 after W − 1 = 4; 100 is past the budget
    assertThat(RunExecutor.probeSteps(100, 5, 4)).containsExactly(0, 4, 28, 52, 76);
    assertThat(RunExecutor.warmup(100)).isEqualTo(5);
    assertThat(RunExecutor.warmup(6)).isEqualTo(2);
  }

  @Test
  void statsSkipMissingValues() {
    assertThat(Summary.Stat.of(new double[] {1, 2, 3, Double.NaN})).isEqualTo(new Summary.Stat(2, 1, 3, 1));
    assertThat(Summary.median(new double[] {5, 1, 3, 2})).isEqualTo(2.5);
  }
}
