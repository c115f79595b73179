package io.stepsize.bench.jmh;

import io.stepsize.bench.HardestJob;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.Job;
import io.stepsize.schedule.CurvaturePoint;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobPlan;
import io.stepsize.schedule.LrValue;
import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.LearningRateProtos;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * GetLearningRate's own work for the hardest job of DESIGN.md §6 ({@link HardestJob}: 100 revisions
 * made through ReviseJob, continuous mode, a 4,096-point timeline of real estimates), as the service
 * holds it: the {@link JobPlan} of the job's record and the timeline of its curvature record.
 *
 * <p>The plan keeps its re-plans for the last timeline it was asked about (by identity). So:
 * {@link #hardestSteady} asks with the same timeline every time, as between two estimates;
 * {@link #hardestNewTimeline} asks with a different timeline every time, each one estimate newer
 * than the last (a window sliding over the job's estimates), which is the first call after a new
 * estimate. The job comes from a real node: see {@link #PROPERTY}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class RevisionsBenchmark {
  /** A file with the hardest job (Job, then Curvature, length-delimited); built here when unset. */
  public static final String PROPERTY = "stepsize.bench.hardest";
  /** Successive timelines for {@link #hardestNewTimeline}: each drops the oldest estimate and adds one. */
  static final int SUCCESSIVE = 32;

  JobPlan plan;
  CurvatureTimeline timeline;
  CurvatureTimeline[] successive;
  long total;
  long step = 1_000;
  int turn;

  @Setup
  public void setup() throws Exception {
    String file = System.getProperty(PROPERTY);
    Path path = file != null ? Path.of(file) : write(Files.createTempFile("stepsize-hardest", ".pb"));
    Job job;
    Curvature curvature;
    try (InputStream in = Files.newInputStream(path)) {
      job = Job.parseDelimitedFrom(in);
      curvature = Curvature.parseDelimitedFrom(in);
    }
    plan = JobSpecs.toPlan(job.getSpec().toBuilder().addAllRevisions(job.getRevisionsList()).build());
    timeline = JobSpecs.timeline(curvature);
    List<CurvaturePoint> points = timeline.points();
    successive = new CurvatureTimeline[SUCCESSIVE];
    for (int k = 0; k < SUCCESSIVE; k++) {
      successive[k] = CurvatureTimeline.of(points.subList(k + 1, points.size() - SUCCESSIVE + k + 1));
    }
    total = plan.budget().totalSteps();
    if (plan.revisions().size() != HardestJob.REVISIONS || timeline.size() != points.size()) {
      throw new IllegalStateException("not the hardest job: " + plan.revisions().size() + " revisions");
    }
  }

  /**
   * Starts an embedded node, builds the hardest job on it, and writes the job and its curvature to
   * {@code file}; JmhBench does it once before the forks, so they all measure the same job.
   */
  public static Path write(Path file) throws Exception {
    HardestJob.Built built = HardestJob.onEmbeddedNode();
    try (OutputStream out = Files.newOutputStream(file)) {
      built.job().writeDelimitedTo(out);
      built.curvature().writeDelimitedTo(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return file;
  }

  private long next() {
    // the steps UbaBenchmark asks, kept inside the revised part of the job (its first ~half)
    long s = step + 7919;
    step = s >= UbaBenchmark.TOTAL / 2 ? 1_000 + s % 1000 : s;
    return step;
  }

  @Benchmark
  public LrValue hardestSteady() {
    return plan.evaluate(next(), timeline);
  }

  @Benchmark
  public LrValue hardestNewTimeline() {
    CurvatureTimeline t = successive[turn++ % SUCCESSIVE];
    return plan.evaluate(next(), t);
  }

  @Benchmark
  public Object hardestProto() {
    return LearningRateProtos.learningRate("jmh", plan.evaluate(next(), timeline));
  }
}
