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
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.WatchScheduleRequest;
import io.stepsize.schedule.CurvatureTimeline;
import io.stepsize.schedule.JobSchedule;
import io.stepsize.spec.JobSpecs;
import io.stepsize.spec.LearningRateProtos;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A job's learning rates as the trainer sees them: windows prefetched with GetLearningRates, cut short
 * by WatchSchedule when a new estimate arrives, and the local formula with the last known curvature
 * when the service cannot answer within the deadline. A step never waits longer than one deadline,
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
  private final JobSchedule schedule;
  private final Options options;
  private final ScheduledExecutorService timer;
  private final AtomicLong generation = new AtomicLong();
  private final AtomicBoolean prefetching = new AtomicBoolean();
  private final AtomicLong remoteAnswers = new AtomicLong();
  private final AtomicLong localAnswers = new AtomicLong();
  private volatile Window current;
  private volatile Window next;
  private volatile CurvatureTimeline timeline = CurvatureTimeline.EMPTY;
  private volatile long offlineUntilNanos;
  private volatile boolean closed;
  private volatile ClientCallStreamObserver<WatchScheduleRequest> watchCall;

  private RemoteSchedule(StepsizeClient client, JobSpec spec, Options options) {
    this.client = client;
    this.jobId = spec.getJobId();
    this.schedule = JobSpecs.toSchedule(spec);
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
    Window w = current;
    if (w != null && w.covers(step)) {
      maybePrefetch(w, step);
      remoteAnswers.incrementAndGet();
      return w.rates()[(int) (step - w.from())];
    }
    Window n = next;
    if (n != null && n.covers(step)) {
      current = n;
      next = null;
      remoteAnswers.incrementAndGet();
      return n.rates()[(int) (step - n.from())];
    }
    if (System.nanoTime() - offlineUntilNanos < 0) {
      return local(step);
    }
    long gen = generation.get();
    try {
      LearningRates rates = client.learningRates(jobId, step, options.window());
      Window fresh = window(rates, gen);
      if (generation.get() == gen) {
        current = fresh;
        next = null;
      }
      remoteAnswers.incrementAndGet();
      return fresh.rates()[0];
    } catch (StatusRuntimeException e) {
      if (!transientFailure(e.getStatus())) {
        throw e;
      }
      offlineUntilNanos = System.nanoTime() + options.retryAfter().toNanos();
      log.warn("Stepsize service unavailable for job {} ({}): local formula with the last known curvature "
          + "for {} ms", jobId, e.getStatus().getCode(), options.retryAfter().toMillis());
      return local(step);
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

  private LearningRate local(long step) {
    localAnswers.incrementAndGet();
    return LearningRateProtos.learningRate(jobId, io.stepsize.schedule.LearningRates.evaluate(schedule, step, timeline));
  }

  private void maybePrefetch(Window w, long step) {
    long total = schedule.budget().totalSteps();
    if (w.end() >= total || next != null || step < w.from() + (w.end() - w.from()) * 3 / 4
        || System.nanoTime() - offlineUntilNanos < 0 || !prefetching.compareAndSet(false, true)) {
      return;
    }
    long gen = generation.get();
    var future = client.futureStub().getLearningRates(GetLearningRatesRequest.newBuilder().setJobId(jobId)
        .setFromStep(w.end()).setCount(options.window()).build());
    Futures.addCallback(future, new FutureCallback<>() {
      @Override
      public void onSuccess(LearningRates rates) {
        if (generation.get() == gen && current == w) {
          next = window(rates, gen);
        }
        prefetching.set(false);
      }

      @Override
      public void onFailure(Throwable t) {
        prefetching.set(false);
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

  private void loadTimeline() {
    try {
      Curvature c = client.curvature(jobId);
      timeline = JobSpecs.timeline(c);
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
        subscribe();
      }, options.retryAfter().toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void apply(ScheduleUpdate update) {
    if (update.hasCurvature() && update.getCurvature().getProbes() > 0) {
      Curvature c = update.getCurvature();
      timeline = timeline.with(new io.stepsize.schedule.CurvaturePoint(c.getStep(), c.getAppliesFromStep(),
          (int) c.getPhase(), c.getLambdaMin(), c.getLambdaLow(), c.getLambdaMax(), c.getKappa(),
          c.getLambdaMaxBound(), c.getProbes()));
    }
    // windows fetched before this estimate are stale from the step it applies to
    generation.incrementAndGet();
    long from = update.getFromStep();
    Window w = current;
    if (w != null) {
      current = w.cutAt(from);
    }
    Window n = next;
    if (n != null) {
      next = n.cutAt(from);
    }
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
