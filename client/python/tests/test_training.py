"""A real torch training run on Fashion-MNIST against a real service: probes every 20 steps, and
phi follows the estimates as they arrive. Also the Kafka route of ProbePublisher."""
import math
import time

import grpc
import pytest

import train_fashion_mnist as example
from stepsize import ProbePublisher, lanczos_probe
from stepsize.schedule import CurvatureTimeline, JobSchedule, Source, evaluate
from stepsize.v1 import stepsize_pb2 as pb

STEPS = 200
PROBE_EVERY = 20


def test_phi_follows_the_estimates_in_a_200_step_run(service, client, tmp_path):
    out = tmp_path / "run.csv"
    args = example.parser().parse_args([
        "--target", service.target, "--job-id", "fmnist-200", "--steps", str(STEPS),
        "--probe-every", str(PROBE_EVERY), "--limit", "6000", "--probe-batch", "256", "--out", str(out),
        # wait for each probe's estimate, so it applies exactly at probe step + apply_delay_steps
        "--wait-estimates", "20", "--apply-delay-steps", "2", "--fallback-phi", "5"])
    rows = example.run(args)
    assert len(rows) == STEPS

    # the CSV holds what the run saw
    lines = out.read_text().splitlines()
    assert lines[0] == "step,lr,phi,kappa,loss,source" and len(lines) == STEPS + 1

    # every probe became an estimate, and the service kept them all
    curvature = client.curvature("fmnist-200")
    timeline = CurvatureTimeline.from_proto(curvature)
    probe_steps = [p.step for p in timeline.points]
    assert probe_steps == list(range(0, STEPS, PROBE_EVERY))
    assert all(p.applies_from_step == p.step + 2 for p in timeline.points)

    # before the first estimate applies: fallback phi; afterwards phi = clamp(2κ) of the newest estimate
    assert [r["source"] for r in rows[:2]] == ["FALLBACK", "FALLBACK"] and rows[0]["phi"] == 5.0
    assert all(r["source"] == "CURVATURE" for r in rows[2:])
    job = JobSchedule.from_spec(client.get_job("fmnist-200").spec)
    for r in rows:
        want = evaluate(job, r["step"], timeline)
        assert r["phi"] == pytest.approx(want.phi, rel=1e-12, abs=0), r
        assert r["lr"] == pytest.approx(want.lr, rel=1e-12, abs=1e-15), r
        assert r["kappa"] == pytest.approx(want.kappa, rel=1e-12, abs=0), r

    # phi changes exactly where an estimate starts to apply, and with every estimate
    changes = [r["step"] for prev, r in zip(rows, rows[1:]) if r["phi"] != prev["phi"]]
    assert changes == [p + 2 for p in probe_steps if p + 2 < STEPS]
    phis = {r["phi"] for r in rows if r["source"] == "CURVATURE"}
    assert len(phis) == len(probe_steps)
    assert all(math.isfinite(p) and 0.1 <= p <= 1000 for p in phis)

    # the service, asked afterwards, gives the same rates: the rate is a function of the step
    served = client.learning_rates("fmnist-200", 0, STEPS).rates
    assert [s.lr for s in served] == pytest.approx([r["lr"] for r in rows], rel=1e-12, abs=1e-15)
    assert {s.source for s in served[2:]} == {pb.SOURCE_CURVATURE}

    # and it trained
    first = sum(r["loss"] for r in rows[:20]) / 20
    last = sum(r["loss"] for r in rows[-20:]) / 20
    assert last < 0.6 * first, (first, last)


def test_probes_through_kafka_reach_the_estimator(service, client):
    import torch
    spec = pb.JobSpec(job_id="kafka-probes", total_steps=100, lr_max=0.1, lr_min=0.0,
                      phi_policy=pb.PhiPolicy(condition_number=pb.PhiPolicy.ConditionNumber()))
    client.create_job(spec)
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    batch = (torch.randn(64, 6), torch.randint(0, 3, (64,)))
    loss_fn = torch.nn.CrossEntropyLoss()
    # one probe by each route: both reach the same per-job estimator state
    first = lanczos_probe(net, loss_fn, batch, m=10, seed=3)
    assert ProbePublisher(client, strict=True).publish_lanczos("kafka-probes", 5, first) == 1
    wait_for_probes(client, "kafka-probes", 1)

    second = lanczos_probe(net, loss_fn, batch, m=10, seed=4)
    with ProbePublisher(kafka_bootstrap_servers=service.kafka_bootstrap, strict=True) as publisher:
        assert publisher.via_kafka
        assert publisher.publish_lanczos("kafka-probes", 9, second) == 1
    curvature = wait_for_probes(client, "kafka-probes", 2)
    assert curvature.step == 9
    assert [p.step for p in curvature.timeline] == [5, 9]
    # the first estimate's lambda_max is the largest Ritz value of the probe we sent
    assert curvature.timeline[0].lambda_max == pytest.approx(max(first.ritz_values()), rel=1e-9)
    assert client.learning_rate("kafka-probes", 10).curvature_step == 9


