package io.stepsize.service.grpc;

import static io.stepsize.service.grpc.InProcessApi.expect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.MetadataUtils;
import io.stepsize.proto.v1.CreateJobRequest;
import io.stepsize.proto.v1.GetJobRequest;
import io.stepsize.proto.v1.GetLearningRateRequest;
import io.stepsize.proto.v1.GetLearningRatesRequest;
import io.stepsize.proto.v1.Job;
import io.stepsize.proto.v1.JobSpec;
import io.stepsize.proto.v1.LearningRate;
import io.stepsize.proto.v1.PhiPolicy;
import io.stepsize.proto.v1.ReviseJobRequest;
import io.stepsize.proto.v1.Revision;
import io.stepsize.proto.v1.ScheduleUpdate;
import io.stepsize.proto.v1.Source;
import io.stepsize.proto.v1.StepsizeGrpc;
import io.stepsize.proto.v1.StepsizeGrpc.StepsizeBlockingStub;
import io.stepsize.proto.v1.WatchScheduleRequest;
import io.stepsize.service.core.Intake;
import io.stepsize.service.core.Jobs;
import io.stepsize.service.core.Queries;
import io.stepsize.service.security.AuthInterceptor;
import io.stepsize.service.security.Limits;
import io.stepsize.service.security.Tenants;
import io.stepsize.service.view.LocalViews;
import io.stepsize.wire.RecordHeaders;
import io.stepsize.wire.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * ReviseJob (DESIGN.md §1.5) in-process, as {@link InProcessApiTest} runs the contract: the real
 * service over hand-filled views, a MockProducer for Kafka. Expected rates are computed here from
 * eq. 5 and the re-planning formula with p, not by the schedule library.
 */
class ReviseJobApiTest {
  private InProcessApi api;
  private LocalViews views;
  private MockProducer<String, byte[]> producer;
  private StepsizeBlockingStub alice;
  private StepsizeBlockingStub bob;

  @BeforeEach
  void start() {
    api = InProcessApi.start();
    views = api.views;
    producer = api.producer;
    alice = api.alice;
    bob = api.bob;
  }

  @AfterEach
  void stop() {
    api.close();
  }

  /** Eq. 5's f for a falling phase of its own of L steps, position j, literally. */
  private static double f(double phi, long length, long j) {
    double c = 1 + Math.cos((2 * j - 1) * Math.PI / (2.0 * length));
    return 2 * c / (2 * phi + (2 - phi) * c);
  }

  /** §1.5 falling: lr = b + (p − b)·f(j′; L′), p = b + (v − b)/f(1; L′). */
  private static double replanned(double v, long a, long end, long s) {
    double p = 0.001 + (v - 0.001) / f(5, end - a, 1);
    return 0.001 + (p - 0.001) * f(5, end - a, s - a + 1);
  }

  private static void close(double actual, double expected) {
    assertThat(actual).isCloseTo(expected, within(1e-11 * Math.abs(expected)));
  }

