package io.stepsize.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/** One verb of the {@code stepsize} command line run in-process, with its stdout and stderr captured. */
public final class CliHarness {
  public final StringWriter out = new StringWriter();
  public final StringWriter err = new StringWriter();
  private final String verb;

  public CliHarness(String verb) {
    this.verb = verb;
  }

  /** {@code stepsize VERB args…}; returns the exit code. */
  public int run(String... args) {
    CommandLine cli = StepsizeCli.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    String[] all = new String[args.length + 1];
    all[0] = verb;
    System.arraycopy(args, 0, all, 1, args.length);
    return cli.execute(all);
  }
}
