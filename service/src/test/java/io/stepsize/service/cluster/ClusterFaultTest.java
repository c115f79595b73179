package io.stepsize.service.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.broker.KafkaCluster;
import io.stepsize.client.StepsizeClient;
import io.stepsize.estimator.EstimatorApp;
import io.stepsize.wire.Topics;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.CurvaturePoint;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.proto.v1.Source;
import io.stepsize.service.StepsizeNode;
import io.stepsize.service.security.Caller;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stepsize on a 3-node KRaft cluster (RF 3, min ISR 2) with two service replicas and one separate
 * estimator. While a trainer streams probes through its own Kafka producer and another trainer
 * asks for learning rates through a failover client over both replicas, a broker, a replica and
 * the estimator are each stopped mid-stream and restarted. After each: every job spec is on every
 * replica; the compacted curvature topic holds every estimate exactly once; the failover client
 * never failed; both replicas give identical answers. At the end every job's timeline equals, point
 * for point, the timeline of a control job that got the same probes with nothing failing.
 *
 * <p>In one JVM the stops are clean shutdowns (a broker's controlled shutdown, the estimator
 * leaving its group, a replica's gRPC shutdown), not SIGKILLs; deploy/local runs the same pieces as
 * processes.
 */
@Timeout(value = 170, unit = TimeUnit.SECONDS)
class ClusterFaultTest {
  private static final Logger log = LoggerFactory.getLogger(ClusterFaultTest.class);
  private static final int PARTITIONS = 2;
  private static final List<String> JOBS = List.of("job-0", "job-1", "job-2");
  private static final String CONTROL = "control";
  private static final long STRIDE = ClusterJobs.STRIDE;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir static Path dir;

  static KafkaCluster cluster;
  static final StepsizeNode[] replicas = new StepsizeNode[2];
  static final int[] ports = new int[2];
  static EstimatorApp estimator;
  static final Topics topics = Topics.unprefixed();

  static StepsizeNode.Config replicaConfig(int i, int port) {
    return new StepsizeNode.Config(cluster.bootstrapServers(), port, dir.resolve("replica-" + i), "", 0, PARTITIONS,
        false, new Properties());
  }

  static EstimatorApp startEstimator() {
    Properties props = new Properties();
    // a close whose LeaveGroup meets a moved group coordinator (after the broker fault) leaves the
    // old member in the group until its session expires: 45 s by default, 10 s here
    props.put("session.timeout.ms", "10000");
    props.put("heartbeat.interval.ms", "1000");
    return EstimatorApp.start(cluster.bootstrapServers(), topics, dir.resolve("estimator"), props,
        PARTITIONS, Duration.ofSeconds(90));
  }

  @BeforeAll
  static void startCluster() throws Exception {
    long t0 = System.nanoTime();
    cluster = KafkaCluster.start(dir.resolve("kafka"), 3);
    for (int i = 0; i < 2; i++) {
      replicas[i] = StepsizeNode.start(replicaConfig(i, 0));
      ports[i] = replicas[i].grpcPort();
    }
    for (StepsizeNode r : replicas) {
      assertThat(r.awaitServing(WAIT)).isTrue();
    }
    // jobs exist before the estimator starts, so no probe can meet an unknown job
    try (StepsizeClient c = StepsizeClient.connect(replicas[0].target(), Duration.ofSeconds(30))) {
      for (String job : JOBS) {
        c.createJob(ClusterJobs.spec(job));
      }
      c.createJob(ClusterJobs.spec(CONTROL));
    }
    estimator = startEstimator();
    log.info("cluster, two replicas and the estimator up in {} ms", (System.nanoTime() - t0) / 1_000_000);
  }

  @AfterAll
  static void stopCluster() {
    if (estimator != null) {
      estimator.close();
    }
    for (StepsizeNode r : replicas) {
      if (r != null) {
        r.close();
      }
    }
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Publishes probe k of every job, k = 0, 1, …, through an idempotent producer, until stopped. */
  static final class Trainer implements AutoCloseable {
    final KafkaProducer<String, byte[]> producer;
    final AtomicInteger sent = new AtomicInteger();
    final AtomicBoolean paused = new AtomicBoolean();
    /** Set by the trainer thread itself between rounds, so a pause never splits a round. */
    final AtomicBoolean idle = new AtomicBoolean();
    final AtomicBoolean stopped = new AtomicBoolean();
    final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    final Thread thread;

    Trainer() {
      Properties p = new Properties();
      p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
      p.put(ProducerConfig.ACKS_CONFIG, "all");
      p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
      p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "60000");
      producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer());
      thread = new Thread(this::run, "trainer");
      thread.setDaemon(true);
    }

    Trainer start() {
      thread.start();
      return this;
    }

    private void run() {
      try {
        while (!stopped.get()) {
          if (paused.get()) {
            idle.set(true);
            Thread.sleep(20);
            continue;
          }
          idle.set(false);
          int k = sent.get();
          for (String job : JOBS) {
            // waiting for each ack keeps a job's probes in step order whatever the cluster does
            producer.send(new ProducerRecord<>(topics.probes().name(), job, ClusterJobs.probe(job, k).toByteArray())).get();
          }
          sent.incrementAndGet();
          Thread.sleep(40);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (Exception e) {
        errors.add(e);
      }
    }

    /**
     * Stops publishing after the current round and returns how many rounds went out. It waits for
     * the trainer thread to say it is between rounds: a round whose acks are slow (a broker just
     * failed over) would otherwise be half published when the count is read.
     */
    int pause() throws InterruptedException {
      paused.set(true);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (!idle.get() && thread.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(idle.get() || !thread.isAlive()).as("the trainer reached the end of its round").isTrue();
      return sent.get();
    }

    void resume() {
      idle.set(false);
      paused.set(false);
    }

    @Override
    public void close() throws InterruptedException {
      stopped.set(true);
      thread.join(10_000);
      producer.close(Duration.ofSeconds(5));
    }
  }

  /** Asks for learning rates through a failover client over both replicas, all the time. */
  static final class Reader implements AutoCloseable {
    final StepsizeClient client;
    final AtomicLong answered = new AtomicLong();
    final ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    final AtomicBoolean stopped = new AtomicBoolean();
    final Thread thread;

    Reader() {
      client = StepsizeClient.connect(List.of("localhost:" + ports[0], "localhost:" + ports[1]), Duration.ofSeconds(20));
      thread = new Thread(this::run, "reader");
      thread.setDaemon(true);
    }

    Reader start() {
      thread.start();
      return this;
    }

    private void run() {
      long step = 0;
      while (!stopped.get()) {
        for (String job : JOBS) {
          try {
            LearningRate lr = client.learningRate(job, step);
            if (lr.getStep() != step || !lr.getJobId().equals(job)) {
              errors.add(new AssertionError("answer for the wrong call: " + lr));
            }
            answered.incrementAndGet();
          } catch (RuntimeException e) {
            errors.add(e);
          }
        }
        step = (step + 37) % 5_000;
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          return;
        }
      }
    }

    @Override
    public void close() throws InterruptedException {
      stopped.set(true);
      thread.join(30_000);
      client.close();
    }
  }

  @Test
  void brokerReplicaAndEstimatorFaultsLoseAndDuplicateNothing() throws Exception {
    try (Trainer trainer = new Trainer().start(); Reader reader = new Reader().start()) {
      // 1. a broker, mid-stream
      awaitRounds(trainer, 5);
      long t = System.nanoTime();
      cluster.stop(0);
      awaitRounds(trainer, trainer.sent.get() + 5); // the stream goes on with two of three nodes
      cluster.restart(0);
      log.info("broker fault: stopped, 5 rounds published without it, restarted in {} ms", ms(t));
      checkEverything(trainer, reader, "after the broker fault");

      // 2. a service replica, mid-stream: the failover client keeps answering from the other
      awaitRounds(trainer, trainer.sent.get() + 3);
      t = System.nanoTime();
      replicas[0].close();
      replicas[0] = null;
      long before = reader.answered.get();
      awaitRounds(trainer, trainer.sent.get() + 5);
      await("the failover client answers while replica 0 is down", () -> reader.answered.get() >= before + 20);
      long whileDown = reader.answered.get() - before;
      replicas[0] = StepsizeNode.start(replicaConfig(0, ports[0]));
      assertThat(replicas[0].awaitServing(WAIT)).isTrue();
      log.info("replica fault: down and back SERVING in {} ms; {} learning rates answered meanwhile", ms(t), whileDown);
      checkEverything(trainer, reader, "after the replica fault");

      // 3. the estimator, mid-stream: probes wait in Kafka and are processed exactly once after
      awaitRounds(trainer, trainer.sent.get() + 3);
      t = System.nanoTime();
      estimator.close();
      estimator = null;
      awaitRounds(trainer, trainer.sent.get() + 5);
      estimator = startEstimator();
      log.info("estimator fault: down and RUNNING again in {} ms", ms(t));
      checkEverything(trainer, reader, "after the estimator fault");

      int rounds = trainer.pause();
      trainer.close();
      // the control job: the same probes, published with nothing failing
      publishControl(rounds);
      Map<String, Curvature> view = awaitView(Map.of(CONTROL, rounds), "control");
      for (String job : JOBS) {
        assertThat(timelineWithoutJob(view.get(job)))
            .as("%s's timeline equals the control job's, point for point", job)
            .isEqualTo(timelineWithoutJob(view.get(CONTROL)));
      }
      assertThat(reader.errors).as("failover client errors").isEmpty();
      assertThat(trainer.errors).as("trainer errors").isEmpty();
      log.info("{} rounds of {} probes; {} learning rates answered through the failover client, none failed",
          rounds, JOBS.size(), reader.answered.get());
    }
  }

  private void checkEverything(Trainer trainer, Reader reader, String when) throws Exception {
    int rounds = trainer.pause();
    long t = System.nanoTime();
    try {
      assertThat(trainer.errors).as("trainer errors " + when).isEmpty();
      // no job spec lost, on either replica
      for (StepsizeNode r : replicas) {
        try (StepsizeClient c = StepsizeClient.connect(r.target(), Duration.ofSeconds(20))) {
          for (String job : JOBS) {
            assertThat(c.getJob(job).getSpec()).as("%s on %s %s", job, r.target(), when).isEqualTo(ClusterJobs.spec(job));
          }
          assertThat(c.getJob(CONTROL).getSpec()).isEqualTo(ClusterJobs.spec(CONTROL));
        }
      }
      // every estimate exactly once in the compacted view
      Map<String, Integer> expected = new HashMap<>();
      for (String job : JOBS) {
        expected.put(job, rounds);
      }
      Map<String, Curvature> view = awaitView(expected, when);
      // both replicas show that view and answer alike for the same (job, step)
      try (StepsizeClient c0 = StepsizeClient.connect(replicas[0].target(), Duration.ofSeconds(20));
           StepsizeClient c1 = StepsizeClient.connect(replicas[1].target(), Duration.ofSeconds(20))) {
        for (String job : JOBS) {
          await(job + "'s curvature on both replicas " + when,
              () -> sameEstimates(c0.curvature(job), view.get(job)) && sameEstimates(c1.curvature(job), view.get(job)));
          long window = rounds * STRIDE + 50;
          LearningRates a = c0.learningRates(job, 0, window);
          LearningRates b = c1.learningRates(job, 0, window);
          assertThat(a).as("%s: replica 0 and replica 1 %s", job, when).isEqualTo(b);
          // the answers do use the estimates: the step after the last probe follows its curvature
          LearningRate last = a.getRates((int) ((rounds - 1) * STRIDE + 1));
          assertThat(last.getSource()).isEqualTo(Source.SOURCE_CURVATURE);
          assertThat(last.getCurvatureStep()).isEqualTo((rounds - 1) * STRIDE);
          for (StepsizeNode r : replicas) {
            assertThat(r.queries().learningRate(Caller.ANONYMOUS, job, 123)).isEqualTo(a.getRates(123));
          }
        }
      }
      assertThat(reader.errors).as("failover client errors " + when).isEmpty();
      log.info("{}: {} rounds, every spec on both replicas, every estimate once, replicas agree ({} ms to check)",
          when, rounds, ms(t));
    } finally {
      trainer.resume();
    }
  }

  /**
   * Waits until the compacted curvature topic, read to its end with read_committed (last value per
   * key), holds exactly {@code rounds} estimates for each job, then checks each is there once.
   */
  private Map<String, Curvature> awaitView(Map<String, Integer> expectedRounds, String when) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    Map<String, Curvature> view = Map.of();
    while (System.nanoTime() < deadline) {
      view = readCompacted();
      boolean complete = true;
      for (Map.Entry<String, Integer> e : expectedRounds.entrySet()) {
        Curvature c = view.get(e.getKey());
        complete &= c != null && c.getProbes() >= e.getValue();
      }
      if (complete) {
        break;
      }
      Thread.sleep(200);
    }
    for (Map.Entry<String, Integer> e : expectedRounds.entrySet()) {
      String job = e.getKey();
      int rounds = e.getValue();
      Curvature c = view.get(job);
      assertThat(c).as("%s's curvature %s", job, when).isNotNull();
      // exactly as many probes as were published: none lost, none counted twice
      assertThat(c.getProbes()).as("%s's probe count %s", job, when).isEqualTo(rounds);
      List<Long> steps = new ArrayList<>();
      for (CurvaturePoint p : c.getTimelineList()) {
        steps.add(p.getStep());
        // one phase: the point of probe k combines probes 0..k, so a probe counted twice shows here too
        assertThat(p.getProbes()).as("%s: probes combined up to step %d %s", job, p.getStep(), when)
            .isEqualTo(p.getStep() / STRIDE + 1);
      }
      List<Long> expectedSteps = new ArrayList<>();
      for (int k = 0; k < rounds; k++) {
        expectedSteps.add(k * STRIDE);
      }
      assertThat(steps).as("%s's timeline steps %s", job, when).isEqualTo(expectedSteps);
    }
    return view;
  }

  private static Map<String, Curvature> readCompacted() {
    return CompactedView.read(cluster.bootstrapServers(), topics.curvature().name());
  }

  private static void publishControl(int rounds) throws Exception {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(p, new StringSerializer(), new ByteArraySerializer())) {
      for (int k = 0; k < rounds; k++) {
        producer.send(new ProducerRecord<>(topics.probes().name(), CONTROL, ClusterJobs.probe(CONTROL, k).toByteArray()));
      }
      producer.flush();
    }
  }

  private static boolean sameEstimates(Curvature a, Curvature b) {
    return a.getProbes() == b.getProbes() && a.getTimelineList().equals(b.getTimelineList());
  }

  private static List<CurvaturePoint> timelineWithoutJob(Curvature c) {
    return c.getTimelineList();
  }

  private static void awaitRounds(Trainer trainer, int rounds) throws InterruptedException {
    await("the trainer to publish " + rounds + " rounds", () -> trainer.sent.get() >= rounds || !trainer.errors.isEmpty());
    assertThat(trainer.errors).as("trainer errors").isEmpty();
  }

  private static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + WAIT + " waiting for " + what);
      }
      Thread.sleep(50);
    }
  }

  private static long ms(long t0) {
    return (System.nanoTime() - t0) / 1_000_000;
  }
}
