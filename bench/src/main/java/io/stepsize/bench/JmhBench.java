package io.stepsize.bench;

import io.stepsize.bench.jmh.RevisionsBenchmark;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the JMH benchmarks of this jar ({@code io.stepsize.bench.jmh}) and condenses them into one BENCH
 * line: one key per benchmark and parameter, e.g. {@code ritz_m20_us=...}, {@code evaluate_condition_number_ns=...}.
 */
@Command(name = "jmh", mixinStandardHelpOptions = true,
    description = "JMH: UBA evaluation and the Ritz solve for m = 20, 50, 100, 200.")
public final class JmhBench implements Callable<Integer> {
  // RevisionsBenchmark builds its job on an embedded node first, so it runs only when named (§8)
  @Option(names = "--include", defaultValue = "io\\.stepsize\\.bench\\.jmh\\.(Uba|Ritz)Benchmark\\..*",
      description = "benchmark regex; RevisionsBenchmark (the hardest job) only when it matches"
          + " (default ${DEFAULT-VALUE})")
  String include;

  @Option(names = "--forks", defaultValue = "1", description = "JMH forks; 0 runs in this JVM (default ${DEFAULT-VALUE})")
  int forks;

  @Option(names = "--warmup-iterations", defaultValue = "3", description = "(default ${DEFAULT-VALUE})")
  int warmupIterations;

  @Option(names = "--iterations", defaultValue = "5", description = "(default ${DEFAULT-VALUE})")
  int iterations;

  @Option(names = "--iteration-ms", defaultValue = "1000", description = "time per iteration (default ${DEFAULT-VALUE})")
  long iterationMs;

  @Option(names = "--param", description = "JMH parameter override NAME=V1,V2 (e.g. m=20)")
  Map<String, String> params;

  @Override
  public Integer call() throws Exception {
    ChainedOptionsBuilder o = new OptionsBuilder().include(include).forks(forks)
        .warmupIterations(warmupIterations).warmupTime(TimeValue.milliseconds(iterationMs))
        .measurementIterations(iterations).measurementTime(TimeValue.milliseconds(iterationMs))
        .threads(1).shouldFailOnError(true);
    if (forks > 0) {
      o.jvmArgsAppend("-Xmx512m");
    }
    if (params != null) {
      params.forEach((k, v) -> o.param(k, v.split(",")));
    }
    Path hardest = null;
    if (includesRevisions()) {
      // one real node builds the hardest job once; every fork reads the same job from the file
      hardest = Files.createTempFile("stepsize-hardest", ".pb");
      long t0 = System.nanoTime();
      RevisionsBenchmark.write(hardest);
      System.err.printf("hardest job built on an embedded node in %.1f s%n", (System.nanoTime() - t0) / 1e9);
      System.setProperty(RevisionsBenchmark.PROPERTY, hardest.toString());
      o.jvmArgsAppend("-D" + RevisionsBenchmark.PROPERTY + "=" + hardest);
    }
    try {
      Collection<RunResult> results = new Runner(o.build()).run();
      line(results).print(System.out);
    } finally {
      if (hardest != null) {
        Files.deleteIfExists(hardest);
      }
    }
    return 0;
  }

  private boolean includesRevisions() {
    Pattern p = Pattern.compile(include);
    for (String m : new String[] {"hardestSteady", "hardestNewTimeline", "hardestProto"}) {
      if (p.matcher(RevisionsBenchmark.class.getName() + "." + m).find()) {
        return true;
      }
    }
    return false;
  }

  static BenchLine line(Collection<RunResult> results) {
    List<RunResult> sorted = new ArrayList<>(results);
    BenchLine line = new BenchLine("jmh").put("benchmarks", sorted.size());
    Map<String, Double> scores = new java.util.HashMap<>();
    for (RunResult r : sorted) {
      var params = r.getParams();
      String method = params.getBenchmark().substring(params.getBenchmark().lastIndexOf('.') + 1);
      StringBuilder key = new StringBuilder(snake(method));
      for (String p : params.getParamsKeys()) {
        key.append('_').append(p).append(params.getParam(p));
      }
      String unit = r.getPrimaryResult().getScoreUnit(); // e.g. "ns/op"
      key.append('_').append(unit.substring(0, unit.indexOf('/')));
      line.put(key.toString(), r.getPrimaryResult().getScore());
      line.put(key + "_err", r.getPrimaryResult().getScoreError());
      scores.put(key.toString(), r.getPrimaryResult().getScore());
    }
    // the hardest job against today's case, measured in the same run (BENCHMARKS.md §8)
    ratio(line, scores, "hardest_steady_ns", "evaluate_condition_number_ns", "hardest_steady_ratio");
    ratio(line, scores, "hardest_new_timeline_ns", "evaluate_condition_number_ns", "hardest_new_timeline_ratio");
    ratio(line, scores, "hardest_proto_ns", "learning_rate_proto_ns", "hardest_proto_ratio");
    return line;
  }

  private static void ratio(BenchLine line, Map<String, Double> scores, String of, String against, String key) {
    if (scores.containsKey(of) && scores.containsKey(against)) {
      line.put(key, scores.get(of) / scores.get(against));
    }
  }

  static String snake(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
  }
}
