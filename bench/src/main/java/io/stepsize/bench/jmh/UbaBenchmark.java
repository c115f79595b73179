package io.stepsize.bench.jmh;

import io.stepsize.bench.Workloads;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.schedule.CurvaturePoint;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.schedule.LrEvaluator;
import io.stepsize.schedule.LrValue;
import io.stepsize.schedule.Uba;
import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.LearningRateProtos;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

/**
 * The schedule's hot path, what GetLearningRate and the client's local fallback compute per step:
 * the UBA factor alone, the full evaluation for a fixed-φ job and for a condition_number job with a
 * 64-point curvature timeline (binary search plus φ policy), and that evaluation turned into the
 * LearningRate protobuf the server sends.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class UbaBenchmark {
  static final long TOTAL = 1_000_000;

  JobSchedule fixed;
  JobSchedule conditionNumber;
  CurvatureTimeline timeline;
  long step = 1_000;

  @Setup
  public void setup() {
    JobSpec cn = Workloads.conditionNumberJob("jmh", TOTAL);
    conditionNumber = JobSpecs.toSchedule(cn);
    fixed = JobSpecs.toSchedule(cn.toBuilder()
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build());
    List<CurvaturePoint> points = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      long s = 500L + i * (TOTAL / 64);
      int phase = conditionNumber.budget().phaseOf(s);
      points.add(new CurvaturePoint(s, s + 1, phase, 0.01, 0.01 * (1 + i % 5), 10, 1000.0 / (1 + i % 5), 10.1, i + 1));
    }
    timeline = CurvatureTimeline.of(points);
  }

  private long next() {
    long s = step + 7919;
    step = s >= TOTAL ? 1_000 + s % 1000 : s;
    return step;
  }

  @Benchmark
  public double ubaFactor() {
    return Uba.factor(5.0, conditionNumber.budget(), next());
  }

  @Benchmark
  public LrValue evaluateFixed() {
    return LrEvaluator.evaluate(fixed, next(), CurvatureTimeline.EMPTY);
  }

  @Benchmark
  public LrValue evaluateConditionNumber() {
    return LrEvaluator.evaluate(conditionNumber, next(), timeline);
  }

  @Benchmark
  public Object learningRateProto() {
    return LearningRateProtos.learningRate("jmh", LrEvaluator.evaluate(conditionNumber, next(), timeline));
  }
}
