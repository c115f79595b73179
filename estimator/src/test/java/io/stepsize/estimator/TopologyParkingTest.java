package io.stepsize.estimator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.Topics;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Probes that arrive before their job (DESIGN.md §4): they wait, bounded per job and per task, are
 * estimated in order when the job arrives, and are dead-lettered only after the grace period.
 */
class TopologyParkingTest {
  @TempDir Path stateDir;
  private final Topics topics = new Topics("park");
  private TopologyTestDriver driver;
  private TestInputTopic<String, byte[]> jobs;
  private TestInputTopic<String, byte[]> probes;
  private TestOutputTopic<String, byte[]> history;
  private TestOutputTopic<String, byte[]> dlq;

  private void start(long graceMs, int perJob, int perTask) {
    start(graceMs, perJob, perTask, new Properties());
  }

  private void start(long graceMs, int perJob, int perTask, Properties extra) {
    Properties config = CurvatureTopology.config("unused:9092", topics, stateDir, "parking-test");
    config.putAll(extra);
    config.put(ProbeParking.GRACE_MS_CONFIG, String.valueOf(graceMs));
    config.put(ProbeParking.MAX_PER_JOB_CONFIG, String.valueOf(perJob));
    config.put(ProbeParking.MAX_PER_TASK_CONFIG, String.valueOf(perTask));
    driver = new TopologyTestDriver(CurvatureTopology.topology(config, topics), config);
    jobs = driver.createInputTopic(topics.jobs().name(), new StringSerializer(), new ByteArraySerializer());
    probes = driver.createInputTopic(topics.probes().name(), new StringSerializer(), new ByteArraySerializer());
    history = driver.createOutputTopic(topics.curvatureHistory().name(), new StringDeserializer(),
        new ByteArrayDeserializer());
    dlq = driver.createOutputTopic(topics.probesDlq().name(), new StringDeserializer(), new ByteArrayDeserializer());
  }

  @AfterEach
  void stop() {
    if (driver != null) {
      driver.close();
    }
  }

  private List<Long> estimatedSteps() {
    return history.readRecordsToList().stream().map(r -> parse(r.value()).getStep()).toList();
  }

