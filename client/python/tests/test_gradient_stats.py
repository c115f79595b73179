"""Issue 15 item 3: gradient statistics are kept per job. Two workers report the same steps, one over
gRPC (ReportProbes) and one with its own Kafka producer; StepsizeClient.gradient_stats returns one point
per step with the reports combined (mean loss, mean grad_norm, microbatch norms in arrival order;
docs/DESIGN.md §2.1). Expected values worked out by hand: every mean below is exact in binary."""
import time
import uuid

import grpc
import pytest

from stepsize.publisher import ProbePublisher
from stepsize.v1 import stepsize_pb2 as pb


def _wait_for_reports(client, job_id, n, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        stats = client.gradient_stats(job_id)
        if stats.reports >= n:
            return stats
        time.sleep(0.1)
    pytest.fail(f"{job_id}: fewer than {n} gradient reports kept after {timeout} s")


def test_gradient_stats_from_grpc_and_kafka_come_back_combined_per_step(service, client):
    job_id = f"grads-{uuid.uuid4().hex[:8]}"
    client.create_job(pb.JobSpec(job_id=job_id, total_steps=100, lr_max=0.1, lr_min=0.0))
    assert client.gradient_stats(job_id) == pb.GradientStatsTimeline(job_id=job_id)

    grpc_worker = ProbePublisher(client, worker_id="a", strict=True)
    assert grpc_worker.publish_gradient(job_id, 7, loss=1.5, grad_norm=0.25, microbatch_grad_norms=[0.5, 1.0]) == 1
    assert grpc_worker.publish_gradient(job_id, 8, loss=1.0, grad_norm=0.5) == 1
    # worker a's reports are in before worker b's are sent, so the microbatch norms' order is certain
    _wait_for_reports(client, job_id, 2)
    with ProbePublisher(kafka_bootstrap_servers=service.kafka_bootstrap, worker_id="b", strict=True) as kafka_worker:
        kafka_worker.publish_gradient(job_id, 7, loss=2.5, grad_norm=0.75, microbatch_grad_norms=[2.0])

    stats = _wait_for_reports(client, job_id, 3)
    assert stats == pb.GradientStatsTimeline(job_id=job_id, reports=3, points=[
        pb.GradientStatsPoint(step=7, loss=2.0, grad_norm=0.5, microbatch_grad_norms=[0.5, 1.0, 2.0], workers=2),
        pb.GradientStatsPoint(step=8, loss=1.0, grad_norm=0.5, workers=1),
    ])


def test_gradient_stats_of_an_unknown_job_is_not_found(client):
    with pytest.raises(grpc.RpcError) as e:
        client.gradient_stats("no-such-job-for-gradient-stats")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert e.value.details() == "job_id: no job 'no-such-job-for-gradient-stats'"
