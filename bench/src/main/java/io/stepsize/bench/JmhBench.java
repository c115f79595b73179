package io.stepsize.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
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
  @Option(names = "--include", defaultValue = "io\\.stepsize\\.bench\\.jmh\\..*",
      description = "benchmark regex (default ${DEFAULT-VALUE})")
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
    Collection<RunResult> results = new Runner(o.build()).run();
    line(results).print(System.out);
    return 0;
  }

  static BenchLine line(Collection<RunResult> results) {
    List<RunResult> sorted = new ArrayList<>(results);
    BenchLine line = new BenchLine("jmh").put("benchmarks", sorted.size());
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
    }
    return line;
  }

  static String snake(String camel) {
    return camel.replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT);
  }
}
