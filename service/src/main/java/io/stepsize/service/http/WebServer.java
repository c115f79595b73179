package io.stepsize.service.http;

import com.google.gson.JsonPrimitive;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.staticfiles.Location;
import io.stepsize.proto.v1.ReviseJobRequest;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.service.metrics.StepsizeMetrics;
import io.stepsize.service.core.ApiException;
import io.stepsize.service.core.Intake;
import io.stepsize.service.core.Queries;
import io.stepsize.service.security.AuthInterceptor;
import io.stepsize.service.security.Caller;
import io.stepsize.service.security.Tenants;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The console, the JSON API and /metrics on one port (DESIGN.md §5.2). Every /api path takes the
 * caller from its {@code Authorization: Bearer} header when tokens are configured (the same rule
 * as gRPC's {@link AuthInterceptor}); the static files and /metrics need none.
 */
public final class WebServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WebServer.class);
  private static final String CALLER = "stepsize.caller";
  private static final String JOB = "/api/v1/jobs/{job_id}";
  /** Event streams open at once: each holds a thread, so a page left open many times cannot take them all. */
  static final int MAX_EVENT_STREAMS = 64;
  /** An idle stream gets a comment this often, so proxies and Jetty's idle timeout keep it open. */
  private static final long HEARTBEAT_MILLIS = 10_000;

  private final Queries queries;
  private final Intake intake;
  private final Tenants tenants;
  private final StepsizeMetrics metrics;
  // proto3 JSON leaves fields at their defaults out: a 2,000-point window is about half the bytes
  private final JsonFormat.Printer printer = JsonFormat.printer().omittingInsignificantWhitespace();
  private final Semaphore streams = new Semaphore(MAX_EVENT_STREAMS);
  private final Javalin app;
  private volatile boolean closing;

  /**
   * @param tenants null when the service runs without tokens (every caller is anonymous)
   */
  private WebServer(Queries queries, Intake intake, Tenants tenants, StepsizeMetrics metrics) {
    this.queries = queries;
    this.intake = intake;
    this.tenants = tenants;
    this.metrics = metrics;
    this.app = Javalin.create(cfg -> {
      cfg.startup.showJavalinBanner = false;
      cfg.staticFiles.add("/web", Location.CLASSPATH);
      cfg.staticFiles.enableWebjars();
      cfg.routes.before("/api/*", this::authenticate);
      cfg.routes.get("/api/v1/jobs", this::listJobs);
      cfg.routes.get(JOB, ctx -> json(ctx, queries.job(caller(ctx), ctx.pathParam("job_id"))));
      cfg.routes.get(JOB + "/rates", this::rates);
      cfg.routes.get(JOB + "/curvature", ctx -> json(ctx, queries.curvature(caller(ctx), ctx.pathParam("job_id"))));
      cfg.routes.get(JOB + "/stats", ctx -> json(ctx, queries.gradientStats(caller(ctx), ctx.pathParam("job_id"))));
      cfg.routes.get(JOB + "/events", this::events);
      cfg.routes.post(JOB + "/revisions", this::revise);
      cfg.routes.get("/metrics", this::metrics);
      cfg.routes.exception(ApiException.class, (e, ctx) -> error(ctx, HttpErrors.status(e.kind()), e.kind().name(),
          e.getMessage()));
      cfg.routes.exception(AuthInterceptor.Refused.class, (e, ctx) -> error(ctx, 401, HttpErrors.UNAUTHENTICATED,
          e.getMessage()));
      cfg.routes.exception(Exception.class, (e, ctx) -> {
        log.error("internal error on {} {}", ctx.method(), ctx.path(), e);
        error(ctx, 500, "INTERNAL", "internal error; see the service's log");
      });
    });
  }

  /** Starts listening on {@code address}:{@code port} (0 = any free port). */
  public static WebServer start(String address, int port, Queries queries, Intake intake, Tenants tenants,
      StepsizeMetrics metrics) {
    WebServer server = new WebServer(queries, intake, tenants, metrics);
    server.app.start(address, port);
    return server;
  }

  public int port() {
    return app.port();
  }

  private void authenticate(Context ctx) {
    ctx.attribute(CALLER, tenants == null ? Caller.ANONYMOUS : AuthInterceptor.authenticate(tenants,
        ctx.header("Authorization")));
  }

  private static Caller caller(Context ctx) {
    return ctx.attribute(CALLER);
  }

  /** ListJobsResponse, plus the caller's tenant ("" without tokens) for the console's heading. */
  private void listJobs(Context ctx) throws IOException {
    var page = queries.listJobs(caller(ctx), param(ctx, "page_size", 0L),
        ctx.queryParam("page_token") == null ? "" : ctx.queryParam("page_token"));
    // the tenant spliced in front of the printed message: no second parse and print of the page
    String body = printer.print(page);
    String tenant = "\"tenant\":" + new JsonPrimitive(caller(ctx).tenant());
    ctx.contentType("application/json").result("{" + tenant + (body.equals("{}") ? "}" : "," + body.substring(1)));
  }

  /** A window of rates under a permit, like GetLearningRates; stride thins a long budget. */
  private void rates(Context ctx) throws IOException {
    long fromStep = param(ctx, "from_step", 0L);
    long count = param(ctx, "count", null);
    long stride = param(ctx, "stride", 1L);
    Runnable release = queries.enterWindow();
    try {
      json(ctx, queries.learningRates(caller(ctx), ctx.pathParam("job_id"), fromStep, count, stride));
    } finally {
      release.run();
    }
  }

  /**
   * Server-Sent Events, one {@code update} event per ScheduleUpdate of Queries.watch (the current
   * state first, then each estimate and revision), until the client goes away. An unknown job is
   * a 404 before the stream opens.
   */
  private void events(Context ctx) {
    if (!streams.tryAcquire()) {
      throw ApiException.resourceExhausted("events: this replica is serving its limit of " + MAX_EVENT_STREAMS
          + " event streams at once; retry later");
    }
    try {
      // the newest updates matter: a reader that falls this far behind loses the oldest
      BlockingQueue<ScheduleUpdate> queue = new ArrayBlockingQueue<>(256);
      Runnable unwatch = queries.watch(caller(ctx), ctx.pathParam("job_id"), update -> {
        while (!queue.offer(update)) {
          queue.poll();
        }
      });
      try {
        stream(ctx.res(), queue);
      } finally {
        unwatch.run();
      }
    } finally {
      streams.release();
    }
  }

  private void stream(HttpServletResponse res, BlockingQueue<ScheduleUpdate> queue) {
    res.setStatus(200);
    res.setContentType("text/event-stream");
    res.setCharacterEncoding("UTF-8");
    res.setHeader("Cache-Control", "no-cache");
    try {
      OutputStream out = res.getOutputStream();
      out.write(": stepsize events\n\n".getBytes(StandardCharsets.UTF_8));
      out.flush();
      long idleSince = System.currentTimeMillis();
      while (!closing) {
        ScheduleUpdate update = queue.poll(1, TimeUnit.SECONDS);
        if (update != null) {
          out.write(("event: update\ndata: " + printer.print(update) + "\n\n").getBytes(StandardCharsets.UTF_8));
          out.flush();
          idleSince = System.currentTimeMillis();
        } else if (System.currentTimeMillis() - idleSince >= HEARTBEAT_MILLIS) {
          // also how a closed connection is noticed on an idle job
          out.write(": keep-alive\n\n".getBytes(StandardCharsets.UTF_8));
          out.flush();
          idleSince = System.currentTimeMillis();
        }
      }
    } catch (IOException e) {
      log.debug("event stream closed by the client ({})", e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** ReviseJob: the body is a ReviseJobRequest in proto3 JSON; its job_id, if any, must be the path's. */
  private void revise(Context ctx) throws IOException {
    String jobId = ctx.pathParam("job_id");
    ReviseJobRequest.Builder b = ReviseJobRequest.newBuilder();
    try {
      JsonFormat.parser().merge(ctx.body(), b);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw ApiException.invalid("body: not a ReviseJobRequest in the proto3 JSON mapping (" + e.getMessage() + ")");
    }
    if (!b.getJobId().isEmpty() && !b.getJobId().equals(jobId)) {
      throw ApiException.invalid("job_id: the body's '" + b.getJobId() + "' is not the path's '" + jobId + "'");
    }
    json(ctx, intake.reviseJob(caller(ctx), jobId, b.getRevision(),
        b.hasExpectedRevision() ? OptionalLong.of(b.getExpectedRevision()) : OptionalLong.empty()));
  }

  private void metrics(Context ctx) throws IOException {
    var bytes = new java.io.ByteArrayOutputStream();
    String type = metrics.scrape(ctx.header("Accept"), bytes);
    ctx.contentType(type).result(bytes.toByteArray());
  }

  private void json(Context ctx, MessageOrBuilder message) throws IOException {
    ctx.contentType("application/json").result(printer.print(message));
  }

  private static void error(Context ctx, int status, String code, String message) {
    ctx.status(status).contentType("application/json").result(HttpErrors.body(code, message));
  }

  /**
   * A query parameter that must be an integer; {@code fallback} when absent (null: required). Its
   * range is the core's rule (count, stride, from_step, page_size), checked there once for gRPC and HTTP.
   */
  static long param(Context ctx, String name, Long fallback) {
    String v = ctx.queryParam(name);
    if (v == null || v.isEmpty()) {
      if (fallback == null) {
        throw ApiException.invalid(name + ": required");
      }
      return fallback;
    }
    try {
      return Long.parseLong(v.trim());
    } catch (NumberFormatException e) {
      String shown = v.length() > 40 ? v.substring(0, 40) + "…" : v;
      throw ApiException.invalid(name + ": must be an integer (got '" + shown + "')");
    }
  }

  @Override
  public void close() {
    closing = true;
    app.stop();
  }
}
