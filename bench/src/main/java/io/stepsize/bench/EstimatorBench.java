package io.stepsize.bench;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.stepsize.client.StepsizeClient;
import io.stepsize.client.lanczos.LanczosResult;
import io.stepsize.lab.experiment.Summary;
import io.stepsize.estimator.CurvatureTopology;
import io.stepsize.estimator.EstimatorApp;
import io.stepsize.wire.ProtoSerde;
import io.stepsize.wire.Topics;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.StepsizeGrpc;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TopologyConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Produced;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The estimator on the real embedded broker. Throughput: bursts of m = 20 Lanczos probes spread over
 * 100 jobs go to {@code stepsize.probes}, timed from the first send to the last estimate committed
 * on {@code stepsize.curvature.history}; the same bytes go through a passthrough Streams application
 * (same configuration: exactly-once, commit interval, caches; deserialize and re-serialize only) on
 * the same broker, in interleaved rounds, so the ratio isolates what the estimator's own work costs.
 * Freshness: one probe at a time, produced to Kafka as a trainer would, timed until
 * GetLearningRate reports an estimate from that probe's step.
 */
@Command(name = "estimator", mixinStandardHelpOptions = true,
    description = "Probes per second through the estimator vs a passthrough topology; probe-to-GetLearningRate freshness.")
public final class EstimatorBench implements Callable<Integer> {
  @Option(names = "--target",
      description = "host:port of a running server, with --bootstrap-servers (default: an embedded node)")
  String target;

  @Option(names = "--bootstrap-servers", description = "Kafka of that server (unprefixed topics)")
  String bootstrapServers;

  @Option(names = "--probes", defaultValue = "30000", description = "probes per round (default ${DEFAULT-VALUE})")
  int probes;

  @Option(names = "--jobs", defaultValue = "100", description = "jobs the probes spread over (default ${DEFAULT-VALUE})")
  int jobs;

  @Option(names = "--m", defaultValue = "20", description = "Lanczos steps per probe (default ${DEFAULT-VALUE})")
  int m;

  @Option(names = "--rounds", defaultValue = "3", description = "rounds per topology (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--fresh", defaultValue = "100", description = "freshness samples (default ${DEFAULT-VALUE})")
  int fresh;

  @Option(names = "--fresh-gap-ms", defaultValue = "37",
      description = "pause between freshness probes, so they land at different points of the commit cycle "
          + "(default ${DEFAULT-VALUE})")
  int freshGapMs;

  @Option(names = "--commit-interval-ms",
      description = "run the throughput rounds against a second estimator instance of this JVM (topic prefix "
          + "'bench-own.') with this Streams commit interval instead of the node's own estimator; freshness "
          + "still uses the node's (experiment for tuning, see BENCHMARKS.md)")
  Long commitIntervalMs;

  @Option(names = "--gradient-statistics", arity = "1",
      description = "on|off: run the throughput rounds against a second estimator instance of this JVM (topic "
          + "prefix 'bench-own.') with the gradient statistics and edge ratios of DESIGN.md §1.7 computed (true) or "
          + "not (false, CurvatureTopology.GRADIENT_STATISTICS_CONFIG), for an A/B of their cost "
          + "(BENCHMARKS.md §9); unset: the node's own estimator")
  Boolean gradientStatistics;

  @Option(names = "--instances", defaultValue = "1",
      description = "run the throughput rounds against this many estimator instances of one application in this JVM "
          + "(topic prefix 'bench-own.', --partitions each topic), each with its own state directory; the rate is their "
          + "combined one and the BENCH line gives each instance's partitions (default ${DEFAULT-VALUE}: the node's own "
          + "estimator, unless another option asks for an instance of the bench's own)")
  int instances;

  @Option(names = "--stream-threads",
      description = "num.stream.threads of the bench's own instances (implies them); unset: the estimator's default (1)")
  Integer streamThreads;

  @Option(names = "--streams-property", paramLabel = "KEY=VALUE",
      description = "a Streams or client setting of the bench's own instances (implies them), e.g. "
          + "producer.batch.size=262144; repeatable")
  Map<String, String> streamsProperties;

  @Option(names = "--partitions", defaultValue = "4",
      description = "partitions of the bench's own instances' topics (default ${DEFAULT-VALUE})")
  int partitions;