  private static Curvature parse(byte[] bytes) {
    try {
      return Curvature.parseFrom(bytes);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static String header(TestRecord<String, byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void probesBeforeTheirJobAreEstimatedInOrderWhenItArrives() {
    start(60_000, 1_000, 100_000);
    for (long step = 1; step <= 5; step++) {
      probes.pipeInput("late", Probes.diagonal("late", step, "w", 1, 10 + step).toByteArray());
    }
    probes.pipeInput("late", Probes.gradient("late", 2).toByteArray());
    driver.advanceWallClockTime(Duration.ofSeconds(30));
    assertThat(history.isEmpty()).as("no job yet, no estimate").isTrue();
    assertThat(dlq.isEmpty()).as("within the grace period, nothing is bad").isTrue();

    jobs.pipeInput("late", Probes.job("late", 100).toByteArray());
    List<TestRecord<String, byte[]>> estimates = history.readRecordsToList();
    assertThat(estimates).extracting(r -> parse(r.value()).getStep()).containsExactly(1L, 2L, 3L, 4L, 5L);
    // the same probes sent after their job: the same estimates, point for point
    jobs.pipeInput("early", Probes.job("early", 100).toByteArray());
    for (long step = 1; step <= 5; step++) {
      probes.pipeInput("early", Probes.diagonal("early", step, "w", 1, 10 + step).toByteArray());
    }
    List<TestRecord<String, byte[]>> reference = history.readRecordsToList();
    assertThat(estimates).extracting(r -> parse(r.value()).toBuilder().clearJobId().build())
        .containsExactlyElementsOf(reference.stream().map(r -> parse(r.value()).toBuilder().clearJobId().build()).toList());
    assertThat(estimates.get(4).value()).as("the last estimate counts all five").satisfies(
        v -> assertThat(parse(v).getProbes()).isEqualTo(5));
    // the released gradient statistics (step 2, after step 5 in arrival order) are in range: accepted
    assertThat(dlq.isEmpty()).isTrue();

    // nothing waits any more: the grace period passing changes nothing, and later probes go straight through
    driver.advanceWallClockTime(Duration.ofSeconds(61));
    assertThat(dlq.isEmpty()).isTrue();
    probes.pipeInput("late", Probes.diagonal("late", 6, "w", 1, 16).toByteArray());
    assertThat(estimatedSteps()).containsExactly(6L);
  }

  /**
   * The test driver has one partition per topic. Told so, the router finds every probe on its
   * job's partition and passes it on in the same task; not told, it sends every probe through the
   * repartition topic. Either way the estimates are the same.
   */
  @Test
  void aProbeOnItsJobsPartitionSkipsTheRepartitionTopic() {
    Properties onePartition = new Properties();
    onePartition.put(ProbeRouter.PARTITIONS_CONFIG, "1");
    start(60_000, 1_000, 100_000, onePartition);
    probes.pipeInput("LATE", Probes.diagonal("late", 1, "w", 1, 11).toByteArray());
    jobs.pipeInput("late", Probes.job("late", 100).toByteArray());
    probes.pipeInput(Probes.diagonal("late", 2, "w", 1, 12).toByteArray());
    assertThat(estimatedSteps()).containsExactly(1L, 2L);
    // the application id here is the test's, not topics.applicationId()
    assertThat(driver.producedTopicNames()).doesNotContain("parking-test-probes-by-job-repartition");
    driver.close();

    driver = null;
    start(60_000, 1_000, 100_000);
    probes.pipeInput("late", Probes.diagonal("late", 1, "w", 1, 11).toByteArray());
    assertThat(driver.producedTopicNames()).contains("parking-test-probes-by-job-repartition");
  }

  @Test
  void aReleasedProbeThatBreaksARuleGoesToTheDeadLetterTopicWithThatRule() {
    start(60_000, 1_000, 100_000);
    probes.pipeInput("late", Probes.diagonal("late", 500, "w", 1, 2).toByteArray());
    jobs.pipeInput("late", Probes.job("late", 100).toByteArray());
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(header(dead.get(0), "__streams.errors.message")).isEqualTo("step: must be in [0, total_steps = 100) (got 500)");
    assertThat(history.isEmpty()).isTrue();
  }

  @Test
  void aProbeWhoseJobNeverArrivesIsDeadLetteredAfterTheGracePeriod() {
    start(500, 1_000, 100_000);
    ProbeReport first = Probes.diagonal("ghost", 1, "w", 1, 2);
    ProbeReport second = Probes.diagonal("ghost", 2, "w", 1, 2);
    RecordHeaders traced = new RecordHeaders();
    traced.add("trace", "abc".getBytes(StandardCharsets.UTF_8));
    probes.pipeInput(new TestRecord<>("GHOST", first.toByteArray(), traced));
    driver.advanceWallClockTime(Duration.ofMillis(300));
    probes.pipeInput(new TestRecord<>(null, second.toByteArray()));
    driver.advanceWallClockTime(Duration.ofMillis(199));
    assertThat(dlq.isEmpty()).as("499 ms: within the grace period").isTrue();

    driver.advanceWallClockTime(Duration.ofMillis(1));
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).as("the first probe's grace period is over, the second's is not").hasSize(1);
    TestRecord<String, byte[]> d = dead.get(0);
    assertThat(d.key()).as("the record key as produced").isEqualTo("GHOST");
    assertThat(d.value()).isEqualTo(first.toByteArray());
    assertThat(header(d, "__streams.errors.message")).isEqualTo("job_id: no job 'ghost' arrived within 500 ms of its probe");
    assertThat(header(d, "__streams.errors.exception")).isEqualTo("io.stepsize.wire.InvalidProbeException");
    assertThat(header(d, "__streams.errors.topic")).isEqualTo(topics.probes().name());
    assertThat(header(d, "__streams.errors.partition")).isEqualTo("0");
    assertThat(header(d, "__streams.errors.offset")).isEqualTo("0");
    assertThat(header(d, "trace")).as("the producer's headers kept").isEqualTo("abc");
    assertThat(d.headers().lastHeader(ProbeRouter.SOURCE_KEY)).isNull();

    // the punctuation runs every 500 ms here (at most every second): the second goes at the next one
    driver.advanceWallClockTime(Duration.ofMillis(500));
    dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).key()).as("it had no key").isNull();
    assertThat(header(dead.get(0), "__streams.errors.offset")).isEqualTo("1");

    // the job arriving late finds nothing waiting
    jobs.pipeInput("ghost", Probes.job("ghost", 100).toByteArray());
    assertThat(history.isEmpty()).isTrue();
  }

