"""StepsizeClient: the service's gRPC API (DESIGN.md §3) with a deadline on every unary call."""
import time

import grpc

from stepsize.v1 import stepsize_pb2 as pb
from stepsize.v1 import stepsize_pb2_grpc as pb_grpc

_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_SERVING = 1  # grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING

# Codes after which the local formula answers instead: the service (or the way to it) failed,
# not the request. INVALID_ARGUMENT, NOT_FOUND, OUT_OF_RANGE, ALREADY_EXISTS are the caller's bugs.
TRANSIENT_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED,
})


def is_transient(error: grpc.RpcError) -> bool:
    code = error.code() if hasattr(error, "code") else None
    return code in TRANSIENT_CODES


class StepsizeClient:
    """A channel to one Stepsize service. ``deadline`` (seconds) bounds every unary call."""

    def __init__(self, target: str, *, deadline: float = 5.0, channel: grpc.Channel = None):
        self.target = target
        self.deadline = deadline
        self.channel = channel if channel is not None else grpc.insecure_channel(target)
        self.stub = pb_grpc.StepsizeStub(self.channel)
        self._health = self.channel.unary_unary(
            _HEALTH_CHECK, request_serializer=lambda _: b"",  # HealthCheckRequest{service: ""} is empty
            response_deserializer=lambda data: data)

    def _timeout(self, timeout):
        return self.deadline if timeout is None else timeout

    def create_job(self, spec: pb.JobSpec, timeout=None) -> pb.Job:
        """Idempotent for an identical spec; ALREADY_EXISTS for a different one under the same id."""
        return self.stub.CreateJob(pb.CreateJobRequest(spec=spec), timeout=self._timeout(timeout))

    def get_job(self, job_id: str, timeout=None) -> pb.Job:
        return self.stub.GetJob(pb.GetJobRequest(job_id=job_id), timeout=self._timeout(timeout))

    def revise_job(self, job_id: str, revision: pb.Revision, expected_revision: int = None, timeout=None) -> pb.Job:
        """ReviseJob (DESIGN.md §1.5): answers for steps before revision.from_step never change; with
        ``expected_revision`` the call fails with FAILED_PRECONDITION when the job has a later one."""
        request = pb.ReviseJobRequest(job_id=job_id, revision=revision)
        if expected_revision is not None:
            request.expected_revision = expected_revision
        return self.stub.ReviseJob(request, timeout=self._timeout(timeout))

    def learning_rate(self, job_id: str, step: int, timeout=None) -> pb.LearningRate:
        return self.stub.GetLearningRate(pb.GetLearningRateRequest(job_id=job_id, step=step),
                                         timeout=self._timeout(timeout))

    def learning_rates(self, job_id: str, from_step: int, count: int, timeout=None) -> pb.LearningRates:
        return self.stub.GetLearningRates(
            pb.GetLearningRatesRequest(job_id=job_id, from_step=from_step, count=count),
            timeout=self._timeout(timeout))

    def learning_rates_future(self, job_id: str, from_step: int, count: int, timeout=None):
        return self.stub.GetLearningRates.future(
            pb.GetLearningRatesRequest(job_id=job_id, from_step=from_step, count=count),
            timeout=self._timeout(timeout))

    def report_probes(self, probes, timeout=None) -> int:
        """Validated as a whole by the service: one bad probe rejects all with INVALID_ARGUMENT."""
        return self.stub.ReportProbes(pb.ReportProbesRequest(probes=list(probes)),
                                      timeout=self._timeout(timeout)).accepted

    def curvature(self, job_id: str, timeout=None) -> pb.Curvature:
        return self.stub.GetCurvature(pb.GetCurvatureRequest(job_id=job_id), timeout=self._timeout(timeout))

    def gradient_stats(self, job_id: str, timeout=None) -> pb.GradientStatsTimeline:
        """The job's gradient statistics, one point per step, oldest first; empty before the first report."""
        return self.stub.GetGradientStats(pb.GetGradientStatsRequest(job_id=job_id), timeout=self._timeout(timeout))

    def watch(self, job_id: str):
        """The WatchSchedule stream: an iterator of ScheduleUpdate and a call (``cancel()`` ends it)."""
        return self.stub.WatchSchedule(pb.WatchScheduleRequest(job_id=job_id))

    def serving(self, timeout=None) -> bool:
        """Whether grpc.health.v1 says SERVING (the local views have caught up)."""
        try:
            data = self._health(None, timeout=self._timeout(timeout))
        except grpc.RpcError:
            return False
        # HealthCheckResponse{status = 1 (field 1, varint)} is the two bytes 0x08 0x01
        return data == bytes([0x08, _SERVING])

    def wait_until_serving(self, timeout: float = 60.0, poll: float = 0.2) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.serving(timeout=min(2.0, self.deadline)):
                return True
            time.sleep(poll)
        return False

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