  @Option(names = "--stats-per-probe", defaultValue = "0", paramLabel = "K",
      description = "before each probe, K gradient-statistics reports (loss, grad_norm) of a job's steps before it, "
          + "as a trainer that reports every step and probes every K+1 (default ${DEFAULT-VALUE}); rates then count "
          + "records, probes/s the probes among them")
  int statsPerProbe;

  @Option(names = "--workers", defaultValue = "1", paramLabel = "W",
      description = "probes per step, as W data-parallel workers each probing it (default ${DEFAULT-VALUE}); "
          + "--probes counts them all")
  int workers;

  @Option(names = "--gradient-start", defaultValue = "false",
      description = "send the throughput probes as START_GRADIENT (their alpha[0] becomes the gradient sharpness)")
  boolean gradientStart;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec commandSpec;

  /** Distinct probe shapes (Lanczos runs from different start vectors) the throughput rounds cycle through. */
  static final int SHAPES = 16;
  static final String PT_IN = "bench.passthrough.in";
  static final String PT_OUT = "bench.passthrough.out";
  static final String PT_APP = "bench-passthrough";
  static final long TOTAL_STEPS = 100_000_000L;
  static final double TARGET_PROBES_PER_S = 20_000;
  static final double TARGET_FRESH_P99_MS = 300;
  static final double TARGET_CPU_US = 30;

