"""The start and operator of a probe (DESIGN.md §1.7) reach the probes topic as the trainer made them,
by ReportProbes and by the Kafka route, from the example trainer's own loop (AdamW, preconditioned
probes from the gradient) against a real service."""
import time
import uuid

import pytest
import torch
from confluent_kafka import Consumer

import train_fashion_mnist as example
from stepsize import ProbePublisher, lanczos_probe
from stepsize.v1 import stepsize_pb2 as pb


def probes_on_topic(bootstrap, job_id, count, timeout=30.0):
    """The LanczosProbe payloads of ``job_id`` on stepsize.probes, by step, once ``count`` are there."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-start-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["stepsize.probes"])
    found = {}
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error():
                continue
            report = pb.ProbeReport()
            try:
                report.ParseFromString(message.value())
            except Exception:  # noqa: BLE001 - other tests' garbage records are not ours
                continue
            if report.job_id == job_id and report.HasField("lanczos"):
                found[report.step] = report.lanczos
    finally:
        consumer.close()
    assert len(found) == count, sorted(found)
    return found


def test_example_trainer_sends_gradient_start_preconditioned_probes(service, client, tmp_path):
    job_id = f"adamw-preconditioned-{uuid.uuid4().hex[:8]}"
    args = example.parser().parse_args([
        "--target", service.target, "--job-id", job_id, "--steps", "30", "--probe-every", "10", "--limit", "2000",
        "--probe-batch", "128", "--probe-m", "8", "--optimizer", "adamw", "--lr-max", "0.003", "--lr-min", "0.0001",
        "--probe-operator", "preconditioned", "--wait-estimates", "20", "--out", str(tmp_path / "run.csv")])
    rows = example.run(args)
    assert len(rows) == 30
    assert client.get_job(job_id).spec.optimizer == pb.OPTIMIZER_ADAMW
    assert client.curvature(job_id).probes >= 1
    sent = probes_on_topic(service.kafka_bootstrap, job_id, 3)
    assert sorted(sent) == [0, 10, 20]
    # AdamW has no second moments before its first step: the probe of step 0 is of the Hessian
    assert (sent[0].start, sent[0].operator) == (pb.START_GRADIENT, pb.OPERATOR_HESSIAN)
    for step in (10, 20):
        assert (sent[step].start, sent[step].operator) == (pb.START_GRADIENT, pb.OPERATOR_PRECONDITIONED)
        assert len(sent[step].alpha) == 8


def test_example_rejects_a_preconditioned_probe_without_adamw(capsys):
    with pytest.raises(SystemExit) as e:
        example.main(["--probe-operator", "preconditioned"])
    assert e.value.code == 2
    assert "--probe-operator preconditioned: needs --optimizer adamw" in capsys.readouterr().err


def test_kafka_route_sends_start_and_operator(service, client):
    job_id = f"kafka-start-{uuid.uuid4().hex[:8]}"
    client.create_job(pb.JobSpec(job_id=job_id, total_steps=100, lr_max=0.1, lr_min=0.0))
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 3))
    batch = (torch.randn(32, 4), torch.randint(0, 3, (32,)))
    loss_fn = torch.nn.CrossEntropyLoss()
    from_gradient = lanczos_probe(net, loss_fn, batch, m=6)
    from_random = lanczos_probe(net, loss_fn, batch, m=6, seed=2, start="random")
    with ProbePublisher(kafka_bootstrap_servers=service.kafka_bootstrap, strict=True) as publisher:
        assert publisher.publish_lanczos(job_id, 4, from_gradient) == 1
        assert publisher.publish_lanczos(job_id, 6, from_random) == 1
    sent = probes_on_topic(service.kafka_bootstrap, job_id, 2)
    assert (sent[4].start, sent[4].operator) == (pb.START_GRADIENT, pb.OPERATOR_HESSIAN)
    assert list(sent[4].alpha) == from_gradient.alpha
    assert (sent[6].start, sent[6].operator) == (pb.START_RANDOM, pb.OPERATOR_HESSIAN)
