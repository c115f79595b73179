package io.stepsize.bench;

import io.stepsize.client.StepsizeClient;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The HTTP console's costs (issue 15): one JSON rates call for a thinned 1,000,000-step budget (the
 * console's lr chart: 2,000 points, stride 500), and what open job pages cost GetLearningRate. For
 * the second, rounds without pages (A) and with {@code --pages} simulated pages (B) take turns in
 * the order A B B A A B …, while a trainer reports probes throughout; GetLearningRate's p50 is
 * compared between the two. A simulated page does what console.js does: on opening it refreshes
 * (the job, then the thinned rates, the curvature and the gradient statistics at once) and reads the
 * job's event stream; an event schedules one such refresh 300 ms later unless one is already
 * scheduled, and one fetch of the gradient statistics alone 2.5 s later unless one is already
 * scheduled. As in the browser, a refresh that fires does not wait for the previous one to finish.
 */
@Command(name = "console", mixinStandardHelpOptions = true,
    description = "HTTP console: a thinned rates call, and open pages' cost to GetLearningRate's p50 (A/B).")
public final class ConsoleBench implements Callable<Integer> {
  @Option(names = "--pages", defaultValue = "10", description = "open job pages in B rounds (default ${DEFAULT-VALUE})")
  int pages;

  @Option(names = "--callers", defaultValue = "4", description = "GetLearningRate callers (default ${DEFAULT-VALUE})")
  int callers;

  @Option(names = "--rounds", defaultValue = "8",
      description = "rounds, half of them with pages (default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--round-ms", defaultValue = "3000", description = "length of a round (default ${DEFAULT-VALUE})")
  long roundMs;

  @Option(names = "--probes-per-s", defaultValue = "5",
      description = "probes the trainer reports per second, in every round (default ${DEFAULT-VALUE})")
  double probesPerS;