  @Override
  public Integer call() throws Exception {
    if ((target == null) != (bootstrapServers == null)) {
      throw new picocli.CommandLine.ParameterException(commandSpec.commandLine(),
          "--target and --bootstrap-servers go together");
    }
    if (workers < 1 || workers > SHAPES) {
      // each worker of a step needs a T_m of its own: the same one again is a retried publish, dropped
      throw new picocli.CommandLine.ParameterException(commandSpec.commandLine(),
          "--workers: must be in [1, " + SHAPES + "] (the bench's probe shapes), got " + workers);
    }
    try (BenchNode server = BenchNode.open(target, bootstrapServers)) {
      String bootstrap = server.bootstrap();
      Topics topics = Topics.unprefixed();
      if (instances < 1 || partitions < 1) {
        throw new picocli.CommandLine.ParameterException(commandSpec.commandLine(),
            "--instances and --partitions: must be >= 1");
      }
      boolean ownInstance = commitIntervalMs != null || gradientStatistics != null || instances > 1
          || streamThreads != null || streamsProperties != null;
      Topics throughputTopics = ownInstance ? new Topics("bench-own") : topics;
      String prefix = "bench-est-" + System.currentTimeMillis() + "-";
      List<EstimatorApp> own = new ArrayList<>();
      Path ownDir = Workloads.tempDir("own");
      if (!ownInstance) {
        try (StepsizeClient client = StepsizeClient.connect(server.target(), Duration.ofSeconds(30))) {
          for (int j = 0; j < jobs; j++) {
            client.createJob(Workloads.conditionNumberJob(prefix + j, TOTAL_STEPS));
          }
        }
      } else {
        // as `stepsize estimator` configures its instance; the options below override even its fixed settings
        Properties config = EstimatorApp.config(bootstrap, throughputTopics, ownDir, new Properties());
        if (commitIntervalMs != null) {
          config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, String.valueOf(commitIntervalMs));
        }
        if (gradientStatistics != null) {
          config.put(CurvatureTopology.GRADIENT_STATISTICS_CONFIG, gradientStatistics.toString());
        }
        if (streamsProperties != null) {
          config.putAll(streamsProperties);
        }
        if (streamThreads != null) {
          config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, String.valueOf(streamThreads));
        }
        for (int i = 0; i < instances; i++) {
          Properties c = (Properties) config.clone();
          c.put(StreamsConfig.STATE_DIR_CONFIG, ownDir.resolve("instance-" + i).toString());
          own.add(EstimatorApp.start(c, throughputTopics, partitions, Duration.ofSeconds(120)));
        }
        awaitSplit(own);
        try (KafkaProducer<String, byte[]> p = new KafkaProducer<>(producerProps(bootstrap, 5), new StringSerializer(),
            new ByteArraySerializer())) {
          for (int j = 0; j < jobs; j++) {
            p.send(new ProducerRecord<>(throughputTopics.jobs().name(), prefix + j,
                Workloads.conditionNumberJob(prefix + j, TOTAL_STEPS).toByteArray()));
          }
        }
      }
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        for (String t : List.of(PT_IN, PT_OUT)) {
          try {
            admin.createTopics(List.of(new NewTopic(t, 4, (short) 1))).all().get();
          } catch (java.util.concurrent.ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) {
              throw e;
            }
          }
        }
      }
      Path stateDir = Workloads.tempDir("passthrough");
      try (KafkaStreams passthrough = passthrough(bootstrap, stateDir);
          KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps(bootstrap, 5),
              new StringSerializer(), new ByteArraySerializer());
          KafkaConsumer<byte[], byte[]> estOut = counter(bootstrap, throughputTopics.curvatureHistory().name());
          KafkaConsumer<byte[], byte[]> ptOut = counter(bootstrap, PT_OUT)) {
        awaitRunning(passthrough);
        LanczosResult[] shapes = new LanczosResult[SHAPES];
        for (int i = 0; i < shapes.length; i++) {
          shapes[i] = Workloads.lanczos(m, 7 + i);
        }
        long[] nextStep = new long[jobs];
        // warmup round of each, not recorded
        int warm = Math.max(jobs, probes / 5);
        burst(producer, throughputTopics.probes().name(), estOut, batch(prefix, shapes, nextStep, warm), warm);
        List<ProducerRecord<String, byte[]>> warmPt = batch(prefix, shapes, nextStep, warm);
        burst(producer, PT_IN, ptOut, warmPt, warmPt.size());
        Map<String, Long> sizesBefore = topicBytes(bootstrap);
        long probesIn = 0;
        long recordsIn = 0;
        String estApp = throughputTopics.applicationId();
        Spent estSpent = new Spent(estApp);
        Spent ptSpent = new Spent(PT_APP);
        double[] est = new double[rounds];
        double[] pt = new double[rounds];
        for (int r = 0; r < rounds; r++) {
          List<ProducerRecord<String, byte[]>> b = batch(prefix, shapes, nextStep, probes);
          probesIn += probes;
          recordsIn += b.size();
          DoubleSupplier estRound = () -> burst(producer, throughputTopics.probes().name(), estOut, b, probes);
          DoubleSupplier ptRound = () -> burst(producer, PT_IN, ptOut, b, b.size());
          // alternated, so that neither side always runs on the other's leftovers
          if (r % 2 == 0) {
            est[r] = estSpent.round(estRound);
            pt[r] = ptSpent.round(ptRound);
          } else {
            pt[r] = ptSpent.round(ptRound);
            est[r] = estSpent.round(estRound);
          }
          System.err.printf("round %d: estimator %.0f records/s, passthrough %.0f records/s (ratio %.3f)%n", r + 1,
              est[r], pt[r], est[r] / pt[r]);
        }
        // bytes each side wrote to Kafka per probe (outputs, changelogs, history), from the broker's log sizes
        Map<String, Long> sizesAfter = topicBytes(bootstrap);
        long estBytes = 0;
        long ptBytes = 0;
        for (Map.Entry<String, Long> e : sizesAfter.entrySet()) {
          String t = e.getKey();
          long delta = e.getValue() - sizesBefore.getOrDefault(t, 0L);
          if (t.equals(PT_OUT) || t.startsWith("bench-passthrough")) {
            ptBytes += delta;
          } else if (!t.equals(PT_IN) && !t.equals(throughputTopics.probes().name()) && !t.startsWith("__")) {
            estBytes += delta;
          }
        }
        Histogram freshness = freshness(server, bootstrap, topics, shapes[0]);
        // records per second; the probes among them are probesIn of recordsIn (statistics reports come
        // before a step's first worker only)
        double recordsPerProbe = (double) recordsIn / probesIn;
        double estRecords = Summary.median(est);
        double estRate = estRecords / recordsPerProbe;
        double ptRate = Summary.median(pt) / recordsPerProbe;
        double p50 = freshness.getValueAtPercentile(50) / 1e6;
        double p99 = freshness.getValueAtPercentile(99) / 1e6;
        new BenchLine("estimator").put("m", m).put("jobs", jobs).put("probes_per_round", probes)
            .put("rounds", rounds).put("estimator_probes_per_s", estRate).put("passthrough_probes_per_s", ptRate)
            .put("ratio", estRate / ptRate)
            .put("estimator_out_bytes_per_probe", (double) estBytes / probesIn)
            .put("passthrough_out_bytes_per_probe", (double) ptBytes / probesIn)
            // CPU, not wall time: what one probe costs the application's threads, whatever else runs
            .put("estimator_cpu_us_per_probe", estSpent.cpu / 1e3 / probesIn)
            .put("passthrough_cpu_us_per_probe", ptSpent.cpu / 1e3 / probesIn)
            .put("cpu_ratio", (double) estSpent.cpu / ptSpent.cpu)
            // the stream threads alone: the estimator's own work, without its clients' I/O threads
            .put("estimator_stream_cpu_us_per_probe", estSpent.streamCpu / 1e3 / probesIn)
            // in the estimator's rounds: how busy its stream threads were (1 = always on a core), and how many
            // of the machine's cores this JVM used, which hosts the broker and the load generator too
            .put("estimator_stream_busy", (double) estSpent.streamCpu / estSpent.wall
                / (streamThreads == null ? 1 : streamThreads) / Math.max(1, own.size()))
            .put("jvm_cores_busy", (double) estSpent.jvmCpu / estSpent.wall)
            .put("stats_per_probe", statsPerProbe).put("workers", workers).put("estimator_records_per_s", estRecords)
            .put("estimator_cpu_us_per_record", estSpent.cpu / 1e3 / recordsIn)
            .put("fresh_samples", freshness.getTotalCount())
            .put("fresh_p50_ms", p50).put("fresh_p99_ms", p99).put("fresh_max_ms", freshness.getMaxValue() / 1e6)
            .put("commit_interval_ms", commitIntervalMs == null ? CurvatureTopology.COMMIT_INTERVAL_MS : commitIntervalMs)
            .put("gradient_statistics", gradientStatistics == null ? "node" : gradientStatistics.toString())
            .put("gradient_start", gradientStart)
            .put("instances", own.isEmpty() ? "node" : Integer.toString(own.size()))
            .put("stream_threads", streamThreads == null ? 1 : streamThreads)
            .put("streams_properties", streamsProperties == null ? "none" : String.join(",",
                new java.util.TreeMap<>(streamsProperties).entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                    .toList()))
            .put("partitions_per_instance", own.isEmpty() ? "node" : own.stream()
                .map(a -> Integer.toString(a.activePartitions().size())).collect(java.util.stream.Collectors.joining("+")))
            // DESIGN.md §6 per instance: 20,000 probes/s, freshness p99 300 ms, 30 µs of CPU per probe
            .put("target_met", estRate / Math.max(1, own.size()) >= TARGET_PROBES_PER_S && p99 <= TARGET_FRESH_P99_MS
                && estSpent.cpu / 1e3 / probesIn <= TARGET_CPU_US)
            .print(System.out);
        passthrough.close(Duration.ofSeconds(10));
      } finally {
        for (EstimatorApp app : own) {
          app.close();
        }
        Workloads.delete(ownDir);
        Workloads.delete(stateDir);
      }
    }
    return 0;
  }

  /**
   * {@code n} probes, {@link #workers} to a (job, step) pair, the pairs round-robin over jobs, each job's
   * steps increasing.
   */
  private List<ProducerRecord<String, byte[]>> batch(String prefix, LanczosResult[] shapes, long[] nextStep, int n) {
    List<ProducerRecord<String, byte[]>> out = new ArrayList<>(n * (statsPerProbe + 1));
    for (int i = 0; i < n; i++) {
      int worker = i % workers;
      int j = (i / workers) % jobs;
      String jobId = prefix + j;
      if (worker > 0) {
        // another worker's probe of the step just sent: its own start vector, so another T_m
        long step = nextStep[j] - 1;
        out.add(new ProducerRecord<>("", jobId, probe(shapes[(int) ((step + worker) % shapes.length)], jobId, step)
            .toBuilder().setWorkerId("bench-" + worker).build().toByteArray()));
        continue;
      }
      for (int k = 0; k < statsPerProbe; k++) {
        long step = nextStep[j]++;
        var report = io.stepsize.proto.v1.ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId("bench")
            .setGradient(io.stepsize.proto.v1.GradientStats.newBuilder().setLoss(2.0 / (1 + step * 1e-3))
                .setGradNorm(1.0 / (1 + step * 1e-4)))
            .build();
        out.add(new ProducerRecord<>("", jobId, report.toByteArray()));
      }
      long step = nextStep[j]++;
      out.add(new ProducerRecord<>("", jobId, probe(shapes[(int) (step % shapes.length)], jobId, step).toByteArray()));
    }
    return out;
  }

  private io.stepsize.proto.v1.ProbeReport probe(LanczosResult shape, String jobId, long step) {
    var probe = Workloads.probe(shape, jobId, step);
    return gradientStart ? probe.toBuilder().setLanczos(probe.getLanczos().toBuilder()
        .setStart(io.stepsize.proto.v1.Start.START_GRADIENT)).build() : probe;
  }

  /**
   * Sends the records to {@code topic} and returns records per second until {@code expected} records are on
   * the output (the estimator's history gets one per probe, the passthrough's output one per record).
   */
  private static double burst(KafkaProducer<String, byte[]> producer, String topic,
      KafkaConsumer<byte[], byte[]> output, List<ProducerRecord<String, byte[]>> records, long expected) {
    long t0 = System.nanoTime();
    for (ProducerRecord<String, byte[]> r : records) {
      producer.send(new ProducerRecord<>(topic, r.key(), r.value()));
    }
    producer.flush();
    long seen = 0;
    long deadline = t0 + TimeUnit.SECONDS.toNanos(300);
    while (seen < expected) {
      seen += output.poll(Duration.ofMillis(50)).count();
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("only " + seen + " of " + expected + " records reached the output of "
            + topic + " within 300 s");
      }
    }
    return records.size() / ((System.nanoTime() - t0) / 1e9);
  }

  /** Probe produced to Kafka → GetLearningRate(step + apply delay) carries that step's estimate. */
  private Histogram freshness(BenchNode server, String bootstrap, Topics topics, LanczosResult shape)
      throws InterruptedException {
    Histogram h = GrpcBench.histogram();
    JobSpec spec = Workloads.conditionNumberJob("bench-fresh-" + System.currentTimeMillis(), TOTAL_STEPS);
    ManagedChannel ch = ManagedChannelBuilder.forTarget(server.target()).usePlaintext().build();
    try (StepsizeClient client = StepsizeClient.of(ch, Duration.ofSeconds(10));
        KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps(bootstrap, 0),
            new StringSerializer(), new ByteArraySerializer())) {
      client.createJob(spec);
      var stub = StepsizeGrpc.newBlockingStub(ch);
      for (int i = 0; i < fresh; i++) {
        long step = 1_000 + 10L * i;
        byte[] bytes = Workloads.probe(shape, spec.getJobId(), step).toByteArray();
        GetLearningRateRequest ask = GetLearningRateRequest.newBuilder().setJobId(spec.getJobId())
            .setStep(step + 1).build();
        long t0 = System.nanoTime();
        producer.send(new ProducerRecord<>(topics.probes().name(), spec.getJobId(), bytes));
        long deadline = t0 + TimeUnit.SECONDS.toNanos(30);
        while (stub.getLearningRate(ask).getCurvatureStep() != step) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException("estimate of step " + step + " not visible after 30 s");
          }
          LockSupport.parkNanos(100_000);
        }
        h.recordValue(System.nanoTime() - t0);
        Thread.sleep(freshGapMs);
      }
    } finally {
      ch.shutdownNow().awaitTermination(2, TimeUnit.SECONDS);
    }
    return h;
  }

  /**
   * CPU time (ns) of the live threads of the Streams application {@code applicationId}: its stream
   * threads and their clients' I/O threads, all named after its client id ({@code applicationId-<uuid>-…}).
   */
  static long cpuNanos(String applicationId) {
    return cpuNanos(name -> name.contains(applicationId + "-"));
  }

  /**
   * CPU time (ns) of the application's stream threads alone ({@code applicationId-<uuid>-StreamThread-<n>}),
   * without the producers' and consumers' I/O threads that {@link #cpuNanos(String)} counts too.
   */
  static long streamCpuNanos(String applicationId) {
    return cpuNanos(name -> name.startsWith(applicationId + "-") && name.matches(".*-StreamThread-\\d+"));
  }

  /**
   * What one side's rounds cost, summed: its application's threads' CPU ({@link #cpuNanos(String)}), its
   * stream threads' alone, the wall time, and the CPU of this whole JVM in that time.
   */
  private static final class Spent {
    private final String applicationId;
    long cpu;
    long streamCpu;
    long wall;
    long jvmCpu;

    Spent(String applicationId) {
      this.applicationId = applicationId;
    }

    /** Runs one round and adds what it cost; returns the round's rate. */
    double round(DoubleSupplier burst) {
      long cpu0 = cpuNanos(applicationId);
      long stream0 = streamCpuNanos(applicationId);
      long jvm0 = jvmCpuNanos();
      long wall0 = System.nanoTime();
      double rate = burst.getAsDouble();
      wall += System.nanoTime() - wall0;
      jvmCpu += jvmCpuNanos() - jvm0;
      cpu += cpuNanos(applicationId) - cpu0;
      streamCpu += streamCpuNanos(applicationId) - stream0;
      return rate;
    }
  }

  /** CPU time (ns) of this JVM, every thread, GC and JIT included. */
  private static long jvmCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static long cpuNanos(java.util.function.Predicate<String> threadName) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (threadName.test(t.getName())) {
        sum += Math.max(mx.getThreadCpuTime(t.getId()), 0);
      }
    }
    return sum;
  }

  /**
   * Waits until the instances of one application run every input partition between them, each some:
   * the second instance joins after the first is RUNNING on all of them, so the group rebalances once more.
   */
  private static void awaitSplit(List<EstimatorApp> apps) throws InterruptedException {
    if (apps.size() < 2) {
      return;
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (System.nanoTime() < deadline) {
      boolean each = apps.stream().allMatch(a -> a.state() == org.apache.kafka.streams.KafkaStreams.State.RUNNING
          && !a.activePartitions().isEmpty());
      if (each) {
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the estimator instances did not split the partitions within 120 s");
  }

  /** Same Streams settings as the estimator (exactly-once, commit interval, cache), no work. */
  private static KafkaStreams passthrough(String bootstrap, Path stateDir) {
    Properties p = CurvatureTopology.tuning();
    p.putAll(CurvatureTopology.config(bootstrap, new Topics("bench-pt"), stateDir, PT_APP));
    p.remove(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG);
    StreamsBuilder b = new StreamsBuilder(new TopologyConfig(new StreamsConfig(p)));
    b.stream(PT_IN, Consumed.with(Serdes.String(), ProtoSerde.probeReport()).withName("pt-in"))
        .to(PT_OUT, Produced.with(Serdes.String(), ProtoSerde.probeReport()).withName("pt-out"));
    KafkaStreams streams = new KafkaStreams(b.build(), p);
    streams.start();
    return streams;
  }

  private static void awaitRunning(KafkaStreams streams) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (streams.state() != KafkaStreams.State.RUNNING) {
      if (System.nanoTime() > deadline || streams.state() == KafkaStreams.State.ERROR) {
        throw new IllegalStateException("passthrough topology not RUNNING (" + streams.state() + ")");
      }
      Thread.sleep(50);
    }
  }

  /** Bytes on disk per topic on every broker (log sizes), to see what the rounds wrote. */
  private static Map<String, Long> topicBytes(String bootstrap) throws Exception {
    Map<String, Long> sizes = new java.util.HashMap<>();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      List<Integer> brokers = admin.describeCluster().nodes().get().stream().map(n -> n.id()).toList();
      var dirs = admin.describeLogDirs(brokers).allDescriptions().get();
      for (var perBroker : dirs.values()) {
        for (var dir : perBroker.values()) {
          dir.replicaInfos().forEach((tp, info) -> sizes.merge(tp.topic(), info.size(), Long::sum));
        }
      }
    }
    return sizes;
  }

  private static Properties producerProps(String bootstrap, int lingerMs) {
    Properties p = new Properties();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
    p.put(ProducerConfig.LINGER_MS_CONFIG, String.valueOf(lingerMs));
    p.put(ProducerConfig.BATCH_SIZE_CONFIG, String.valueOf(256 * 1024));
    return p;
  }

  /** A read_committed consumer positioned at the current end of {@code topic}: it counts what comes next. */
  private static KafkaConsumer<byte[], byte[]> counter(String bootstrap, String topic) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, "20");
    KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> parts = new ArrayList<>();
    for (PartitionInfo info : c.partitionsFor(topic, Duration.ofSeconds(30))) {
      parts.add(new TopicPartition(topic, info.partition()));
    }
    c.assign(parts);
    c.seekToEnd(parts);
    parts.forEach(c::position);
    return c;
  }
}
