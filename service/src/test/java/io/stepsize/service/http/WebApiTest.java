package io.stepsize.service.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import io.grpc.StatusRuntimeException;
import io.stepsize.proto.v1.Curvature;
import io.stepsize.proto.v1.GradientStatsTimeline;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.LearningRates;
import io.stepsize.proto.v1.ListJobsResponse;
import io.stepsize.proto.v1.Revision;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.service.core.ApiException;
import io.stepsize.service.security.Caller;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every route of DESIGN.md §5.2 over real HTTP against a real embedded node with two tenants: the
 * JSON equals what Queries answers (parsed back with JsonFormat), and every refusal has its exact
 * HTTP code, gRPC code name and message.
 */
class WebApiTest {
  @TempDir static Path dir;
  static WebNode web;
  static final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  static final Caller ALICE = new Caller("alice");

  @BeforeAll
  static void start() throws Exception {
    web = new WebNode(dir);
    web.alice.createJob(WebNode.job("web-a", 1000));
  }

  @AfterAll
  static void stop() {
    web.close();
  }

  static HttpResponse<String> get(String path, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(web.url(path))).timeout(Duration.ofSeconds(10));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static HttpResponse<String> post(String path, String token, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(web.url(path))).timeout(Duration.ofSeconds(10))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  static <T extends Message> T parse(HttpResponse<String> res, Message.Builder b) throws Exception {
    assertThat(res.statusCode()).as(res.body()).isEqualTo(200);
    assertThat(res.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
    JsonFormat.parser().ignoringUnknownFields().merge(res.body(), b);
    @SuppressWarnings("unchecked")
    T m = (T) b.build();
    return m;
  }

  static void assertError(HttpResponse<String> res, int status, String code, String message) {
    assertThat(res.statusCode()).as(res.body()).isEqualTo(status);
    JsonObject o = JsonParser.parseString(res.body()).getAsJsonObject();
    assertThat(o.get("code").getAsString()).isEqualTo(code);
    assertThat(o.get("message").getAsString()).isEqualTo(message);
  }

  @Test
  void jobsAndJobAreQueriesAnswersForTheCallerOnly() throws Exception {
    ListJobsResponse mine = parse(get("/api/v1/jobs", WebNode.ALICE), ListJobsResponse.newBuilder());
    assertThat(mine).isEqualTo(web.node.queries().listJobs(ALICE, 0, ""));
    assertThat(mine.getJobsList()).extracting(j -> j.getSpec().getJobId()).contains("web-a");
    assertThat(JsonParser.parseString(get("/api/v1/jobs", WebNode.ALICE).body()).getAsJsonObject()
        .get("tenant").getAsString()).isEqualTo("alice");
    ListJobsResponse bobs = parse(get("/api/v1/jobs", WebNode.BOB), ListJobsResponse.newBuilder());
    assertThat(bobs.getJobsList()).extracting(j -> j.getSpec().getJobId()).doesNotContain("web-a");
    Job job = parse(get("/api/v1/jobs/web-a", WebNode.ALICE), Job.newBuilder());
    assertThat(job).isEqualTo(web.alice.getJob("web-a"));
  }

  @Test
  void ratesAreThinnedByStrideAndEachIsGetLearningRatesAnswer() throws Exception {
    LearningRates thinned = parse(get("/api/v1/jobs/web-a/rates?from_step=3&count=2000&stride=7", WebNode.ALICE),
        LearningRates.newBuilder());
    // steps 3, 10, …, 997: ceil((1000 - 3) / 7) = 143 of them, however large the count
    assertThat(thinned.getRatesCount()).isEqualTo(143);
    for (int i = 0; i < thinned.getRatesCount(); i++) {
      LearningRate r = thinned.getRates(i);
      assertThat(r.getStep()).isEqualTo(3 + 7L * i);
      assertThat(r).isEqualTo(web.alice.learningRate("web-a", 3 + 7L * i));
    }
    LearningRates window = parse(get("/api/v1/jobs/web-a/rates?from_step=990&count=50", WebNode.ALICE),
        LearningRates.newBuilder());
    assertThat(window).isEqualTo(web.alice.learningRates("web-a", 990, 50));
    assertThat(window.getRatesCount()).isEqualTo(10);
  }

  @Test
  void badParametersAre400NamingTheParameter() throws Exception {
    String rates = "/api/v1/jobs/web-a/rates?";
    assertError(get(rates + "from_step=0", WebNode.ALICE), 400, "INVALID_ARGUMENT", "count: required");
    assertError(get(rates + "count=abc", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "count: must be an integer (got 'abc')");
    assertError(get(rates + "count=-1", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "count: must be in [1, 100000] (got -1)");
    assertError(get(rates + "count=100001", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "count: must be in [1, 100000] (got 100001)");
    assertError(get(rates + "count=10&from_step=-5", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "from_step: must be >= 0 (got -5)");
    assertError(get(rates + "count=10&from_step=1.5", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "from_step: must be an integer (got '1.5')");
    assertError(get(rates + "count=10&stride=0", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "stride: must be >= 1 (got 0)");
    assertError(get(rates + "count=10&from_step=1000", WebNode.ALICE), 400, "OUT_OF_RANGE",
        "from_step: must be < total_steps = 1000 (got 1000)");
    assertError(get("/api/v1/jobs?page_size=5000", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "page_size: must be in [0, 1000] (got 5000)");
    assertError(get("/api/v1/jobs?page_size=99999999999", WebNode.ALICE), 400, "INVALID_ARGUMENT",
        "page_size: must be in [0, 1000] (got 99999999999)");
  }

  @Test
  void tokensAre401UnknownAndForeignJobsAre404() throws Exception {
    String required = "authorization: a bearer token is required (header 'authorization: Bearer <token>')";
    for (String path : List.of("/api/v1/jobs", "/api/v1/jobs/web-a", "/api/v1/jobs/web-a/rates?count=1",
        "/api/v1/jobs/web-a/curvature", "/api/v1/jobs/web-a/stats", "/api/v1/jobs/web-a/events")) {
      assertError(get(path, null), 401, "UNAUTHENTICATED", required);
      assertError(get(path, "not-a-token"), 401, "UNAUTHENTICATED", "authorization: unknown bearer token");
    }
    assertError(post("/api/v1/jobs/web-a/revisions", null, "{}"), 401, "UNAUTHENTICATED", required);
    String unknown = "job_id: no job 'web-a'";
    assertError(get("/api/v1/jobs/web-a", WebNode.BOB), 404, "NOT_FOUND", unknown);
    assertError(get("/api/v1/jobs/web-a/rates?count=1", WebNode.BOB), 404, "NOT_FOUND", unknown);
    assertError(get("/api/v1/jobs/web-a/curvature", WebNode.BOB), 404, "NOT_FOUND", unknown);
    assertError(get("/api/v1/jobs/web-a/stats", WebNode.BOB), 404, "NOT_FOUND", unknown);
    assertError(get("/api/v1/jobs/web-a/events", WebNode.BOB), 404, "NOT_FOUND", unknown);
    assertError(post("/api/v1/jobs/web-a/revisions", WebNode.BOB,
        "{\"revision\": {\"fromStep\": \"10\", \"hold\": true}}"), 404, "NOT_FOUND", unknown);
    assertError(get("/api/v1/jobs/nope/events", WebNode.ALICE), 404, "NOT_FOUND", "job_id: no job 'nope'");
    // the static files and /metrics need no token
    HttpResponse<String> page = get("/", null);
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.body()).contains("<title>Stepsize console</title>");
    assertThat(get("/webjars/uplot/1.6.30/dist/uPlot.iife.min.js", null).statusCode()).isEqualTo(200);
    HttpResponse<String> metrics = get("/metrics", null);
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("# TYPE stepsize_jobs gauge");
  }

  @Test
  void revisionsAreReviseJobWithItsErrors() throws Exception {
    web.alice.createJob(WebNode.job("web-rev", 1000));
    Job revised = parse(post("/api/v1/jobs/web-rev/revisions", WebNode.ALICE,
        "{\"revision\": {\"fromStep\": \"100\", \"totalSteps\": \"2000\", \"reason\": \"more data\"}}"),
        Job.newBuilder());
    assertThat(revised).isEqualTo(web.alice.getJob("web-rev"));
    assertThat(revised.getTotalSteps()).isEqualTo(2000);
    assertThat(revised.getRevisions(0).getReason()).isEqualTo("more data");
    // a revision the core refuses: the same message as ReviseJob over gRPC
    Revision bad = Revision.newBuilder().setFromStep(50).setHold(true).build();
    String grpcMessage = null;
    try {
      web.alice.reviseJob("web-rev", bad, OptionalLong.empty());
    } catch (StatusRuntimeException e) {
      grpcMessage = e.getStatus().getDescription();
    }
    assertThat(grpcMessage).isNotNull();
    assertError(post("/api/v1/jobs/web-rev/revisions", WebNode.ALICE,
        "{\"revision\": " + JsonFormat.printer().print(bad) + "}"), 400, "INVALID_ARGUMENT", grpcMessage);
    assertError(post("/api/v1/jobs/web-rev/revisions", WebNode.ALICE,
        "{\"revision\": {\"fromStep\": \"200\", \"hold\": true}, \"expectedRevision\": \"0\"}"), 400,
        "FAILED_PRECONDITION", failedPrecondition());
    assertError(post("/api/v1/jobs/web-rev/revisions", WebNode.ALICE,
        "{\"jobId\": \"web-a\", \"revision\": {\"fromStep\": \"200\", \"hold\": true}}"), 400, "INVALID_ARGUMENT",
        "job_id: the body's 'web-a' is not the path's 'web-rev'");
    HttpResponse<String> malformed = post("/api/v1/jobs/web-rev/revisions", WebNode.ALICE, "{\"revision\": 3");
    assertThat(malformed.statusCode()).isEqualTo(400);
    assertThat(JsonParser.parseString(malformed.body()).getAsJsonObject().get("message").getAsString())
        .startsWith("body: not a ReviseJobRequest in the proto3 JSON mapping (");
  }

  /** ReviseJob's own message for a stale expected_revision, over gRPC. */
  private static String failedPrecondition() {
    try {
      web.alice.reviseJob("web-rev", Revision.newBuilder().setFromStep(200).setHold(true).build(), OptionalLong.of(0));
    } catch (StatusRuntimeException e) {
      return e.getStatus().getDescription();
    }
    throw new AssertionError("ReviseJob accepted a stale expected_revision");
  }

  @Test
  void curvatureAndTheEventStreamFollowAProbe() throws Exception {
    web.alice.createJob(WebNode.job("web-ev", 1000));
    HttpRequest req = HttpRequest.newBuilder(URI.create(web.url("/api/v1/jobs/web-ev/events")))
        .header("Authorization", "Bearer " + WebNode.ALICE).build();
    HttpResponse<InputStream> res = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
    assertThat(res.statusCode()).isEqualTo(200);
    assertThat(res.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
    BlockingQueue<String> data = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          if (line.startsWith("data: ")) {
            data.add(line.substring(6));
          }
        }
      } catch (Exception e) {
        // the stream ends with the test
      }
    }, "sse-reader");
    reader.setDaemon(true);
    reader.start();
    try {
      ScheduleUpdate first = update(data.poll(30, TimeUnit.SECONDS));
      assertThat(first.getJobId()).isEqualTo("web-ev");
      assertThat(first.hasCurvature()).isFalse();
      web.alice.reportProbes(List.of(WebNode.probe("web-ev", 20, 1.0), WebNode.stats("web-ev", 20, 1.0)));
      ScheduleUpdate next = update(data.poll(30, TimeUnit.SECONDS));
      Curvature now = web.node.queries().curvature(ALICE, "web-ev");
      assertThat(next.getCurvature()).isEqualTo(now.toBuilder().clearTimeline().build());
      assertThat(next.getCurvature().getKappa()).isPositive();
      Curvature json = parse(get("/api/v1/jobs/web-ev/curvature", WebNode.ALICE), Curvature.newBuilder());
      assertThat(json).isEqualTo(now);
      assertThat(json.getTimelineCount()).isEqualTo(1);
      // gradient statistics come from the probe through their own topic
      await().atMost(Duration.ofSeconds(30))
          .until(() -> web.node.queries().gradientStats(ALICE, "web-ev").getReports() == 1);
      GradientStatsTimeline stats = parse(get("/api/v1/jobs/web-ev/stats", WebNode.ALICE),
          GradientStatsTimeline.newBuilder());
      assertThat(stats).isEqualTo(web.node.queries().gradientStats(ALICE, "web-ev"));
      assertThat(stats.getPoints(0).getLoss()).isEqualTo(1.0);
      assertThat(stats.getPoints(0).getGradNorm()).isEqualTo(1.0);
    } finally {
      res.body().close();
    }
    // the closed stream lets go of its watch: the node still answers and streams again
    await().atMost(Duration.ofSeconds(30)).until(() -> get("/api/v1/jobs/web-ev", WebNode.ALICE).statusCode() == 200);
  }

  /**
   * MAX_EVENT_STREAMS streams at once are served, the next is refused with 429, and closing them gives
   * their permits back: a stream notices its closed client at its next write (the keep-alive comment,
   * every HEARTBEAT_MILLIS on an idle job; the first write after the close may still be accepted by
   * the socket), so within about two heartbeats a new stream is served again.
   */
  @Test
  void eventStreamsAreLimitedAndClosedOnesGiveTheirPermitBack() throws Exception {
    web.alice.createJob(WebNode.job("web-many", 1000));
    String path = "/api/v1/jobs/web-many/events";
    List<HttpResponse<InputStream>> open = new ArrayList<>();
    try {
      for (int i = 0; i < WebServer.MAX_EVENT_STREAMS; i++) {
        // another test's closed stream may still hold its permit for a heartbeat or two: wait it out
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        HttpResponse<InputStream> res = stream(path);
        while (res.statusCode() == 429 && System.nanoTime() < deadline) {
          res.body().close();
          Thread.sleep(200);
          res = stream(path);
        }
        open.add(res);
        assertThat(res.statusCode()).as("stream %d", i).isEqualTo(200);
        assertThat(firstData(res.body())).as("stream %d's first event", i).contains("\"jobId\":\"web-many\"");
      }
      // all permits are ours now, so nothing but our own close can free one
      String message = "events: this replica is serving its limit of " + WebServer.MAX_EVENT_STREAMS
          + " event streams at once; retry later";
      HttpResponse<String> refused = get(path, WebNode.ALICE);
      assertError(refused, 429, "RESOURCE_EXHAUSTED", message);
      assertThat(refused.body()).isEqualTo("{\"code\":\"RESOURCE_EXHAUSTED\",\"message\":\"" + message + "\"}");
    } finally {
      for (HttpResponse<InputStream> res : open) {
        res.body().close();
      }
    }
    long closed = System.nanoTime();
    long deadline = closed + Duration.ofSeconds(30).toNanos();
    HttpResponse<InputStream> again = stream(path);
    while (again.statusCode() == 429 && System.nanoTime() < deadline) {
      again.body().close();
      Thread.sleep(200);
      again = stream(path);
    }
    try {
      assertThat(again.statusCode()).as("a stream %d ms after the close", (System.nanoTime() - closed) / 1_000_000)
          .isEqualTo(200);
      assertThat(firstData(again.body())).contains("\"jobId\":\"web-many\"");
    } finally {
      again.body().close();
    }
  }

  private static HttpResponse<InputStream> stream(String path) throws Exception {
    HttpRequest req = HttpRequest.newBuilder(URI.create(web.url(path)))
        .header("Authorization", "Bearer " + WebNode.ALICE).build();
    return http.send(req, HttpResponse.BodyHandlers.ofInputStream());
  }

  /** The data of a stream's first event (the job's current state), read without closing the stream. */
  private static String firstData(InputStream body) throws Exception {
    StringBuilder line = new StringBuilder();
    for (int c; (c = body.read()) >= 0; ) {
      if (c != '\n') {
        line.append((char) c);
      } else if (line.toString().startsWith("data: ")) {
        return line.substring(6);
      } else {
        line.setLength(0);
      }
    }
    return null;
  }

  private static ScheduleUpdate update(String json) throws Exception {
    assertThat(json).as("an event within 30 s").isNotNull();
    ScheduleUpdate.Builder b = ScheduleUpdate.newBuilder();
    JsonFormat.parser().merge(json, b);
    return b.build();
  }

  @Test
  void everyKindHasItsHttpCode() {
    assertThat(HttpErrors.status(ApiException.Kind.INVALID_ARGUMENT)).isEqualTo(400);
    assertThat(HttpErrors.status(ApiException.Kind.FAILED_PRECONDITION)).isEqualTo(400);
    assertThat(HttpErrors.status(ApiException.Kind.OUT_OF_RANGE)).isEqualTo(400);
    assertThat(HttpErrors.status(ApiException.Kind.PERMISSION_DENIED)).isEqualTo(403);
    assertThat(HttpErrors.status(ApiException.Kind.NOT_FOUND)).isEqualTo(404);
    assertThat(HttpErrors.status(ApiException.Kind.ALREADY_EXISTS)).isEqualTo(409);
    assertThat(HttpErrors.status(ApiException.Kind.RESOURCE_EXHAUSTED)).isEqualTo(429);
    assertThat(HttpErrors.status(ApiException.Kind.UNAVAILABLE)).isEqualTo(503);
  }
}
