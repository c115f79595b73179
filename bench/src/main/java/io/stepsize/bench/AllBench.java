package io.stepsize.bench;

import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Every benchmark in turn with short settings: a quick look, not the numbers of BENCHMARKS.md. */
@Command(name = "all", mixinStandardHelpOptions = true,
    description = "Runs grpc, client, estimator, jmh and replica with short settings, one BENCH line each.")
public final class AllBench implements Callable<Integer> {
  @Override
  public Integer call() {
    String[][] runs = {
        {"grpc", "--rounds", "4", "--round-ms", "1000", "--warmup-ms", "2000"},
        {"client", "--rounds", "3", "--steps", "100000", "--paced-steps", "10000"},
        {"estimator", "--rounds", "2", "--probes", "10000", "--fresh", "40"},
        {"jmh", "--warmup-iterations", "2", "--iterations", "3", "--iteration-ms", "500"},
        {"replica", "--revisions", "50"},
    };
    int worst = 0;
    for (String[] args : runs) {
      worst = Math.max(worst, BenchCli.commandLine().execute(args));
    }
    return worst;
  }
}
