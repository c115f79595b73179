package io.stepsize.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code stepsize bench}: the benchmarks of docs/BENCHMARKS.md. Each verb logs progress on stderr and
 * ends with one {@code BENCH <name> key=value ...} line on stdout. Exit codes as the service CLI:
 * 0 success, 2 bad usage, 1 failure.
 */
@Command(name = "stepsize bench", mixinStandardHelpOptions = true, version = "stepsize-bench 0.1.0",
    description = "Benchmarks of the Stepsize service, client, estimator and math.",
    subcommands = {CommandLine.HelpCommand.class, GrpcBench.class, ClientBench.class, EstimatorBench.class,
        JmhBench.class, ReplicaBench.class, ConsoleBench.class, AllBench.class})
public final class BenchCli implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a benchmark is required (see --help)");
  }

  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new BenchCli());
    cli.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? 2 : 1);
    return cli;
  }

  public static void main(String[] args) {
    int code = commandLine().execute(args);
    // Kafka and gRPC leave non-daemon threads behind now and then; the line is printed, so leave
    System.exit(code);
  }
}
