package io.stepsize.service.grpc;

import static io.stepsize.service.grpc.InProcessApi.expect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.ListJobsRequest;
import io.stepsize.proto.v1.ListJobsResponse;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.stepsize.proto.v1.StepsizeGrpc.StepsizeBlockingStub;
import io.stepsize.service.core.Intake;
import io.stepsize.service.core.Jobs;
import io.stepsize.service.core.Queries;
import io.stepsize.service.security.AuthInterceptor;
import io.stepsize.service.security.Limits;
import io.stepsize.service.security.Tenants;
import io.stepsize.service.view.LocalViews;
import io.stepsize.wire.Topics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ListJobs in-process, as {@link InProcessApiTest} runs the other RPCs: the real service and
 * interceptors over hand-filled local views, two tenants by bearer token.
 */
class ListJobsApiTest {
  private InProcessApi api;
  private LocalViews views;
  private StepsizeBlockingStub alice;
  private StepsizeBlockingStub bob;

  private void start(boolean caughtUp) {
    start(caughtUp, true);
  }

  /** @param tokens whether callers authenticate by bearer token (without, every caller is anonymous) */
  private void start(boolean caughtUp, boolean tokens) {
    api = InProcessApi.start(InProcessApi.Options.defaults().caughtUp(caughtUp).tokens(tokens));
    views = api.views;
    alice = api.alice;
    bob = api.bob;
  }

  @AfterEach
  void stop() {
    if (api != null) {
      api.close();
    }
  }

  private static JobSpec spec(String id, long total) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(total).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
  }

  private static ListJobsResponse list(StepsizeBlockingStub s, int pageSize, String token) {
    return s.listJobs(ListJobsRequest.newBuilder().setPageSize(pageSize).setPageToken(token).build());
  }

  private static List<String> ids(ListJobsResponse page) {
    return page.getJobsList().stream().map(j -> j.getSpec().getJobId()).toList();
  }


  @Test
  void aTenantListsItsOwnJobsSortedByIdPageByPage() {
    start(true);
    // inserted out of order, interleaved with bob's and a job of no tenant
    for (String id : List.of("a-07", "a-02", "a-10", "a-01", "a-05", "a-03", "a-09", "a-04", "a-08", "a-06")) {
      views.putJob(spec(id, 100 + Integer.parseInt(id.substring(2))), "alice");
    }
    views.putJob(spec("a-00-bob", 50), "bob");
    views.putJob(spec("a-055", 50), "bob");
    views.putJob(spec("legacy", 50), "");

    List<String> seen = new ArrayList<>();
    List<String> tokens = new ArrayList<>();
    String token = "";
    do {
      ListJobsResponse page = list(alice, 3, token);
      assertThat(page.getJobsCount()).isLessThanOrEqualTo(3);
      seen.addAll(ids(page));
      token = page.getNextPageToken();
      tokens.add(token);
    } while (!token.isEmpty());
    assertThat(seen).containsExactly("a-01", "a-02", "a-03", "a-04", "a-05", "a-06", "a-07", "a-08", "a-09", "a-10");
    // four pages: 3 + 3 + 3 + 1, the last without a token
    assertThat(tokens).containsExactly("a-03", "a-06", "a-09", "");

    // a page holds each Job as GetJob answers it
    Job first = list(alice, 1, "").getJobs(0);
    assertThat(first.getSpec()).isEqualTo(spec("a-01", 101));
    assertThat(first.getPhases()).isEqualTo(1);

    // page_size 0 is the default page (100): all ten, no further page
    ListJobsResponse all = list(alice, 0, "");
    assertThat(all.getJobsCount()).isEqualTo(10);
    assertThat(all.getNextPageToken()).isEmpty();
    // exactly a full page: no token, since nothing follows
    assertThat(list(alice, 10, "").getNextPageToken()).isEmpty();

    assertThat(ids(list(bob, 0, ""))).containsExactly("a-00-bob", "a-055");
  }

  @Test
  void withoutTokensEveryJobIsListed() {
    start(true, false);
    views.putJob(spec("b", 10), "");
    views.putJob(spec("a", 10), "alice");
    var anonymous = api.anonymous();
    assertThat(ids(list(anonymous, 0, ""))).containsExactly("a", "b");
    assertThat(ids(list(anonymous, 1, "a"))).containsExactly("b");
  }

  @Test
  void pageSizeBeyondTheLimitOrNegativeIsInvalidAndListingWaitsForTheViews() {
    start(false);
    views.putJob(spec("a-1", 10), "alice");
    expect(() -> list(alice, 0, ""), Status.Code.UNAVAILABLE,
        "the views are catching up with the jobs and curvature topics after a start; retry in a few seconds");
    views.markCaughtUp();
    assertThat(ids(list(alice, Queries.MAX_PAGE_SIZE, ""))).containsExactly("a-1");
    expect(() -> list(alice, 1001, ""), Status.Code.INVALID_ARGUMENT, "page_size: must be in [0, 1000] (got 1001)");
    expect(() -> list(alice, -1, ""), Status.Code.INVALID_ARGUMENT, "page_size: must be in [0, 1000] (got -1)");
  }
}
