import io.stepsize.client.StepsizeClient;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LanczosProbe;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ProbeReport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A smoke check of a running cluster, run by smoke.sh from the shaded jar's classpath: creates a
 * job and reports two probes through a failover client over every replica, waits until each
 * replica shows both estimates, and checks that all replicas give the same learning rates.
 * Usage: java -cp stepsize.jar Smoke.java host:port[,host:port…]
 */
public class Smoke {
  public static void main(String[] args) throws Exception {
    List<String> targets = Arrays.asList(args[0].split(","));
    String jobId = "smoke-" + System.currentTimeMillis();
    JobSpec spec = JobSpec.newBuilder().setJobId(jobId).setTotalSteps(1000).setLrMax(0.3).setLrMin(0.003)
        .setPhiPolicy(PhiPolicy.newBuilder().setConditionNumber(PhiPolicy.ConditionNumber.getDefaultInstance()))
        .build();
    long t0 = System.nanoTime();
    try (StepsizeClient any = StepsizeClient.connect(targets, Duration.ofSeconds(20))) {
      any.createJob(spec);
      // a probe that reaches the estimator before its job's record is dead-lettered as an unknown
      // job (see docs/OPERATIONS.md, failure modes): trainers create the job before they probe
      Thread.sleep(2000);
      for (long step : new long[] {10, 20}) {
        ProbeReport probe = ProbeReport.newBuilder().setJobId(jobId).setStep(step).setWorkerId("smoke")
            .setLanczos(LanczosProbe.newBuilder().addAlpha(40.0 + step).addAlpha(1.0).addBeta(0.0).addBeta(0.0))
            .build();
        any.reportProbes(List.of(probe));
      }
    }
    List<LearningRates> answers = new ArrayList<>();
    for (String target : targets) {
      try (StepsizeClient one = StepsizeClient.connect(target, Duration.ofSeconds(20))) {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (one.curvature(jobId).getProbes() < 2) {
          if (System.nanoTime() > deadline) {
            throw new IllegalStateException(target + ": the estimates did not arrive within 60 s");
          }
          Thread.sleep(100);
        }
        LearningRates rates = one.learningRates(jobId, 0, 1000);
        System.out.printf("%s: job %s, lr(21) = %s (phi %s, kappa %s, %s)%n", target, jobId, rates.getRates(21).getLr(),
            rates.getRates(21).getPhi(), rates.getRates(21).getKappa(), rates.getRates(21).getSource());
        answers.add(rates);
      }
    }
    for (LearningRates a : answers) {
      if (!a.equals(answers.get(0))) {
        throw new IllegalStateException("replicas disagree on the learning rates of " + jobId);
      }
    }
    System.out.printf("OK: %d replica(s) agree on all 1000 learning rates of %s (%d ms)%n", answers.size(), jobId,
        (System.nanoTime() - t0) / 1_000_000);
  }
}
