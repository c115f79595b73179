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
    // LrValue: header + 8 doubles/longs + int + 3 refs = 96 bytes (compressed oops) or 112; double[2]: 32.
    // One extra boxed value or lambda (16+) would exceed 144 in the second layout.
    System.out.println("evaluate allocates " + perCall + " bytes per call");
    assertThat(perCall).as("bytes per call").isLessThanOrEqualTo(144);
    assertThat(sink).isPositive();
  }
}
