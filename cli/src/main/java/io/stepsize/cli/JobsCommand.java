package io.stepsize.cli;

import com.google.protobuf.TextFormat;
import io.grpc.StatusRuntimeException;
import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ListJobsRequest;
import io.stepsize.proto.v1.ListJobsResponse;
import io.stepsize.proto.v1.PhiPolicy;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code stepsize jobs list|show JOB} (DESIGN.md §5.1): an operator's view of the jobs of a running
 * service, through the same RPCs as trainers use and under the caller's tenant. A refusal of the
 * service prints its status and message on stderr and exits 1.
 */
@Command(name = "jobs", mixinStandardHelpOptions = true,
    description = "Lists the jobs of a running service, or shows one: spec, latest curvature, next rates.",
    subcommands = {JobsCommand.ListJobs.class, JobsCommand.ShowJob.class})
public final class JobsCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a sub-verb is required: list or show (see --help)");
  }

  /** Runs a call of the service; a refusal is printed as "CODE: message" and is exit 1. */
  static int call(CommandLine.Model.CommandSpec spec, ServiceOptions service, Callable<Integer> body)
      throws Exception {
    try {
      return body.call();
    } catch (StatusRuntimeException e) {
      PrintWriter err = spec.commandLine().getErr();
      err.println("stepsize jobs " + spec.name() + ": " + e.getStatus().getCode() + ": "
          + (e.getStatus().getDescription() == null ? "" : e.getStatus().getDescription())
          + " (target " + service.target + ")");
      err.flush();
      return 1;
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"Prints the caller's jobs as CSV sorted by job_id, with the header",
          "job_id,total_steps,warmup_steps,phases,lr_max,lr_min,policy"})
  static final class ListJobs implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin ServiceOptions service;

    @Option(names = "--page-size", defaultValue = "1000", paramLabel = "N",
        description = "Jobs per ListJobs call, 1..1000 (default ${DEFAULT-VALUE}); every page is printed.")
    int pageSize;

    @Override
    public Integer call() throws Exception {
      if (pageSize < 1 || pageSize > 1000) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--page-size: must be in [1, 1000] (got " + pageSize + ")");
      }
      try (StepsizeClient client = service.connect()) {
        return JobsCommand.call(spec, service, () -> {
          PrintWriter out = spec.commandLine().getOut();
          out.print("job_id,total_steps,warmup_steps,phases,lr_max,lr_min,policy\n");
          String token = "";
          do {
            ListJobsResponse page = client.stub().listJobs(
                ListJobsRequest.newBuilder().setPageSize(pageSize).setPageToken(token).build());
            for (Job job : page.getJobsList()) {
              JobSpec s = job.getSpec();
              out.print(s.getJobId() + "," + s.getTotalSteps() + "," + s.getWarmupSteps() + "," + job.getPhases()
                  + "," + s.getLrMax() + "," + s.getLrMin() + "," + policy(s.getPhiPolicy()) + "\n");
            }
            token = page.getNextPageToken();
          } while (!token.isEmpty());
          out.flush();
          return 0;
        });
      }
    }
  }

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = {"Prints a job's spec, its latest curvature estimate and its next planned rates as CSV",
          "(step,lr,factor,phi,phase,kappa,source), from --from-step or else from the step of the latest",
          "estimate (the trainer's last known progress; 0 before any)."})
  static final class ShowJob implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin ServiceOptions service;

    @Parameters(index = "0", paramLabel = "JOB", description = "The job_id.")
    String jobId;

    @Option(names = "--from-step", paramLabel = "S", description = "First step of the rates shown.")
    Long fromStep;

    @Option(names = "--count", defaultValue = "10", paramLabel = "N",
        description = "Rates shown, 1..100000 (default ${DEFAULT-VALUE}); fewer at the job's end.")
    long count;

    @Override
    public Integer call() throws Exception {
      if (count < 1 || count > 100_000) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--count: must be in [1, 100000] (got " + count + ")");
      }
      if (fromStep != null && fromStep < 0) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--from-step: must be >= 0 (got " + fromStep + ")");
      }
      try (StepsizeClient client = service.connect()) {
        return JobsCommand.call(spec, service, () -> {
          Job job = client.getJob(jobId);
          Curvature c = client.curvature(jobId);
          long total = job.getSpec().getTotalSteps();
          long from = fromStep != null ? fromStep : Math.min(c.getProbes() > 0 ? c.getStep() : 0, total - 1);
          LearningRates rates = client.learningRates(jobId, from, count);
          print(spec.commandLine().getOut(), job, c, from, rates);
          return 0;
        });
      }
    }

    private static void print(PrintWriter out, Job job, Curvature c, long from, LearningRates rates) {
      out.print("job " + job.getSpec().getJobId() + ": " + job.getPhases() + " phase(s), policy "
          + policy(job.getSpec().getPhiPolicy()) + "\n");
      out.print("spec:\n");
      for (String line : TextFormat.printer().printToString(job.getSpec()).split("\n")) {
        out.print("  " + line + "\n");
      }
      if (c.getProbes() == 0) {
        out.print("curvature: none yet (probes = 0)\n");
      } else {
        out.print("curvature: step " + c.getStep() + ", phase " + c.getPhase() + ", kappa " + c.getKappa()
            + ", lambda_low " + c.getLambdaLow() + ", lambda_max " + c.getLambdaMax() + ", lambda_max_bound "
            + c.getLambdaMaxBound() + ", probes " + c.getProbes() + ", applies from step " + c.getAppliesFromStep()
            + ", " + c.getTimelineCount() + " estimate(s) in the timeline\n");
      }
      out.print("rates from step " + from + ":\n");
      out.print("step,lr,factor,phi,phase,kappa,source\n");
      for (LearningRate r : rates.getRatesList()) {
        out.print(r.getStep() + "," + r.getLr() + "," + r.getFactor() + "," + r.getPhi() + "," + r.getPhase() + ","
            + r.getKappa() + "," + r.getSource().name().replace("SOURCE_", "").toLowerCase(java.util.Locale.ROOT)
            + "\n");
      }
      out.flush();
    }
  }

  /** fixed:PHI, condition_number, chebyshev, or none (the service's default policy). */
  static String policy(PhiPolicy p) {
    return switch (p.getPolicyCase()) {
      case FIXED -> "fixed:" + p.getFixed().getPhi();
      case CONDITION_NUMBER -> "condition_number";
      case CHEBYSHEV -> "chebyshev";
      case POLICY_NOT_SET -> "none";
    };
  }
}
