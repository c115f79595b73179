package io.stepsize.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The `stepsize` command line: one verb per subcommand, exit codes 0 / 1 / 2 (DESIGN.md §5.1). */
@Command(name = "stepsize", mixinStandardHelpOptions = true, version = "stepsize 0.1.0",
    description = "Budget-aware learning rates with phi from the live Hessian condition number.",
    subcommands = {CommandLine.HelpCommand.class, ServeCommand.class,
        ScheduleCommand.class,
        DemoCommand.class,
        ExperimentCommand.class,
        EstimatorCommand.class,
        JobsCommand.class})
public final class StepsizeCli implements Runnable {

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a verb is required (see --help)");
  }

  /** Builds the command line with every verb; tests call this to run verbs in-process. */
  public static CommandLine commandLine() {
    CommandLine cli = new CommandLine(new StepsizeCli());
    // usage errors exit 2, failures 1 (picocli's defaults are 2 and 1 as well; kept explicit)
    cli.setExitCodeExceptionMapper(e -> e instanceof CommandLine.ParameterException ? 2 : 1);
    return cli;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