  @Test
  void beyondTheBoundsTheNewestProbeGoesToTheDeadLetterTopic() {
    start(60_000, 3, 5);
    for (long step = 1; step <= 4; step++) {
      probes.pipeInput("a", Probes.diagonal("a", step, "w", 1, 2).toByteArray());
    }
    List<TestRecord<String, byte[]>> dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(dead.get(0).value()).isEqualTo(Probes.diagonal("a", 4, "w", 1, 2).toByteArray());
    assertThat(header(dead.get(0), "__streams.errors.message"))
        .isEqualTo("job_id: no job 'a' has arrived, and 3 of its probes already wait for it (at most 3 per job)");

    probes.pipeInput("b", Probes.diagonal("b", 1, "w", 1, 2).toByteArray());
    probes.pipeInput("b", Probes.diagonal("b", 2, "w", 1, 2).toByteArray());
    assertThat(dlq.isEmpty()).isTrue();
    probes.pipeInput("c", Probes.diagonal("c", 1, "w", 1, 2).toByteArray());
    dead = dlq.readRecordsToList();
    assertThat(dead).hasSize(1);
    assertThat(header(dead.get(0), "__streams.errors.message"))
        .isEqualTo("job_id: no job 'c' has arrived, and 5 probes already wait for their jobs in this task (at most 5 per task)");

    // a's arrival releases its three, which makes room
    jobs.pipeInput("a", Probes.job("a", 100).toByteArray());
    assertThat(estimatedSteps()).containsExactly(1L, 2L, 3L);
    probes.pipeInput("c", Probes.diagonal("c", 1, "w", 1, 2).toByteArray());
    assertThat(dlq.isEmpty()).isTrue();
    jobs.pipeInput("c", Probes.job("c", 100).toByteArray());
    assertThat(estimatedSteps()).containsExactly(1L);
  }

  @Test
  void eachProbeGetsItsOwnGracePeriod() {
    start(60_000, 1_000, 100_000);
    probes.pipeInput("x", Probes.diagonal("x", 1, "w", 1, 2).toByteArray());
    driver.advanceWallClockTime(Duration.ofSeconds(30));
    probes.pipeInput("x", Probes.diagonal("x", 2, "w", 1, 2).toByteArray());
    driver.advanceWallClockTime(Duration.ofSeconds(30));
    assertThat(dlq.readRecordsToList()).extracting(r -> header(r, "__streams.errors.message"))
        .containsExactly("job_id: no job 'x' arrived within 60 s of its probe");
    jobs.pipeInput("x", Probes.job("x", 100).toByteArray());
    assertThat(estimatedSteps()).as("the younger probe still waited").containsExactly(2L);
  }

  @Test
  void theSettingsComeFromTheProperties() {
    Properties p = new Properties();
    assertThat(ProbeParking.Settings.from(p)).isEqualTo(new ProbeParking.Settings(Duration.ofSeconds(60), 1_000, 100_000));
    p.put(ProbeParking.GRACE_MS_CONFIG, "abc");
    assertThatThrownBy(() -> ProbeParking.Settings.from(p)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stepsize.estimator.park.grace.ms: must be a whole number (got 'abc')");
    p.put(ProbeParking.GRACE_MS_CONFIG, "0");
    assertThatThrownBy(() -> ProbeParking.Settings.from(p)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stepsize.estimator.park.grace.ms: must be >= 1 (got 0)");
    p.put(ProbeParking.GRACE_MS_CONFIG, "1500");
    p.put(ProbeParking.MAX_PER_JOB_CONFIG, "0");
    assertThatThrownBy(() -> ProbeParking.Settings.from(p)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stepsize.estimator.park.max.per.job: must be >= 1 (got 0)");
    p.put(ProbeParking.MAX_PER_JOB_CONFIG, "10");
    p.put(ProbeParking.MAX_PER_TASK_CONFIG, "99999999999");
    assertThatThrownBy(() -> ProbeParking.Settings.from(p)).isInstanceOf(IllegalArgumentException.class)
        .hasMessage("stepsize.estimator.park.max.per.task: must be a whole number (got '99999999999')");
    p.put(ProbeParking.MAX_PER_TASK_CONFIG, "20");
    assertThat(ProbeParking.Settings.from(p)).isEqualTo(new ProbeParking.Settings(Duration.ofMillis(1500), 10, 20));
    assertThat(ProbeParking.Settings.from(p).graceText()).isEqualTo("1500 ms");
  }

  @Test
  void aParkedProbeReadsBackAsItWasWritten() {
    RecordHeaders h = new RecordHeaders();
    h.add("a", "1".getBytes(StandardCharsets.UTF_8));
    h.add("nothing", null);
    byte[] probe = Probes.diagonal("j", 3, "w", 1, 2).toByteArray();
    ProbeParking.Parked p = new ProbeParking.Parked("j", 123, 456, h, probe);
    ProbeParking.Parked back = ProbeParking.decode("j", ProbeParking.encode(p));
    assertThat(back.arrivedMs()).isEqualTo(123);
    assertThat(back.timestamp()).isEqualTo(456);
    assertThat(back.probe()).isEqualTo(probe);
    assertThat(back.headers().toArray()).containsExactly(h.toArray());
    byte[] truncated = java.util.Arrays.copyOf(ProbeParking.encode(p), 20);
    assertThatThrownBy(() -> ProbeParking.decode("j", truncated))
        .hasMessage("parked probe: truncated (20 bytes)");
  }
}
