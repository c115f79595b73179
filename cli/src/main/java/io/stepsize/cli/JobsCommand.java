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
import io.stepsize.proto.v1.Revision;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Collectors;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code stepsize jobs list|show JOB|revise JOB} (DESIGN.md §5.1): an operator's view of the jobs of a
 * running service, and its hand on their schedules, through the same RPCs as trainers use and under
 * the caller's tenant. A refusal of the service prints its status and message on stderr and exits 1.
 */
@Command(name = "jobs", mixinStandardHelpOptions = true,
    description = "Lists the jobs of a running service, shows one (spec, revisions, latest curvature, next rates)"
        + " or revises one while it trains.",
    subcommands = {JobsCommand.ListJobs.class, JobsCommand.ShowJob.class, JobsCommand.ReviseJob.class})
public final class JobsCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a sub-verb is required: list, show or revise (see --help)");
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
          long total = job.getTotalSteps(); // in force: a revision may have changed the spec's
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
      // the spec as created; its revisions follow, one line each
      JobSpec created = job.getSpec().toBuilder().clearRevisions().build();
      for (String line : TextFormat.printer().printToString(created).split("\n")) {
        out.print("  " + line + "\n");
      }
      printRevisions(out, job);
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

  @Command(name = "revise", mixinStandardHelpOptions = true,
      description = {"Revises a job while it trains (ReviseJob, DESIGN.md §1.5): from step S on, a new budget,",
          "new boundaries, bounds or phi, a hold, or a value set by hand. Answers for steps < S never change;",
          "the rest of the current phase is re-planned from the value at S, so the curve has no jump unless",
          "--set-lr asks for one. Prints the job's revisions after."})
  static final class ReviseJob implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;
    @Mixin ServiceOptions service;

    @Parameters(index = "0", paramLabel = "JOB", description = "The job_id.")
    String jobId;

    @Option(names = "--from-step", required = true, paramLabel = "S",
        description = "The revision takes effect at step S (>= the previous revision's, <= total_steps).")
    long fromStep;

    @Option(names = "--total-steps", paramLabel = "T", description = "New budget T > S.")
    Long totalSteps;

    @Option(names = "--boundaries", split = ",", paramLabel = "B1,B2,...",
        description = "The phase boundaries after S, ending at T; needed when the job has a boundary in (S, T).")
    List<Long> boundaries;

    @Option(names = "--hold", description = "Hold the value at S until the next revision (or the end).")
    boolean hold;

    @Option(names = "--set-lr", paramLabel = "X", description = "The value at S instead of the job's own there.")
    Double setLr;

    @Option(names = "--lr-max", paramLabel = "X", description = "New upper bound.")
    Double lrMax;

    @Option(names = "--lr-min", paramLabel = "Y", description = "New lower bound.")
    Double lrMin;

    @Option(names = "--phi", paramLabel = "P", description = "A fixed phi from S on instead of the policy in force.")
    Double phi;

    @Option(names = "--reason", required = true, paramLabel = "TEXT", description = "Why, for the record (GetJob lists it).")
    String reason;

    @Option(names = "--expected-revision", paramLabel = "N",
        description = "The latest revision you have seen (0 = none); a later one refuses this (FAILED_PRECONDITION).")
    Long expectedRevision;

    @Override
    public Integer call() throws Exception {
      Revision.Builder r = Revision.newBuilder().setFromStep(fromStep).setHold(hold).setReason(reason);
      if (totalSteps != null) {
        r.setTotalSteps(totalSteps);
      }
      if (boundaries != null) {
        r.addAllPhaseBoundaries(boundaries);
      }
      if (setLr != null) {
        r.setSetLr(setLr);
      }
      if (lrMax != null) {
        r.setLrMax(lrMax);
      }
      if (lrMin != null) {
        r.setLrMin(lrMin);
      }
      if (phi != null) {
        r.setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(phi)));
      }
      // the rules (ranges, boundaries, ordering) are the service's: it names the field of a bad value
      try (StepsizeClient client = service.connect()) {
        return JobsCommand.call(spec, service, () -> {
          Job job = client.reviseJob(jobId, r.build(),
              expectedRevision == null ? OptionalLong.empty() : OptionalLong.of(expectedRevision));
          PrintWriter out = spec.commandLine().getOut();
          out.print("job " + job.getSpec().getJobId() + ": total_steps " + job.getTotalSteps() + ", " + job.getPhases()
              + " phase(s) in force\n");
          printRevisions(out, job);
          return 0;
        });
      }
    }
  }

  /**
   * "revisions: none", or one line per revision: number, from_step, author, created, what it changed
   * and the reason.
   */
  static void printRevisions(PrintWriter out, Job job) {
    if (job.getRevisionsCount() == 0) {
      out.print("revisions: none\n");
      return;
    }
    out.print("revisions:\n");
    for (Revision r : job.getRevisionsList()) {
      out.print("  " + r.getNumber() + ": from step " + r.getFromStep() + " by "
          + (r.getAuthor().isEmpty() ? "(no tenant)" : r.getAuthor()) + " at "
          + Instant.ofEpochSecond(r.getCreated().getSeconds(), r.getCreated().getNanos()) + ": " + changes(r)
          + "; reason: " + r.getReason() + "\n");
    }
    out.flush();
  }

  /** What a revision changed, e.g. "total_steps 150, hold"; "re-planned" when it only restarts the phase at its step. */
  static String changes(Revision r) {
    List<String> parts = new java.util.ArrayList<>();
    if (r.hasTotalSteps()) {
      parts.add("total_steps " + r.getTotalSteps());
    }
    if (r.getPhaseBoundariesCount() > 0) {
      parts.add("boundaries " + r.getPhaseBoundariesList().stream().map(String::valueOf).collect(Collectors.joining(",")));
    }
    if (r.hasLrMax()) {
      parts.add("lr_max " + r.getLrMax());
    }
    if (r.hasLrMin()) {
      parts.add("lr_min " + r.getLrMin());
    }
    if (r.getGroupsCount() > 0) {
      parts.add(r.getGroupsCount() + " group range(s)");
    }
    if (r.hasPhiPolicy()) {
      parts.add("policy " + policy(r.getPhiPolicy()));
    }
    if (r.hasSetLr()) {
      parts.add("set_lr " + r.getSetLr());
    }
    if (r.getHold()) {
      parts.add("hold");
    }
    return parts.isEmpty() ? "re-planned" : String.join(", ", parts);
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
