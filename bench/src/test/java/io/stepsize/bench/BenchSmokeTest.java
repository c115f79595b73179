package io.stepsize.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.stepsize.service.StepsizeNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each benchmark verb runs with minimal iterations against one shared embedded node and must end with
 * its BENCH line carrying the documented keys. Timings are not checked here (speed is for the
 * benchmarks themselves); only what must hold on any machine: exit code 0, finite numbers, the
 * remote and local schedules agreeing, every freshness probe seen.
 */
class BenchSmokeTest {
  @TempDir static Path dir;
  static StepsizeNode node;

  @BeforeAll
  static void start() throws Exception {
    node = StepsizeNode.start(StepsizeNode.Config.embedded(dir));
    assertThat(node.awaitServing(Duration.ofSeconds(60))).isTrue();
  }

  @AfterAll
  static void stop() {
    node.close();
  }

  /** Runs the verb in this JVM and returns the key=value pairs of its BENCH line. */
  static Map<String, String> run(String name, String... args) {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    int code;
    try {
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      code = BenchCli.commandLine().execute(args);
    } finally {
      System.setOut(original);
    }
    String out = captured.toString(StandardCharsets.UTF_8);
    System.out.print(out);
    assertThat(code).as("exit code of %s", Arrays.toString(args)).isZero();
    List<String> lines = out.lines().filter(l -> l.startsWith("BENCH ")).toList();
    assertThat(lines).as("BENCH lines of %s", name).hasSize(1);
    String[] parts = lines.get(0).split(" ");
    assertThat(parts[1]).isEqualTo(name);
    Map<String, String> kv = new LinkedHashMap<>();
    for (int i = 2; i < parts.length; i++) {
      int eq = parts[i].indexOf('=');
      assertThat(eq).as("'%s' is key=value", parts[i]).isPositive();
      kv.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
    }
    return kv;
  }

  static void assertPositive(Map<String, String> kv, String... keys) {
    for (String k : keys) {
      assertThat(kv).containsKey(k);
      double v = Double.parseDouble(kv.get(k));
      assertThat(v).as(k).isFinite().isPositive();
    }
  }

  @Test
  void grpc() {
    Map<String, String> kv = run("grpc", "grpc", "--target", node.target(), "--callers", "2", "--rounds", "2",
        "--round-ms", "200", "--warmup-ms", "200", "--window", "100");
    assertPositive(kv, "lr_qps", "lr_p50_us", "lr_p99_us", "lr_p999_us", "health_qps", "health_p50_us",
        "health_p99_us", "health_p999_us", "ratio_p50", "ratio_p99", "ratio_p999", "ratio_qps", "window_qps",
        "window_p50_us", "window_ns_per_step", "window_steps_per_s");
    assertThat(kv).containsEntry("callers", "2").containsEntry("window", "100").containsKey("target_met");
  }

  @Test
  void client() {
    Map<String, String> kv = run("client", "client", "--target", node.target(), "--rounds", "1", "--steps", "3000",
        "--paced-steps", "300", "--work-us", "50", "--window", "500");
    assertPositive(kv, "paced_local_ns_per_step", "paced_remote_ns_per_step", "paced_ratio",
        "tight_local_ns_per_step", "tight_remote_ns_per_step", "tight_ratio", "first_fetch_us");
    // the service's learning rates equal the local formula's, bit for bit
    assertThat(kv).containsEntry("mismatches", "0").containsEntry("lang", "java").containsKey("target_met");
  }

  @Test
  void estimator() {
    Map<String, String> kv = run("estimator", "estimator", "--target", node.target(), "--bootstrap-servers",
        node.broker().bootstrapServers(), "--rounds", "1", "--probes", "400", "--jobs", "10", "--fresh", "3",
        "--fresh-gap-ms", "0");
    assertPositive(kv, "estimator_probes_per_s", "passthrough_probes_per_s", "ratio", "fresh_p50_ms",
        "fresh_p99_ms", "fresh_max_ms", "estimator_out_bytes_per_probe", "passthrough_out_bytes_per_probe");
    assertThat(kv).containsEntry("m", "20").containsEntry("jobs", "10").containsEntry("fresh_samples", "3")
        .containsKey("target_met");
  }

  @Test
  void jmh() {
    Map<String, String> kv = run("jmh", "jmh", "--forks", "0", "--warmup-iterations", "0", "--iterations", "1",
        "--iteration-ms", "50", "--param", "m=20");
    assertThat(kv).containsEntry("benchmarks", "6");
    assertPositive(kv, "ritz_m20_us", "eigen_full_q_m20_us", "uba_factor_ns", "evaluate_fixed_ns", "evaluate_condition_number_ns",
        "learning_rate_proto_ns");
  }

  @Test
  void grpcHardestJob() {
    Map<String, String> kv = run("grpc", "grpc", "--target", node.target(), "--job", "hardest", "--revisions", "6",
        "--points", "90", "--live-probes-per-s", "50", "--callers", "2", "--rounds", "2", "--round-ms", "200",
        "--warmup-ms", "200", "--window", "100");
    assertPositive(kv, "lr_qps", "lr_p50_us", "health_qps", "ratio_p50", "ratio_p99", "ratio_qps", "plain_qps",
        "plain_p50_us", "plain_p99_us", "plain_ratio_p50", "vs_plain_p50", "vs_plain_p99", "vs_plain_qps",
        "live_estimates");
    assertThat(kv).containsEntry("job", "hardest").containsEntry("revisions", "6").containsEntry("points", "90")
        .containsKey("target_met");
  }

  @Test
  void jmhHardestJob() {
    // builds the hardest job (100 revisions, 4,096 estimates) on an embedded node of its own first
    Map<String, String> kv = run("jmh", "jmh", "--forks", "0", "--warmup-iterations", "0", "--iterations", "1",
        "--iteration-ms", "50", "--include", "UbaBenchmark\\.(evaluateConditionNumber|learningRateProto)|RevisionsBenchmark");
    assertThat(kv).containsEntry("benchmarks", "5");
    assertPositive(kv, "hardest_steady_ns", "hardest_new_timeline_ns", "hardest_proto_ns",
        "evaluate_condition_number_ns", "hardest_steady_ratio", "hardest_new_timeline_ratio", "hardest_proto_ratio");
  }

  @Test
  void replica() {
    Map<String, String> kv = run("replica", "replica", "--target", node.target(), "--bootstrap-servers",
        node.broker().bootstrapServers(), "--revisions", "5", "--gap-ms", "2");
    assertPositive(kv, "return_p50_ms", "return_p99_ms", "return_max_ms", "call_to_replica_p50_ms",
        "call_to_replica_p99_ms", "call_to_replica_max_ms", "revise_call_p50_ms");
    // replica 2 read every revision: its job equals replica 1's
    assertThat(kv).containsEntry("revisions", "5").containsEntry("replicas_agree", "true").containsKey("target_met");
  }
}
