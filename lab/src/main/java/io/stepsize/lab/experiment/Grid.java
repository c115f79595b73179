package io.stepsize.lab.experiment;

import io.stepsize.client.StepsizeClient;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The grid: workloads × optimizers × budgets × seeds × arms, run on {@code threads} threads (a
 * run waiting for its estimate leaves the core to another). Job ids carry {@code tag}, so a grid
 * never reads the curvature of an earlier grid's job on the same service.
 */
public final class Grid {
  public record Config(List<Workload> workloads, List<OptimizerKind> optimizers, List<Integer> budgetPercents,
      int seeds, List<Arm> arms, int lanczosSteps, int probesPerRun, int threads, String tag) {
    public Config {
      if (workloads.isEmpty() || optimizers.isEmpty() || budgetPercents.isEmpty() || arms.isEmpty()) {
        throw new IllegalArgumentException("the grid needs at least one workload, optimizer, budget and arm");
      }
      for (int b : budgetPercents) {
        if (b < 1 || b > 100) {
          throw new IllegalArgumentException("budgets are percents in [1, 100], got " + b);
        }
      }
      if (seeds < 1 || lanczosSteps < 1 || probesPerRun < 1 || threads < 1) {
        throw new IllegalArgumentException("seeds, lanczos steps, probes per run and threads must be >= 1");
      }
    }
  }

  private Grid() {}

  /** Every cell, in table order. */
  public static List<Run.Spec> specs(Config c) {
    List<Run.Spec> specs = new ArrayList<>();
    for (Workload w : c.workloads()) {
      for (OptimizerKind o : c.optimizers()) {
        for (int pct : c.budgetPercents()) {
          long total = Math.max(4, Math.round(w.maxSteps() * pct / 100.0));
          long warmup = RunExecutor.warmup(total);
          for (Arm arm : c.arms()) {
            for (long seed = 0; seed < c.seeds(); seed++) {
              String job = arm.isBaseline() ? "" : "exp-" + c.tag() + "-" + w.name() + "-" + o.label() + "-b" + pct
                  + "-s" + seed + "-" + arm.label().replace(':', '_').replace('=', '_');
              specs.add(new Run.Spec(specs.size(), w, o, pct, total, warmup, seed, arm, job));
            }
          }
        }
      }
    }
    return specs;
  }

  /** Runs every cell; progress lines go to {@code progress}. A failed run fails the grid. */
  public static List<Run.Result> run(Config c, StepsizeClient client, PrintWriter progress)
      throws InterruptedException {
    List<Run.Spec> specs = specs(c);
    RunExecutor executor = new RunExecutor(client, c.lanczosSteps(), c.probesPerRun());
    ExecutorService pool = Executors.newFixedThreadPool(c.threads(), r -> {
      Thread t = new Thread(r, "experiment-run");
      t.setDaemon(true);
      return t;
    });
    AtomicInteger done = new AtomicInteger();
    long start = System.nanoTime();
    try {
      List<Future<Run.Result>> futures = new ArrayList<>();
      for (Run.Spec spec : specs) {
        futures.add(pool.submit(() -> {
          Run.Result r = executor.run(spec);
          int d = done.incrementAndGet();
          long elapsed = (System.nanoTime() - start) / 1_000_000_000L;
          synchronized (progress) {
            progress.printf("[%d/%d %ds] %-60s test acc %.4f  train loss %.4f%s%n", d, specs.size(), elapsed,
                spec.describe(), r.testAccuracy(), r.trainLoss(), r.diverged() ? "  DIVERGED" : "");
          }
          return r;
        }));
      }
      List<Run.Result> results = new ArrayList<>(specs.size());
      for (Future<Run.Result> f : futures) {
        try {
          results.add(f.get());
        } catch (ExecutionException e) {
          Throwable cause = e.getCause();
          if (cause instanceof RuntimeException re) {
            throw re;
          }
          throw new IllegalStateException(cause);
        }
      }
      return results;
    } finally {
      pool.shutdownNow();
    }
  }
}
