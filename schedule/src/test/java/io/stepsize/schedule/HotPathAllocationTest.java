package io.stepsize.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * LrEvaluator.evaluate allocates the LrValue and its group array and nothing else. Measured with
 * the JVM's per-thread allocation counter; escape analysis can only lower the count.
 */
class HotPathAllocationTest {

  /**
   * LrValue: header + 9 doubles/longs + 2 ints + a boolean + 3 refs = 112 bytes with compressed oops
   * (12-byte header, 4-byte refs), 128 without; double[2]: 32. One extra boxed value or lambda (16+)
   * exceeds the bound in either layout.
   */
  static long valueAndGroups() {
    var hotspot = ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
    boolean compressed = Boolean.parseBoolean(hotspot.getVMOption("UseCompressedOops").getValue());
    return (compressed ? 112 : 128) + 32;
  }

  @Test
  void evaluateAllocatesOnlyTheValueAndItsGroupArray() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    List<CurvaturePoint> points = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      points.add(new CurvaturePoint(10L * i, 10L * i + 1, 1, 1, 1, 10 + i, 10 + i, 10 + i, 1));
    }
    CurvatureTimeline timeline = CurvatureTimeline.of(points);
    JobSchedule job = new JobSchedule(new Budget(20_000, 100, new long[] {10_000, 20_000}, 0), 0.1, 0.001,
        List.of(new ParamGroup("a", 0.1, 0.0), new ParamGroup("b", 0.2, 0.0)),
        PhiPolicy.ConditionNumber.defaults().withMode(PhiMode.LATCHED), 0.5, 1);
    int calls = 200_000;
    double sink = 0;
    for (int i = 0; i < calls; i++) { // warm up (class loading, JIT)
      sink += LrEvaluator.evaluate(job, i % 20_000, timeline).lr();
    }
    long id = Thread.currentThread().getId();
    long before = threads.getThreadAllocatedBytes(id);
    for (int i = 0; i < calls; i++) {
      sink += LrEvaluator.evaluate(job, i % 20_000, timeline).lr();
    }
    long perCall = (threads.getThreadAllocatedBytes(id) - before) / calls;
    System.out.println("evaluate allocates " + perCall + " bytes per call");
    assertThat(perCall).as("bytes per call").isLessThanOrEqualTo(valueAndGroups());
    assertThat(sink).isPositive();
  }

  /**
   * The same for a job with 100 revisions in continuous mode over a 4,096-point timeline (issue 13's
   * benchmark job): once the re-plans of a timeline are known, an answer is two binary searches and
   * the formula, with no allocation beyond the value.
   */
  @Test
  void aRevisedContinuousJobAllocatesOnlyTheValueOnceItsTimelineIsPlanned() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    List<CurvaturePoint> points = new ArrayList<>();
    for (int i = 0; i < 4096; i++) {
      points.add(new CurvaturePoint(10L * i, 10L * i + 1, 1, 1, 1, 10 + i % 17, 10 + i % 17, 10 + i % 17, 1));
    }
    CurvatureTimeline timeline = CurvatureTimeline.of(points);
    JobSchedule spec = new JobSchedule(new Budget(20_000, 100, new long[] {10_000, 20_000}, 0), 0.1, 0.001,
        List.of(new ParamGroup("a", 0.1, 0.0), new ParamGroup("b", 0.2, 0.0)),
        PhiPolicy.ConditionNumber.defaults().withMode(PhiMode.CONTINUOUS), 0.5, 1);
    List<Revision> revisions = new ArrayList<>();
    for (int n = 0; n < 100; n++) {
      long a = 200L * n + 150;
      long t = 40_000 + n;
      revisions.add(n % 10 == 9 ? Revision.at(a).withHold(true)
          : a < 10_000 ? Revision.budget(a, t, 10_000, t) : Revision.budget(a, t, t));
    }
    JobPlan plan = JobPlan.of(spec, revisions);
    long total = plan.budget().totalSteps();
    int calls = 200_000;
    double sink = 0;
    for (int i = 0; i < calls; i++) {
      sink += plan.evaluate(i % total, timeline).lr();
    }
    long id = Thread.currentThread().getId();
    long before = threads.getThreadAllocatedBytes(id);
    long t0 = System.nanoTime();
    for (int i = 0; i < calls; i++) {
      sink += plan.evaluate(i % total, timeline).lr();
    }
    long nanos = System.nanoTime() - t0;
    long perCall = (threads.getThreadAllocatedBytes(id) - before) / calls;
    System.out.println("revised continuous job: " + perCall + " bytes and " + nanos / calls + " ns per call");
    assertThat(perCall).as("bytes per call").isLessThanOrEqualTo(valueAndGroups());
    assertThat(sink).isPositive();
  }
}