  static final long TOTAL_STEPS = 1_000_000;
  static final int POINTS = 2000;
  /** console.js's delays after an event: the full refresh, and the look at the gradient statistics. */
  static final long REFRESH_DELAY_MS = 300;
  static final long STATS_DELAY_MS = 2500;
  private final HttpClient http = HttpClient.newHttpClient();
  // the page's timers, as the browser's event loop runs them: one thread, work handed to async calls
  private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(r -> {
    Thread t = new Thread(r, "console-page-timers");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong refreshes = new AtomicLong();
  private final AtomicLong statsFetches = new AtomicLong();

  @Override
  public Integer call() throws Exception {
    try (BenchNode node = BenchNode.open(null, null, config -> config.withHttpPort(0));
        StepsizeClient client = StepsizeClient.connect(node.target(), Duration.ofSeconds(30))) {
      String jobId = "bench-console";
      BenchNode.createWithCurvature(client, Workloads.conditionNumberJob(jobId, TOTAL_STEPS), 5);
      String base = "http://127.0.0.1:" + node.httpPort() + "/api/v1/jobs/" + jobId;
      long stride = (TOTAL_STEPS + POINTS - 1) / POINTS;
      String rates = base + "/rates?from_step=0&count=" + POINTS + "&stride=" + stride;

      Histogram ratesCall = GrpcBench.histogram();
      long bytes = 0;
      for (int i = 0; i < 250; i++) {
        long t0 = System.nanoTime();
        bytes = get(rates).length();
        if (i >= 50) { // the first 50 warm the JIT up
          ratesCall.recordValue(System.nanoTime() - t0);
        }
      }

      GrpcBench.LiveProbes probes = new GrpcBench.LiveProbes(node.target(), jobId, 100, probesPerS);
      Histogram a = GrpcBench.histogram();
      Histogram b = GrpcBench.histogram();
      double minRatio = Double.MAX_VALUE;
      double maxRatio = 0;
      ExecutorService pool = Executors.newFixedThreadPool(callers);
      try {
        // warm-up, not recorded: both kinds of round, so the JIT has compiled the HTTP paths too
        for (int w = 0; w < 2; w++) {
          List<Page> open = new ArrayList<>();
          for (int p = 0; p < pages; p++) {
            open.add(new Page(base, rates));
          }
          round(client, jobId, pool);
          open.forEach(Page::close);
          round(client, jobId, pool);
        }
        refreshes.set(0);
        statsFetches.set(0);
        Histogram pairA = null;
        for (int r = 0; r < rounds; r++) {
          // A B B A A B B A …: each kind is as often first as second in a pair
          boolean withPages = (r % 4 == 1) || (r % 4 == 2);
          List<Page> open = new ArrayList<>();
          if (withPages) {
            for (int p = 0; p < pages; p++) {
              open.add(new Page(base, rates));
            }
          }
          Histogram h = round(client, jobId, pool);
          open.forEach(Page::close);
          (withPages ? b : a).add(h);
          System.err.printf(Locale.ROOT, "round %d %s: GetLearningRate p50 %.1f us (%d calls)%n", r,
              withPages ? "B, " + pages + " pages" : "A, no pages", h.getValueAtPercentile(50) / 1e3,
              h.getTotalCount());
          if (pairA == null) {
            pairA = h;
          } else {
            Histogram withP = withPages ? h : pairA;
            Histogram without = withPages ? pairA : h;
            double ratio = (double) withP.getValueAtPercentile(50) / without.getValueAtPercentile(50);
            minRatio = Math.min(minRatio, ratio);
            maxRatio = Math.max(maxRatio, ratio);
            pairA = null;
          }
        }
      } finally {
        pool.shutdownNow();
        timers.shutdownNow();
        probes.stop();
      }
      double ratio = (double) b.getValueAtPercentile(50) / a.getValueAtPercentile(50);
      new BenchLine("console").put("total_steps", TOTAL_STEPS).put("points", POINTS).put("stride", stride)
          .put("rates_bytes", bytes).put("rates_p50_ms", ratesCall.getValueAtPercentile(50) / 1e6)
          .put("rates_p99_ms", ratesCall.getValueAtPercentile(99) / 1e6).put("pages", pages).put("callers", callers)
          .put("rounds", rounds).put("round_ms", roundMs).put("probes_per_s", probesPerS)
          .put("page_refreshes", refreshes.get()).put("page_stats_fetches", statsFetches.get())
          .put("a_calls", a.getTotalCount()).put("b_calls", b.getTotalCount())
          .put("calls_ratio", (double) b.getTotalCount() / a.getTotalCount())
          .put("a_p50_us", a.getValueAtPercentile(50) / 1e3).put("b_p50_us", b.getValueAtPercentile(50) / 1e3)
          .put("ratio_p50", ratio).put("pair_ratio_p50_min", minRatio).put("pair_ratio_p50_max", maxRatio)
          .put("target_met", ratio <= 1.05).print(System.out);
      return 0;
    }
  }

  private Histogram round(StepsizeClient client, String jobId, ExecutorService pool) throws Exception {
    long end = System.nanoTime() + roundMs * 1_000_000;
    List<Future<Histogram>> futures = new ArrayList<>();
    for (int c = 0; c < callers; c++) {
      long first = 1_000 + c * 100_000L;
      futures.add(pool.submit(() -> {
        Histogram h = GrpcBench.histogram();
        long step = first;
        while (System.nanoTime() < end) {
          long t0 = System.nanoTime();
          client.learningRate(jobId, step++);
          h.recordValue(System.nanoTime() - t0);
        }
        return h;
      }));
    }
    Histogram all = GrpcBench.histogram();
    for (Future<Histogram> f : futures) {
      all.add(f.get());
    }
    return all;
  }

  private String get(String url) throws Exception {
    HttpResponse<String> res = http.send(HttpRequest.newBuilder(URI.create(url)).build(),
        HttpResponse.BodyHandlers.ofString());
    if (res.statusCode() != 200) {
      throw new IllegalStateException(url + ": HTTP " + res.statusCode() + " " + res.body());
    }
    return res.body();
  }

  private CompletableFuture<HttpResponse<String>> getAsync(String url) {
    return http.sendAsync(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString())
        .thenApply(res -> {
          if (res.statusCode() != 200) {
            throw new IllegalStateException(url + ": HTTP " + res.statusCode() + " " + res.body());
          }
          return res;
        });
  }

  /** One open job page: console.js's refresh on opening, its event stream, and its timers after events. */
  private final class Page {
    private final String base;
    private final String rates;
    private final AtomicBoolean refreshPending = new AtomicBoolean();
    private final AtomicBoolean statsPending = new AtomicBoolean();
    private volatile boolean closed;
    private final InputStream stream;
    private final Thread reader;

    Page(String base, String rates) throws Exception {
      this.base = base;
      this.rates = rates;
      // showJob: the refresh is awaited before the stream is opened
      refresh().join();
      stream = http.send(HttpRequest.newBuilder(URI.create(base + "/events")).build(),
          HttpResponse.BodyHandlers.ofInputStream()).body();
      reader = new Thread(() -> {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
          for (String line; (line = r.readLine()) != null; ) {
            if (line.startsWith("data: ")) {
              onUpdate();
            }
          }
        } catch (Exception e) {
          // closed with its round
        }
      }, "console-page");
      reader.setDaemon(true);
      reader.start();
    }

    /** console.js's onUpdate: at most one refresh and one stats fetch pending. */
    private void onUpdate() {
      if (refreshPending.compareAndSet(false, true)) {
        timers.schedule(() -> {
          refreshPending.set(false);
          if (!closed) {
            refresh();
          }
        }, REFRESH_DELAY_MS, TimeUnit.MILLISECONDS);
      }
      if (statsPending.compareAndSet(false, true)) {
        timers.schedule(() -> {
          statsPending.set(false);
          if (!closed) {
            getAsync(base + "/stats").thenRun(statsFetches::incrementAndGet);
          }
        }, STATS_DELAY_MS, TimeUnit.MILLISECONDS);
      }
    }

    /** console.js's refreshJob: the job, then its rates, curvature and statistics at once. */
    private CompletableFuture<Void> refresh() {
      return getAsync(base).thenCompose(job -> CompletableFuture.allOf(
          getAsync(rates), getAsync(base + "/curvature"), getAsync(base + "/stats")))
          .thenRun(refreshes::incrementAndGet);
    }

    void close() {
      closed = true;
      try {
        stream.close();
        reader.join(5_000);
      } catch (Exception e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