  /** T = 100, one phase falling from 0.1 to 0.001, fixed phi 5. */
  private static JobSpec fixed(String id) {
    return JobSpec.newBuilder().setJobId(id).setTotalSteps(100).setLrMax(0.1).setLrMin(0.001)
        .setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(5))).build();
  }

  private static Revision.Builder from(long step) {
    return Revision.newBuilder().setFromStep(step);
  }

  private static Job revise(StepsizeBlockingStub s, String jobId, Revision.Builder r) {
    return s.reviseJob(ReviseJobRequest.newBuilder().setJobId(jobId).setRevision(r).build());
  }

  private static Job revise(StepsizeBlockingStub s, String jobId, Revision.Builder r, long expected) {
    return s.reviseJob(ReviseJobRequest.newBuilder().setJobId(jobId).setRevision(r).setExpectedRevision(expected)
        .build());
  }

  private static LearningRate rate(StepsizeBlockingStub s, String jobId, long step) {
    return s.getLearningRate(GetLearningRateRequest.newBuilder().setJobId(jobId).setStep(step).build());
  }


  @Test
  void anExtensionIsStoredWithItsAuthorAndAnswersPastTheOldTotal() {
    views.putJob(fixed("r"), "alice");
    double before40 = rate(alice, "r", 40).getLr();
    LearningRate before30 = rate(alice, "r", 30);
    Job job = revise(alice, "r", from(40).setTotalSteps(150).setReason("more data arrived"));

    assertThat(job.getSpec()).isEqualTo(fixed("r"));
    assertThat(job.getTotalSteps()).isEqualTo(150);
    assertThat(job.getPhases()).isEqualTo(1);
    assertThat(job.getRevisionsCount()).isEqualTo(1);
    Revision stored = job.getRevisions(0);
    assertThat(stored.getNumber()).isEqualTo(1);
    assertThat(stored.getAuthor()).isEqualTo("alice");
    assertThat(stored.getReason()).isEqualTo("more data arrived");
    assertThat(stored.getFromStep()).isEqualTo(40);
    assertThat(stored.getTotalSteps()).isEqualTo(150);
    assertThat(stored.getCreated().getSeconds()).isCloseTo(System.currentTimeMillis() / 1000, within(60L));
    assertThat(alice.getJob(GetJobRequest.newBuilder().setJobId("r").build())).isEqualTo(job);

    // the job's record on stepsize.jobs is the spec with every revision, under its owner
    assertThat(producer.history()).hasSize(1);
    ProducerRecord<String, byte[]> record = producer.history().get(0);
    assertThat(record.topic()).isEqualTo("stepsize.jobs");
    assertThat(record.key()).isEqualTo("r");
    assertThat(record.value()).isEqualTo(fixed("r").toBuilder().addRevisions(stored).build().toByteArray());
    assertThat(new String(record.headers().lastHeader(RecordHeaders.OWNER).value(), StandardCharsets.UTF_8))
        .isEqualTo("alice");

    // answers before from_step never change; from it on, the rest of the phase re-planned to 150
    assertThat(rate(alice, "r", 30)).isEqualTo(before30);
    for (long s : new long[] {40, 41, 99, 100, 120, 149}) {
      LearningRate lr = rate(alice, "r", s);
      close(lr.getLr(), replanned(before40, 40, 150, s));
      assertThat(lr.getRevision()).isEqualTo(1);
      assertThat(lr.getPhase()).isEqualTo(1);
    }
    close(rate(alice, "r", 40).getLr(), before40);
    assertThat(alice.getLearningRates(GetLearningRatesRequest.newBuilder().setJobId("r").setFromStep(95)
        .setCount(10).build()).getRatesCount()).isEqualTo(10);
    expect(() -> rate(alice, "r", 150), Status.Code.OUT_OF_RANGE,
        "step: must be < total_steps = 150, as revision 1 set it (got 150)");
  }

  @Test
  void aShorteningNamesTheRevisedTotal() {
    views.putJob(fixed("r"), "alice");
    revise(alice, "r", from(40).setTotalSteps(60));
    assertThat(rate(alice, "r", 59).getRevision()).isEqualTo(1);
    expect(() -> rate(alice, "r", 60), Status.Code.OUT_OF_RANGE,
        "step: must be < total_steps = 60, as revision 1 set it (got 60)");
    expect(() -> alice.getLearningRates(GetLearningRatesRequest.newBuilder().setJobId("r").setFromStep(70)
        .setCount(5).build()), Status.Code.OUT_OF_RANGE,
        "from_step: must be < total_steps = 60, as revision 1 set it (got 70)");
  }

  @Test
  void holdAndSetLrServeTheGivenValue() {
    views.putJob(fixed("r"), "alice");
    revise(alice, "r", from(50).setSetLr(0.05).setHold(true).setReason("stable phase"));
    for (long s : new long[] {50, 70, 99}) {
      assertThat(rate(alice, "r", s).getLr()).isEqualTo(0.05);
    }
    // the decay resumes from the held value
    revise(alice, "r", from(80));
    for (long s : new long[] {80, 90, 99}) {
      close(rate(alice, "r", s).getLr(), replanned(0.05, 80, 100, s));
      assertThat(rate(alice, "r", s).getRevision()).isEqualTo(2);
    }
  }

  @Test
  void badRevisionsAreInvalidArgumentNamingTheFieldAndTheRule() {
    views.putJob(fixed("r"), "alice");
    views.putJob(fixed("b").toBuilder().addPhaseBoundaries(50).addPhaseBoundaries(100).build(), "alice");
    expect(() -> revise(alice, "r", from(101)), Status.Code.INVALID_ARGUMENT,
        "revision.from_step: must be <= total_steps = 100 (a finished job is extended from total_steps) (got 101)");
    expect(() -> revise(alice, "r", from(40).setTotalSteps(30)), Status.Code.INVALID_ARGUMENT,
        "revision.total_steps: must be > from_step = 40 (got 30)");
    expect(() -> revise(alice, "b", from(20).setTotalSteps(200)), Status.Code.INVALID_ARGUMENT,
        "revision.phase_boundaries: must be given when total_steps changes and the job has a boundary in"
            + " (from_step, total_steps) = (20, 100) (the job has 50)");
    expect(() -> revise(alice, "b", from(20).setTotalSteps(200).addPhaseBoundaries(90).addPhaseBoundaries(80)
        .addPhaseBoundaries(200)), Status.Code.INVALID_ARGUMENT,
        "revision.phase_boundaries: must be strictly increasing (B_2 = 80 <= B_1 = 90)");
    expect(() -> revise(alice, "b", from(20).setTotalSteps(200).addPhaseBoundaries(60).addPhaseBoundaries(190)),
        Status.Code.INVALID_ARGUMENT, "revision.phase_boundaries: must end at total_steps = 200 (got 190)");
    expect(() -> revise(alice, "r", from(40).setLrMax(0.0005)), Status.Code.INVALID_ARGUMENT,
        "revision.lr_min: must be <= lr_max (0.001 > 5.0E-4)");
    expect(() -> revise(alice, "r", from(40).setSetLr(-1)), Status.Code.INVALID_ARGUMENT,
        "revision.set_lr: must be finite and >= 0 (got -1.0)");
    expect(() -> revise(alice, "r", from(40).setSetLr(Double.NaN)), Status.Code.INVALID_ARGUMENT,
        "revision.set_lr: must be finite and >= 0 (got NaN)");
    expect(() -> revise(alice, "r", from(40).setNumber(3)), Status.Code.INVALID_ARGUMENT,
        "revision: number, author and created are set by the service; leave them unset (got number 3)");
    expect(() -> revise(alice, "r", from(40).setPhiPolicy(PhiPolicy.newBuilder()
        .setFixed(PhiPolicy.Fixed.newBuilder().setPhi(0)))), Status.Code.INVALID_ARGUMENT,
        "revision.phi_policy.fixed.phi: must be finite and > 0 (got 0.0)");
    assertThat(producer.history()).isEmpty();
    revise(alice, "r", from(40));
    expect(() -> revise(alice, "r", from(30)), Status.Code.INVALID_ARGUMENT,
        "revision.from_step: must be >= the previous revision's from_step = 40 (got 30)");
    // CreateJob does not take revisions
    expect(() -> alice.createJob(CreateJobRequest.newBuilder().setSpec(fixed("c").toBuilder()
        .addRevisions(from(1))).build()), Status.Code.INVALID_ARGUMENT,
        "spec.revisions: must be empty; a job is revised with ReviseJob (got 1)");
  }

  @Test
  void aStaleExpectedRevisionIsFailedPreconditionAndAnIdenticalRepeatIsIdempotent() {
    views.putJob(fixed("r"), "alice");
    Job first = revise(alice, "r", from(40).setTotalSteps(150).setReason("extend"), 0);
    assertThat(first.getRevisionsCount()).isEqualTo(1);
    // the same content again, even with the now stale expectation: the job as it is, nothing written
    assertThat(revise(alice, "r", from(40).setTotalSteps(150).setReason("extend"), 0)).isEqualTo(first);
    assertThat(producer.history()).hasSize(1);
    expect(() -> revise(alice, "r", from(50).setTotalSteps(200), 0), Status.Code.FAILED_PRECONDITION,
        "expected_revision: the job has revision 1, later than 0; read it with GetJob and revise again if still wanted");
    Job second = revise(alice, "r", from(50).setTotalSteps(200), 1);
    assertThat(second.getRevisionsList()).extracting(Revision::getNumber).containsExactly(1L, 2L);
    assertThat(second.getTotalSteps()).isEqualTo(200);
    // CreateJob of the spec as created still answers the job, with its revisions
    assertThat(alice.createJob(CreateJobRequest.newBuilder().setSpec(fixed("r")).build())).isEqualTo(second);
  }

  @Test
  void anotherTenantsJobIsNotFoundAsForEveryRpc() {
    views.putJob(fixed("alice-1"), "alice");
    expect(() -> revise(bob, "alice-1", from(10)), Status.Code.NOT_FOUND, "job_id: no job 'alice-1'");
    expect(() -> revise(bob, "alice-9", from(10)), Status.Code.NOT_FOUND, "job_id: no job 'alice-9'");
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void watchPushesEveryRevisionFromItsStep() {
    views.putJob(fixed("r"), "alice");
    Iterator<ScheduleUpdate> updates = alice.withDeadlineAfter(20, TimeUnit.SECONDS)
        .watchSchedule(WatchScheduleRequest.newBuilder().setJobId("r").build());
    assertThat(updates.next()).isEqualTo(ScheduleUpdate.newBuilder().setJobId("r").setPhi(5).setFromStep(0)
        .setSource(Source.SOURCE_FIXED).build());
    revise(alice, "r", from(40).setTotalSteps(150));
    assertThat(updates.next()).isEqualTo(ScheduleUpdate.newBuilder().setJobId("r").setPhi(5).setFromStep(40)
        .setSource(Source.SOURCE_FIXED).setRevision(1).build());
    revise(alice, "r", from(60).setPhiPolicy(PhiPolicy.newBuilder().setFixed(PhiPolicy.Fixed.newBuilder().setPhi(2))));
    assertThat(updates.next()).isEqualTo(ScheduleUpdate.newBuilder().setJobId("r").setPhi(2).setFromStep(60)
        .setSource(Source.SOURCE_FIXED).setRevision(2).build());
  }
}
