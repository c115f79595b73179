package io.stepsize.cli;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import io.stepsize.wire.Topics;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

/**
 * The kill -9 loop of issue 12, item 3: {@code stepsize serve} (embedded broker and estimator) runs
 * under a load of ReportProbes calls, is SIGKILLed at a random moment, and is started again on the
 * same data directory, {@code kills} times. At the end every probe whose ReportProbes answered OK
 * must be in {@code stepsize.curvature.history} exactly once, and every start must have reached
 * SERVING. Some kills land while the node is still starting (recovering from the previous kill).
 *
 * <p>Run it on the built jar (docs/OPERATIONS.md §5.5, or {@code deploy/local/crash-loop.sh}):
 * <pre>
 *   java -cp cli/target/stepsize.jar:cli/target/test-classes io.stepsize.cli.CrashLoop --kills 30 --work DIR
 * </pre>
 * ProcessCrashTest runs a few kills of it in CI.
 */
public final class CrashLoop {
  static final long STRIDE = 10;
  private static final String HANG_LINE = "hanging transaction on";

  /**
   * @param launcher the command up to the verb, e.g. {@code java -Xmx512m -jar stepsize.jar}
   * @param startupKillFraction share of kills that hit a node before it is SERVING
   */
  record Options(List<String> launcher, Path work, int kills, long seed, Duration minUp, Duration maxUp,
      double startupKillFraction, int jobs, long pauseMillis, Duration startTimeout, Duration verifyTimeout) {}

