package io.stepsize.client;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.Operator;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.WatchScheduleRequest;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobPlan;
import io.stepsize.wire.JobSpecs;
import io.stepsize.wire.LearningRateProtos;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job's learning rates as the trainer sees them: windows prefetched with GetLearningRates, cut short
 * by WatchSchedule when a new estimate or a revision arrives (from the step it applies from), and the
 * local formula with the last known curvature and revisions when the service cannot answer within the
 * deadline. After the watch reconnects, what was missed meanwhile (estimates, revisions) cuts the
 * windows the same way. A step never waits longer than one deadline,
 * and after a failure the service is left alone for {@code retryAfter} so later steps do not wait at all.
 */
public final class RemoteSchedule implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RemoteSchedule.class);

  /** Window length in steps, and how long to compute locally after the service failed. */
  public record Options(int window, Duration retryAfter) {
    public static Options defaults() {
      return new Options(1_000, Duration.ofSeconds(2));
    }
  }

  /** Rates for [from, end); a watch update may lower end, never raise it. */
  private record Window(long from, long end, LearningRate[] rates, long generation) {
    boolean covers(long step) {
      return step >= from && step < end;
    }

    Window cutAt(long step) {
      return step >= end ? this : new Window(from, Math.max(from, step), rates, generation);
    }
  }

  private final StepsizeClient client;
  private final String jobId;
  private final JobSpec spec;
  /** The job's spec and the revisions this schedule knows (GetJob), for the local formula. */
  private volatile JobPlan plan;
  private final Options options;
  private final ScheduledExecutorService timer;
  private final AtomicLong generation = new AtomicLong();
  private final AtomicLong remoteAnswers = new AtomicLong();
  private final AtomicLong localAnswers = new AtomicLong();
  /**
   * The window being prefetched (null when none): from its first step, under the generation it was
   * asked in. Only the trainer's thread starts one; at most one is in flight.
   */
  private record Prefetch(long from, com.google.common.util.concurrent.ListenableFuture<LearningRates> future,
      long generation) {}

  private volatile Prefetch inflight;
  private volatile Window current;
  private volatile Window next;
  private volatile CurvatureTimeline timeline = CurvatureTimeline.EMPTY;
  private final Object estimateArrived = new Object();
  private volatile long offlineUntilNanos;
  private volatile boolean closed;
  private volatile ClientCallStreamObserver<WatchScheduleRequest> watchCall;

  private RemoteSchedule(StepsizeClient client, JobSpec spec, Options options) {
    this.client = client;
    this.jobId = spec.getJobId();
    this.spec = spec.toBuilder().clearRevisions().build();
    this.plan = JobSpecs.toPlan(spec);
    this.options = options;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "stepsize-watch-" + jobId);
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Follows the job of {@code spec}. The trainer knows its spec, so this works even when the service
   * is down at start: the first steps then come from the local formula with fallback_phi.
   */
  public static RemoteSchedule open(StepsizeClient client, JobSpec spec, Options options) {
    RemoteSchedule s = new RemoteSchedule(client, spec, options);
    s.loadTimeline();
    s.loadRevisions();
    s.subscribe();
    return s;
  }

  /** Follows an existing job; the service must answer GetJob once. */
  public static RemoteSchedule open(StepsizeClient client, String jobId, Options options) {
    return open(client, client.getJob(jobId).getSpec(), options);
  }

  public double lr(long step) {
    return value(step).getLr();
  }

  /** The full answer for a step: the service's when it can give it in time, else the local formula's. */
  public LearningRate value(long step) {
    // An estimate arriving while we read would make the answer stale from its step on; the watch
    // cuts the windows before it bumps the generation, so a changed generation means "read again".
    for (int attempt = 0; ; attempt++) {
      long gen = generation.get();
      Window w = current;
      if (w != null && w.covers(step)) {
        LearningRate r = w.rates()[(int) (step - w.from())];
        if (generation.get() != gen && attempt < 3) {
          continue;
        }
        maybePrefetch(w, step);
        remoteAnswers.incrementAndGet();
        return r;
      }
      Window n = next;
      if (n != null && n.covers(step)) {
        if (generation.get() != gen && attempt < 3) {
          continue;
        }
        current = n;
        next = null;
        remoteAnswers.incrementAndGet();
        return n.rates()[(int) (step - n.from())];
      }
      if (System.nanoTime() - offlineUntilNanos < 0) {
        return local(step);
      }
      Prefetch p = inflight;
      if (p != null && p.generation() == gen && step >= p.from() && step < p.from() + options.window()) {
        // the trainer outran the prefetch: wait for it (within the deadline) rather than ask twice
        try {
          Window fresh = window(p.future().get(client.deadline().toNanos(), TimeUnit.NANOSECONDS), gen);
          if (fresh.covers(step)) {
            if (generation.get() != gen && attempt < 3) {
              continue;
            }
            current = fresh;
            next = null;
            remoteAnswers.incrementAndGet();
            return fresh.rates()[(int) (step - fresh.from())];
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return local(step);
        } catch (ExecutionException | TimeoutException e) {
          Status status = Status.fromThrowable(e);
          if (e instanceof TimeoutException || transientFailure(status)) {
            goOffline(e instanceof TimeoutException ? Status.Code.DEADLINE_EXCEEDED : status.getCode());
            return local(step);
          }
        }
      }
      try {
        LearningRates rates = client.learningRates(jobId, step, options.window());
        Window fresh = window(rates, gen);
        if (generation.get() != gen) {
          if (attempt < 3) {
            continue; // fetched across an estimate: the service may have answered from before it
          }
        } else {
          current = fresh;
          next = null;
        }
        remoteAnswers.incrementAndGet();
        return fresh.rates()[0];
      } catch (StatusRuntimeException e) {
        if (!transientFailure(e.getStatus())) {
          throw e;
        }
        goOffline(e.getStatus().getCode());
        return local(step);
      }
    }
  }

  private void goOffline(Status.Code code) {
    offlineUntilNanos = System.nanoTime() + options.retryAfter().toNanos();
    log.warn("Stepsize service unavailable for job {} ({}): local formula with the last known curvature "
        + "for {} ms", jobId, code, options.retryAfter().toMillis());
  }

  /**
   * Waits until this schedule knows an estimate from a probe at {@code probeStep} or later, for
   * trainers that want every estimate in force exactly from the step its rule says (reproducible
   * runs). Returns false when none arrived within {@code timeout}.
   */
  public boolean awaitEstimate(long probeStep, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    synchronized (estimateArrived) {
      while (true) {
        var latest = timeline.latest();
        if (latest != null && latest.step() >= probeStep) {
          return true;
        }
        long left = end - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(estimateArrived, left);
      }
    }
  }

  /** Steps answered by the service's windows and by the local formula, for monitoring. */
  public long remoteAnswers() {
    return remoteAnswers.get();
  }

  public long localAnswers() {
    return localAnswers.get();
  }

  public CurvatureTimeline timeline() {
    return timeline;
  }

  /** The revisions this schedule knows, revision n at index n - 1. */
  public int revisions() {
    return plan.revisions().size();
  }

  private LearningRate local(long step) {
    localAnswers.incrementAndGet();
    return LearningRateProtos.learningRate(jobId, plan.evaluate(step, timeline));
  }

  private void maybePrefetch(Window w, long step) {
    long total = plan.budget().totalSteps();
    if (w.end() >= total || next != null || step < w.from() + (w.end() - w.from()) * 3 / 4
        || System.nanoTime() - offlineUntilNanos < 0 || inflight != null) {
      return;
    }
    long gen = generation.get();
    var future = client.futureStub().getLearningRates(GetLearningRatesRequest.newBuilder().setJobId(jobId)
        .setFromStep(w.end()).setCount(options.window()).build());
    Prefetch p = new Prefetch(w.end(), future, gen);
    inflight = p;
    Futures.addCallback(future, new FutureCallback<>() {
      @Override
      public void onSuccess(LearningRates rates) {
        if (generation.get() == gen && current == w) {
          next = window(rates, gen);
        }
        done();
      }

      @Override
      public void onFailure(Throwable t) {
        // a service that failed the prefetch is left alone like one that failed a step, or every
        // later step of this window would start another prefetch against it
        Status status = Status.fromThrowable(t);
        if (transientFailure(status)) {
          goOffline(status.getCode());
        }
        done();
      }

      private void done() {
        if (inflight == p) {
          inflight = null;
        }
      }
    }, MoreExecutors.directExecutor());
  }

  private static Window window(LearningRates rates, long gen) {
    LearningRate[] array = rates.getRatesList().toArray(new LearningRate[0]);
    long from = array.length == 0 ? 0 : array[0].getStep();
    return new Window(from, from + array.length, array, gen);
  }

  private static boolean transientFailure(Status status) {
    return switch (status.getCode()) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNKNOWN, CANCELLED -> true;
      default -> false;
    };
  }

  /**
   * Reads the whole timeline (at the start, and again when the watch reconnects: estimates may
   * have arrived while it was down). Windows fetched before the first estimate this schedule did
   * not know are cut at the step it applies from, as {@link #apply} does for a pushed estimate:
   * the watch that opens next says nothing new, so this is the only place to do it.
   */
  private void loadTimeline() {
    try {
      CurvatureTimeline loaded = JobSpecs.timeline(client.curvature(jobId));
      var known = timeline.latest();
      for (var p : loaded.points()) {
        if (known == null || p.step() > known.step() || (p.step() == known.step() && p.probes() != known.probes())) {
          cutWindowsAt(Math.max(0, p.appliesFromStep()));
          break;
        }
      }
      synchronized (estimateArrived) {
        timeline = loaded;
        estimateArrived.notifyAll();
      }
    } catch (StatusRuntimeException e) {
      log.warn("no curvature for job {} yet ({}); starting from fallback_phi", jobId, e.getStatus().getCode());
    }
  }

  private void subscribe() {
    if (closed) {
      return;
    }
    client.watch(jobId, new ClientResponseObserver<WatchScheduleRequest, ScheduleUpdate>() {
      @Override
      public void beforeStart(ClientCallStreamObserver<WatchScheduleRequest> call) {
        watchCall = call;
      }

      @Override
      public void onNext(ScheduleUpdate update) {
        apply(update);
      }

      @Override
      public void onError(Throwable t) {
        resubscribeLater();
      }

      @Override
      public void onCompleted() {
        resubscribeLater();
      }
    });
  }

  private void resubscribeLater() {
    if (!closed) {
      timer.schedule(() -> {
        loadTimeline();
        loadRevisions();
        subscribe();
      }, options.retryAfter().toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Reads the job's revisions (at the start, on a pushed revision, and when the watch reconnects: some
   * may have been made while it was down). Windows are cut at the earliest from_step among the
   * revisions this schedule did not know, before the plan that includes them is published.
   */
  private void loadRevisions() {
    try {
      Job job = client.getJob(jobId);
      int known = plan.revisions().size();
      if (job.getRevisionsCount() <= known) {
        return;
      }
      long from = Long.MAX_VALUE;
      for (int i = known; i < job.getRevisionsCount(); i++) {
        from = Math.min(from, job.getRevisions(i).getFromStep());
      }
      JobPlan revised = JobSpecs.toPlan(spec.toBuilder().addAllRevisions(job.getRevisionsList()).build());
      cutWindowsAt(from);
      plan = revised;
    } catch (StatusRuntimeException e) {
      log.warn("could not read the revisions of job {} ({}); the local formula uses the {} it knows", jobId,
          e.getStatus().getCode(), plan.revisions().size());
    } catch (IllegalArgumentException e) {
      log.warn("job {}: revisions this client cannot read ({}); the local formula uses the {} it knows", jobId,
          e.getMessage(), plan.revisions().size());
    }
  }

  private void apply(ScheduleUpdate update) {
    if (update.getRevision() > plan.revisions().size()) {
      // a revision: nothing prefetched from its step on holds; read it for the local formula
      cutWindowsAt(update.getFromStep());
      loadRevisions();
    }
    if (!update.hasCurvature() || update.getCurvature().getProbes() == 0) {
      return; // no estimate yet: the rates are the fallback ones the windows already hold
    }
    Curvature c = update.getCurvature();
    var latest = timeline.latest();
    if (latest != null && latest.step() == c.getStep() && latest.probes() == c.getProbes()
        && latest.appliesFromStep() == c.getAppliesFromStep()) {
      return; // the estimate we already have (the watch opens with the current state)
    }
    cutWindowsAt(update.getFromStep());
    synchronized (estimateArrived) {
      timeline = timeline.with(new io.stepsize.schedule.CurvaturePoint(c.getStep(), c.getAppliesFromStep(),
          (int) c.getPhase(), c.getLambdaMin(), c.getLambdaLow(), c.getLambdaMax(), c.getKappa(),
          c.getLambdaMaxBound(), c.getProbes(), c.getOperator() == Operator.OPERATOR_PRECONDITIONED));
      estimateArrived.notifyAll();
    }
  }

  /**
   * Windows fetched before an estimate are stale from the step it applies to: cut them first,
   * then bump the generation (readers re-read on a change); the caller then publishes the timeline.
   */
  private void cutWindowsAt(long from) {
    Window w = current;
    if (w != null) {
      current = w.cutAt(from);
    }
    Window n = next;
    if (n != null) {
      next = n.cutAt(from);
    }
    generation.incrementAndGet();
  }

  @Override
  public void close() {
    closed = true;
    timer.shutdownNow();
    ClientCallStreamObserver<WatchScheduleRequest> call = watchCall;
    if (call != null) {
      call.cancel("schedule closed", null);
    }
  }
}