def wait_for_probes(client, job_id, probes, timeout=30.0):
    deadline = time.monotonic() + timeout
    curvature = client.curvature(job_id)
    while curvature.probes < probes and time.monotonic() < deadline:
        time.sleep(0.1)
        curvature = client.curvature(job_id)
    assert curvature.probes == probes, curvature
    return curvature


def test_a_bad_probe_is_rejected_whole_even_when_not_strict(client):
    client.create_job(pb.JobSpec(job_id="bad-probes", total_steps=10, lr_max=0.1, lr_min=0.0))
    publisher = ProbePublisher(client)
    good = pb.ProbeReport(job_id="bad-probes", step=1, lanczos=pb.LanczosProbe(alpha=[1.0, 2.0], beta=[0.5, 0.1]))
    bad = pb.ProbeReport(job_id="bad-probes", step=2, lanczos=pb.LanczosProbe(alpha=[1.0], beta=[-1.0]))
    with pytest.raises(grpc.RpcError) as e:
        publisher.publish([good, bad])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "1" in e.value.details() and "beta" in e.value.details()
    assert client.curvature("bad-probes").probes == 0


def test_a_late_probe_is_dropped_unless_strict(client):
    client.create_job(pb.JobSpec(job_id="late-probes", total_steps=100, lr_max=0.1, lr_min=0.0))
    publisher = ProbePublisher(client)

    def probe(step):
        return pb.ProbeReport(job_id="late-probes", step=step, lanczos=pb.LanczosProbe(alpha=[2.0, 1.0], beta=[0.5, 0.1]))

    assert publisher.publish([probe(20)]) == 1
    wait_for_probes(client, "late-probes", 1)
    # a worker that lags behind the processed step 20: dropped, training goes on
    assert publisher.publish([probe(19)]) == 0
    assert publisher.dropped == 1
    with pytest.raises(grpc.RpcError) as e:
        ProbePublisher(client, strict=True).publish([probe(19)])
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == "probes[0].step: out of order, older than the job's latest processed step 20 (got 19)"
    assert client.curvature("late-probes").probes == 1


def test_phi_experiment_smoke(service, tmp_path):
    """The PyTorch phi-tuning grid on a tiny budget: every output is there and each arm's phi is
    what its policy says (fixed arms constant; kappa arms from the service). Not who wins."""
    import csv
    import statistics

    import phi_experiment

    out = tmp_path / "grid"
    phi_experiment.main(["--target", service.target, "--out", str(out), "--max-steps", "12", "--seeds", "2",
                         "--limit", "500", "--test-limit", "200", "--probes", "1"])
    with open(out / "runs.csv") as f:
        runs = list(csv.DictReader(f))
    assert len(runs) == len(phi_experiment.LEGACY_ARMS) * len(phi_experiment.BUDGETS) * 2
    for label, scale, exponent, fallback in phi_experiment.LEGACY_ARMS:
        mine = [r for r in runs if r["arm"] == label]
        assert len(mine) == len(phi_experiment.BUDGETS) * 2
        for r in mine:
            assert 0.0 <= float(r["test_acc"]) <= 1.0
            # step 0 comes before any estimate applies (the earliest, from the probe at step 0, applies
            # from step 1), so every arm starts on its fallback phi
            assert float(r["phi_first"]) == fallback
            if exponent == 0:  # a fixed arm: phi = scale from the first step to the last
                assert float(r["phi_first"]) == float(r["phi_last"]) == scale
            elif r["source_last"] == "CURVATURE":  # a kappa arm: phi = clamp(scale * (2 kappa)^exponent)
                kappa = float(r["kappa_last"])
                want = min(1000.0, max(0.1, scale * (2 * kappa) ** exponent))
                assert float(r["phi_last"]) == pytest.approx(want, rel=1e-12)
            else:  # no estimate applied yet at the last step: the fallback
                assert float(r["phi_last"]) == fallback
        if exponent > 0:
            assert any(r["source_last"] == "CURVATURE" for r in mine), "no kappa arm ever saw an estimate"
    summary = (out / "summary.md").read_text()
    for label, *_ in phi_experiment.LEGACY_ARMS:
        assert f"| {label} |" in summary
        # the first grid's loss columns are the tail batch loss it was published with (docs/EXPERIMENTS.md)
        row = next(line for line in summary.splitlines() if line.startswith(f"| {label} |"))
        tail = [float(r["train_loss_tail"]) for r in runs if r["arm"] == label and float(r["budget"]) == 1.0]
        assert f"| {statistics.fmean(tail):.4f} ± {statistics.stdev(tail):.4f} |" in row
    # the win-tie-loss table: one row per other arm, each counting every (budget, seed) pair once
    rows = [line.split(" | ") for line in (out / "comparison.md").read_text().splitlines()[2:]]
    assert len(rows) == len(phi_experiment.LEGACY_ARMS) - 1
    for row in rows:
        for counts in row[1:]:
            assert sum(int(c) for c in counts.strip(" |").split("-")) == len(phi_experiment.BUDGETS) * 2