  /** What a loop saw; {@link #ok()} is the pass criterion. */
  record Result(int kills, int starts, int failedStarts, long reportCalls, long acknowledged, long acknowledgedEstimated,
      long lost, long duplicated, long curvatureProbeMismatches, int hangsAborted, List<Long> startMillis,
      List<String> failures) {
    boolean ok() {
      return failedStarts == 0 && lost == 0 && duplicated == 0 && curvatureProbeMismatches == 0;
    }

    String summary() {
      List<Long> sorted = new ArrayList<>(startMillis);
      Collections.sort(sorted);
      long p50 = sorted.isEmpty() ? 0 : sorted.get(sorted.size() / 2);
      long max = sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1);
      return String.format("kills %d, starts %d (restarts %d), failed starts %d, ReportProbes calls %d, "
              + "acknowledged %d, acknowledged and estimated %d, lost %d, estimated twice %d, "
              + "GetCurvature.probes mismatches %d, hanging transactions closed %d, start to SERVING p50 %d ms max %d ms%s",
          kills, starts, starts - 1, failedStarts, reportCalls, acknowledged, acknowledgedEstimated, lost, duplicated,
          curvatureProbeMismatches, hangsAborted, p50, max, failures.isEmpty() ? "" : "; failures: " + failures);
    }
  }

  private final Options o;
  private final Random random;
  private final int grpcPort;
  private final int kafkaPort;
  private final Path log;
  private final List<String> jobs = new ArrayList<>();
  private final Map<String, Set<Long>> acknowledged = new ConcurrentHashMap<>();
  private final AtomicLong calls = new AtomicLong();
  private volatile boolean loading;
  private Process serve;

  CrashLoop(Options o) throws IOException {
    this.o = o;
    this.random = new Random(o.seed());
    this.grpcPort = freePort();
    this.kafkaPort = freePort();
    Files.createDirectories(o.work());
    this.log = o.work().resolve("serve.log");
    for (int j = 0; j < o.jobs(); j++) {
      jobs.add("crash-" + j);
      acknowledged.put("crash-" + j, ConcurrentHashMap.newKeySet());
    }
  }

  static JobSpec spec(String jobId) {
    return JobSpec.newBuilder().setJobId(jobId).setTotalSteps(1_000_000_000L).setLrMax(0.3).setLrMin(0.003)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.getDefaultInstance()))
        .build();
  }

  /** The k-th probe of a job: Ritz values exactly λmax(k) and 1 (β = 0). */
  static ProbeReport probe(String jobId, long k) {
    double lambdaMax = 10 + 7 * (k % 5) + (k % 1000) * 0.25;
    return ProbeReport.newBuilder().setJobId(jobId).setStep(k * STRIDE).setWorkerId("w")
        .setLanczos(LanczosProbe.newBuilder().addAlpha(lambdaMax).addAlpha(1.0).addBeta(0.0).addBeta(0.0)).build();
  }

  Result run() throws Exception {
    List<Long> startMillis = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    int starts = 0;
    int failed = 0;
    int kills = 0;
    Thread load = null;
    try {
      long t = start();
      starts++;
      if (!awaitServing(t, o.startTimeout())) {
        throw new IllegalStateException("the first start did not reach SERVING; see " + log);
      }
      startMillis.add(millisSince(t));
      createJobs();
      loading = true;
      load = new Thread(this::load, "crash-loop-load");
      load.start();
      while (kills < o.kills()) {
        boolean duringStartup = random.nextDouble() < o.startupKillFraction();
        if (!duringStartup) {
          Thread.sleep(uniform(o.minUp(), o.maxUp()));
        }
        kill();
        kills++;
        t = start();
        starts++;
        if (duringStartup) {
          // somewhere in the recovery of the previous kill: broker log recovery, Streams restore, view catch-up
          Thread.sleep(uniform(Duration.ofMillis(500), o.maxUp()));
          if (serve.isAlive() && !servingNow()) {
            kill();
            kills++;
            t = start();
            starts++;
          }
        }
        if (awaitServing(t, o.startTimeout())) {
          startMillis.add(millisSince(t));
        } else {
          failed++;
          failures.add("start " + starts + " after kill " + kills + " did not reach SERVING within " + o.startTimeout()
              + (serve.isAlive() ? "" : " (exited " + serve.exitValue() + ")"));
          System.err.println("crash-loop: " + failures.get(failures.size() - 1));
          if (failed >= 3) {
            break;
          }
          // the restart that would follow a human's look: one more try on the same data
          kill();
          t = start();
          starts++;
          if (awaitServing(t, o.startTimeout())) {
            startMillis.add(millisSince(t));
          } else {
            failed++;
            failures.add("start " + starts + " (retry) did not reach SERVING");
            break;
          }
        }
        System.err.printf("crash-loop: kill %d/%d done, %d acknowledged so far%n", kills, o.kills(), acknowledgedCount());
      }
      loading = false;
      load.join(30_000);
      Verification v = verify(failures);
      return new Result(kills, starts, failed, calls.get(), acknowledgedCount(), v.estimated, v.lost, v.duplicated,
          v.curvatureMismatches, hangsInLog(), startMillis, failures);
    } finally {
      loading = false;
      if (load != null) {
        load.join(30_000);
      }
      stop();
    }
  }

  private long acknowledgedCount() {
    return acknowledged.values().stream().mapToLong(Set::size).sum();
  }

  private long uniform(Duration min, Duration max) {
    long lo = min.toMillis();
    long hi = Math.max(lo, max.toMillis());
    return lo + (long) (random.nextDouble() * (hi - lo));
  }

  private long start() throws IOException {
    List<String> command = new ArrayList<>(o.launcher());
    command.addAll(List.of("serve", "--data-dir", o.work().resolve("data").toString(), "--grpc-port",
        String.valueOf(grpcPort), "--kafka-port", String.valueOf(kafkaPort), "--http-port", "-1"));
    Files.writeString(log, "=== crash-loop: start at " + java.time.Instant.now() + "\n", StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
    serve = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    return System.nanoTime();
  }

  /** SIGKILL: no shutdown hook, no flush, no leaving the group. */
  private void kill() throws InterruptedException {
    serve.destroyForcibly();
    if (!serve.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("serve survived SIGKILL for 30 s");
    }
  }

  private void stop() throws InterruptedException {
    if (serve != null && serve.isAlive()) {
      serve.destroy();
      if (!serve.waitFor(60, TimeUnit.SECONDS)) {
        serve.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  private static long millisSince(long t) {
    return (System.nanoTime() - t) / 1_000_000;
  }

  private boolean awaitServing(long t, Duration timeout) throws InterruptedException {
    long deadline = t + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!serve.isAlive()) {
        return false;
      }
      if (servingNow()) {
        return true;
      }
      Thread.sleep(200);
    }
    return false;
  }

  private boolean servingNow() {
    ManagedChannel c = ManagedChannelBuilder.forAddress("localhost", grpcPort).usePlaintext().build();
    try {
      return HealthGrpc.newBlockingStub(c).withDeadlineAfter(2, TimeUnit.SECONDS)
          .check(HealthCheckRequest.getDefaultInstance()).getStatus() == ServingStatus.SERVING;
    } catch (RuntimeException e) {
      return false;
    } finally {
      c.shutdownNow();
    }
  }

  private void createJobs() {
    try (StepsizeClient c = StepsizeClient.connect("localhost:" + grpcPort, Duration.ofSeconds(10))) {
      for (String job : jobs) {
        c.createJob(spec(job));
      }
    }
  }

  /**
   * One probe per call, round robin over the jobs. A probe whose call failed is never sent again:
   * it may have reached Kafka all the same, and a resend would be a second probe of that step.
   */
  private void load() {
    Map<String, Long> next = new HashMap<>();
    jobs.forEach(j -> next.put(j, 0L));
    StepsizeClient client = StepsizeClient.connect("localhost:" + grpcPort, Duration.ofSeconds(5));
    try {
      int i = 0;
      while (loading) {
        String job = jobs.get(i++ % jobs.size());
        long k = next.get(job);
        next.put(job, k + 1);
        calls.incrementAndGet();
        try {
          if (client.reportProbes(List.of(probe(job, k))) == 1) {
            acknowledged.get(job).add(k * STRIDE);
          }
          if (o.pauseMillis() > 0) {
            Thread.sleep(o.pauseMillis());
          }
        } catch (StatusRuntimeException e) {
          // reconnect as soon as the node is back, not after gRPC's growing backoff (up to 120 s)
          client.channel().resetConnectBackoff();
          Thread.sleep(100);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      client.close();
    }
  }

  private record Verification(long estimated, long lost, long duplicated, long curvatureMismatches) {}

  /**
   * Reads the history topic (read_committed) until every acknowledged probe is there or the
   * timeout passes, then compares each job's GetCurvature probe count with its history.
   */
  private Verification verify(List<String> failures) throws Exception {
    Map<String, Map<Long, Integer>> seen = new HashMap<>();
    String topic = Topics.unprefixed().curvatureHistory().name();
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:" + kafkaPort);
    p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    long estimated = 0;
    try (KafkaConsumer<String, byte[]> c = new KafkaConsumer<>(p, new StringDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> parts = c.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(i -> new TopicPartition(topic, i.partition())).toList();
      c.assign(parts);
      c.seekToBeginning(parts);
      long deadline = System.nanoTime() + o.verifyTimeout().toNanos();
      while (true) {
        for (ConsumerRecord<String, byte[]> r : c.poll(Duration.ofMillis(500))) {
          Curvature e = Curvature.parseFrom(r.value());
          seen.computeIfAbsent(e.getJobId(), j -> new HashMap<>()).merge(e.getStep(), 1, Integer::sum);
        }
        estimated = 0;
        for (String job : jobs) {
          Map<Long, Integer> steps = seen.getOrDefault(job, Map.of());
          estimated += acknowledged.get(job).stream().filter(steps::containsKey).count();
        }
        Map<TopicPartition, Long> end = c.endOffsets(parts);
        boolean atEnd = parts.stream().allMatch(tp -> c.position(tp) >= end.get(tp));
        if ((estimated == acknowledgedCount() && atEnd) || System.nanoTime() > deadline) {
          break;
        }
      }
    }
    long duplicated = 0;
    for (Map<Long, Integer> steps : seen.values()) {
      duplicated += steps.values().stream().filter(n -> n > 1).mapToLong(n -> n - 1).sum();
    }
    long mismatches = 0;
    try (StepsizeClient client = StepsizeClient.connect("localhost:" + grpcPort, Duration.ofSeconds(10))) {
      for (String job : jobs) {
        long inHistory = seen.getOrDefault(job, Map.of()).size();
        long probes = awaitProbes(client, job, inHistory);
        if (probes != inHistory) {
          mismatches++;
          failures.add(job + ": GetCurvature.probes " + probes + " but " + inHistory + " estimates in the history");
        }
      }
    }
    Set<String> lostExamples = new HashSet<>();
    for (String job : jobs) {
      Map<Long, Integer> steps = seen.getOrDefault(job, Map.of());
      acknowledged.get(job).stream().filter(s -> !steps.containsKey(s)).limit(3).forEach(s -> lostExamples.add(job + "@" + s));
    }
    if (!lostExamples.isEmpty()) {
      failures.add("acknowledged but never estimated, e.g. " + lostExamples);
    }
    return new Verification(estimated, acknowledgedCount() - estimated, duplicated, mismatches);
  }

  /** The service's view may trail the history topic by a moment. */
  private long awaitProbes(StepsizeClient client, String job, long expected) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    long probes = -1;
    while (System.nanoTime() < deadline) {
      try {
        probes = client.curvature(job).getProbes();
        if (probes == expected) {
          return probes;
        }
      } catch (StatusRuntimeException e) {
        // not there yet
      }
      Thread.sleep(200);
    }
    return probes;
  }

  private int hangsInLog() throws IOException {
    try (var lines = Files.lines(log, StandardCharsets.UTF_8)) {
      return (int) lines.filter(l -> l.contains(HANG_LINE)).count();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  /**
   * {@code --kills N --work DIR [--jar cli/target/stepsize.jar] [--seed S] [--min-up-ms 3000]
   * [--max-up-ms 20000] [--startup-kills 0.1] [--jobs 4] [--pause-ms 2] [--heap 512m]}; exits 1
   * unless every start reached SERVING and no acknowledged probe was lost or estimated twice.
   */
  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        throw new IllegalArgumentException("expected --flag value pairs, got " + args[i]);
      }
      a.put(args[i].substring(2), args[i + 1]);
    }
    if (!a.containsKey("work")) {
      throw new IllegalArgumentException("--work: required, an empty directory for the data and the log");
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> launcher = List.of(java, "-Xmx" + a.getOrDefault("heap", "512m"), "-XX:+ExitOnOutOfMemoryError",
        "-jar", a.getOrDefault("jar", "cli/target/stepsize.jar"));
    Options o = new Options(launcher, Path.of(a.get("work")), Integer.parseInt(a.getOrDefault("kills", "30")),
        Long.parseLong(a.getOrDefault("seed", "12")), Duration.ofMillis(Long.parseLong(a.getOrDefault("min-up-ms", "3000"))),
        Duration.ofMillis(Long.parseLong(a.getOrDefault("max-up-ms", "20000"))),
        Double.parseDouble(a.getOrDefault("startup-kills", "0.1")), Integer.parseInt(a.getOrDefault("jobs", "4")),
        Long.parseLong(a.getOrDefault("pause-ms", "2")), Duration.ofSeconds(180), Duration.ofSeconds(180));
    long t = System.nanoTime();
    Result r = new CrashLoop(o).run();
    System.out.println("crash-loop: " + r.summary() + ", wall " + millisSince(t) / 1000 + " s, log "
        + o.work().resolve("serve.log"));
    System.exit(r.ok() ? 0 : 1);
  }
}
