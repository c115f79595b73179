package io.stepsize.estimator;

import io.stepsize.wire.Topics;

import static io.stepsize.wire.CurvatureRecords.CAPACITY;
import static io.stepsize.wire.CurvatureRecords.RETAINED_SEGMENTS;
import static io.stepsize.wire.CurvatureRecords.SEGMENT;
import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.wire.CurvatureAssembly;
import io.stepsize.wire.CurvatureRecords;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.LongStream;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The curvature topic's layout (CurvatureRecords) through the real topology: a timeline longer than
 * the capacity arrives as segments and job records whose fold is exactly the newest CAPACITY
 * estimates, each equal to its history record; no record is big; segments that leave the window
 * are tombstoned; and a burst that closes many segments between two punctuations loses none.
 */
class TimelineSegmentsTest {
  @TempDir Path stateDir;

  private static Curvature parse(byte[] b) {
    try {
      return Curvature.parseFrom(b);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aLongTimelineIsTheNewestCapacityPointsMadeOfSegments() {
    Topics topics = Topics.unprefixed();
    Properties config = CurvatureTopology.config("unused:9092", topics, stateDir, "segments-test");
    int steps = CAPACITY + 3 * SEGMENT + 17;
    try (TopologyTestDriver driver = new TopologyTestDriver(CurvatureTopology.topology(config, topics), config)) {
      driver.createInputTopic(topics.jobs().name(), new StringSerializer(), new ByteArraySerializer())
          .pipeInput("job", Probes.job("job", 1_000_000).toByteArray());
      TestInputTopic<String, byte[]> probes =
          driver.createInputTopic(topics.probes().name(), new StringSerializer(), new ByteArraySerializer());
      TestOutputTopic<String, byte[]> out =
          driver.createOutputTopic(topics.curvature().name(), new StringDeserializer(), new ByteArrayDeserializer());
      TestOutputTopic<String, byte[]> history =
          driver.createOutputTopic(topics.curvatureHistory().name(), new StringDeserializer(), new ByteArrayDeserializer());

      CurvatureAssembly view = new CurvatureAssembly();
      Map<String, Curvature> compacted = new HashMap<>();
      List<CurvaturePoint> estimates = new ArrayList<>();
      int largest = 0;
      int tombstones = 0;
      for (int s = 0; s < steps; s++) {
        probes.pipeInput("job", Probes.diagonal("job", s, "w", 1 + s % 5, 10 + s * 0.01).toByteArray());
        // punctuate now and then only: the first stretch (700 steps, 10 segments) has none at all
        if (s >= 700 && s % 37 == 0) {
          driver.advanceWallClockTime(Duration.ofMillis(CurvatureTopology.EMIT_INTERVAL_MS));
        }
        for (TestRecord<String, byte[]> r : out.readRecordsToList()) {
          Curvature v = r.value() == null ? null : parse(r.value());
          view.apply(r.key(), v);
          if (v == null) {
            tombstones++;
            compacted.remove(r.key());
          } else {
            largest = Math.max(largest, v.getTimelineCount());
            compacted.put(r.key(), v);
          }
        }
        history.readValuesToList().forEach(b -> estimates.add(parse(b).getTimeline(0)));
      }
      driver.advanceWallClockTime(Duration.ofMillis(CurvatureTopology.EMIT_INTERVAL_MS));
      for (TestRecord<String, byte[]> r : out.readRecordsToList()) {
        view.apply(r.key(), r.value() == null ? null : parse(r.value()));
        if (r.value() == null) {
          compacted.remove(r.key());
        } else {
          compacted.put(r.key(), parse(r.value()));
        }
      }

      Curvature whole = view.current("job");
      assertThat(whole.getProbes()).isEqualTo(steps);
      assertThat(whole.getStep()).isEqualTo(steps - 1);
      assertThat(whole.getTimelineList()).extracting(CurvaturePoint::getStep)
          .containsExactlyElementsOf(LongStream.range(steps - CAPACITY, steps).boxed().toList());
      // every point is the estimate the history carried for its step
      assertThat(whole.getTimelineList()).isEqualTo(estimates.subList(steps - CAPACITY, steps));
      // no record carries more than a segment
      assertThat(largest).isLessThanOrEqualTo(SEGMENT);
      // what compaction keeps: the job record and the retained segments, the oldest tombstoned
      long closed = (steps - 1) / SEGMENT;
      long firstKept = closed - RETAINED_SEGMENTS;
      assertThat(compacted.keySet()).hasSize(1 + RETAINED_SEGMENTS).contains("job")
          .contains(CurvatureRecords.segmentKey("job", firstKept), CurvatureRecords.segmentKey("job", closed - 1))
          .doesNotContain(CurvatureRecords.segmentKey("job", firstKept - 1));
      assertThat(tombstones).isEqualTo((int) firstKept);
      // the fold of only what compaction keeps is the same curvature
      CurvatureAssembly fromCompacted = new CurvatureAssembly();
      compacted.entrySet().stream().sorted(Map.Entry.comparingByKey((a, b) -> {
        // segments in index order, the job record last: the order they were written in
        long ia = CurvatureRecords.isSegmentKey(a) ? CurvatureRecords.segmentIndexOf(a) : Long.MAX_VALUE;
        long ib = CurvatureRecords.isSegmentKey(b) ? CurvatureRecords.segmentIndexOf(b) : Long.MAX_VALUE;
        return Long.compare(ia, ib);
      })).forEach(e -> fromCompacted.apply(e.getKey(), e.getValue()));
      assertThat(fromCompacted.current("job")).isEqualTo(whole);
    }
  }

  @Test
  void aReaderBetweenASegmentAndItsJobRecordSeesEachStepOnce() {
    List<CurvaturePoint> points = new ArrayList<>();
    for (int s = 0; s < SEGMENT + 3; s++) {
      points.add(CurvaturePoint.newBuilder().setStep(s).setKappa(s + 1).build());
    }
    Curvature oldJobRecord = Curvature.newBuilder().setJobId("j").setStep(SEGMENT - 1)
        .addAllTimeline(points.subList(0, SEGMENT)).build();
    Curvature segment0 = Curvature.newBuilder().setJobId("j").addAllTimeline(points.subList(0, SEGMENT)).build();
    // a replaced newest point (a second worker's probe for the step) wins over the older version
    CurvaturePoint replaced = points.get(SEGMENT + 2).toBuilder().setKappa(99).build();
    Curvature newJobRecord = Curvature.newBuilder().setJobId("j").setStep(SEGMENT + 2)
        .addAllTimeline(points.subList(SEGMENT, SEGMENT + 2)).addTimeline(replaced).build();

    CurvatureAssembly view = new CurvatureAssembly();
    assertThat(view.apply(CurvatureRecords.segmentKey("j", 0), segment0)).isNull(); // a segment brings no estimate
    assertThat(view.apply("j", oldJobRecord).getTimelineList()).isEqualTo(points.subList(0, SEGMENT));
    assertThat(view.apply("j", newJobRecord).getTimelineList()).extracting(CurvaturePoint::getStep)
        .containsExactlyElementsOf(LongStream.range(0, SEGMENT + 3).boxed().toList());
    assertThat(view.current("j").getTimeline(SEGMENT + 2).getKappa()).isEqualTo(99);
    // the job record's tombstone removes the job
    assertThat(view.apply("j", null)).isNull();
    assertThat(view.all()).isEmpty();
  }

  @Test
  void segmentKeysCarryTheJobAndIndexAndNoJobIdLooksLikeOne() {
    String key = CurvatureRecords.segmentKey("a\u0000b", 42);
    assertThat(CurvatureRecords.isSegmentKey(key)).isTrue();
    assertThat(CurvatureRecords.jobIdOf(key)).isEqualTo("a\u0000b");
    assertThat(CurvatureRecords.segmentIndexOf(key)).isEqualTo(42);
    assertThat(CurvatureRecords.jobIdOf("plain")).isEqualTo("plain");
    // a job record stays where the producer's default partitioner put it before segments existed
    for (String job : List.of("job", "alice-1", "a\u0000b", "ütf-8")) {
      assertThat(CurvatureTopology.partitionOfJob("t", job, null, 6)).contains(java.util.Set.of(
          org.apache.kafka.clients.producer.internals.BuiltInPartitioner.partitionForKey(
              job.getBytes(java.nio.charset.StandardCharsets.UTF_8), 6)));
    }
    assertThat(CurvatureTopology.partitionOfJob("t", key, null, 6))
        .isEqualTo(CurvatureTopology.partitionOfJob("t", "a\u0000b", null, 6));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> io.stepsize.wire.JobSpecs.toSchedule(Probes.job("\u00001\u0000x", 10)))
        .hasMessage("job_id: must contain only the characters [A-Za-z0-9._:/-] (got U+0000 at index 0)");
  }
}
