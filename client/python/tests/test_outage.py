"""Killing the service (SIGKILL) mid-run does not stop training: the scheduler falls back to the
local formula with the last known curvature, warns, and no step waits past its deadline."""
import logging
import time

import pytest

import train_fashion_mnist as example
from conftest import Service, java_csv
from stepsize.schedule import JobSchedule, Source, evaluate

STEPS = 200
KILL_AFTER = 99  # the service dies after step 99, in the middle of the run


@pytest.fixture
def own_service(tmp_path):
    s = Service(tmp_path / "data", tmp_path / "serve.log").start()
    yield s
    s.kill()


def test_training_survives_the_service_being_killed(own_service, tmp_path, caplog):
    caplog.set_level(logging.WARNING)
    seen = {}
    ends = []

    def on_step(step, scheduler):
        ends.append(time.monotonic())
        seen["scheduler"] = scheduler
        if step == KILL_AFTER:
            seen["timeline"] = scheduler.remote.timeline
            own_service.kill()
            assert own_service.process.poll() is not None

    args = example.parser().parse_args([
        "--target", own_service.target, "--job-id", "outage", "--steps", str(STEPS), "--probe-every", "20",
        "--limit", "4000", "--probe-batch", "128", "--out", str(tmp_path / "run.csv"),
        # small windows, so the run must ask the service again after the kill
        "--window", "30", "--deadline", "1.0", "--retry-after", "0.5", "--wait-estimates", "20"])
    started = time.monotonic()
    rows = example.run(args, on_step=on_step)

    assert [r["step"] for r in rows] == list(range(STEPS))
    scheduler = seen["scheduler"]
    assert scheduler.remote.local_answers > 0  # the steps after the kill came from the local formula
    assert scheduler.remote.remote_answers >= KILL_AFTER + 1

    # the last known curvature: the estimates of the probes before the kill, nothing after
    timeline = scheduler.remote.timeline
    assert [p.step for p in timeline.points] == [0, 20, 40, 60, 80]
    assert timeline.points == seen["timeline"].points

    # every rate, before and after the kill, is the formula's value for that step and that curvature:
    # the fallback continues the schedule seamlessly instead of jumping back to fallback_phi
    job = JobSchedule.from_spec(scheduler.remote.spec)
    for r in rows:
        want = evaluate(job, r["step"], timeline)
        assert r["lr"] == pytest.approx(want.lr, rel=1e-12, abs=1e-15), r
        assert r["phi"] == pytest.approx(want.phi, rel=1e-12), r
    assert all(r["source"] == Source.CURVATURE.name for r in rows[1:])

    # it said so: the scheduler warned, and the probes after the kill were dropped with a warning
    messages = [rec.getMessage() for rec in caplog.records if rec.levelno >= logging.WARNING]
    assert any("Stepsize service unavailable for job outage" in m for m in messages), messages
    assert any("dropped 1 probe(s) of job outage" in m for m in messages), messages

    # never hangs: no step after the kill waited much longer than one deadline (1 s)
    gaps = [b - a for a, b in zip(ends[KILL_AFTER:], ends[KILL_AFTER + 1:])]
    assert max(gaps) < 5.0, max(gaps)
    assert time.monotonic() - started < 120


def test_training_starts_with_the_service_down(caplog):
    """No service at all: the job's spec is known to the trainer, so every step comes from the
    local formula with fallback_phi, with a warning, and nothing waits past the deadline."""
    import socket

    import torch

    from stepsize import StepsizeClient, StepsizeScheduler
    from stepsize.v1 import stepsize_pb2 as pb

    caplog.set_level(logging.WARNING)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = pb.JobSpec(job_id="nobody-home", total_steps=50, warmup_steps=5, lr_max=0.2, lr_min=0.01,
                      optimizer=pb.OPTIMIZER_ADAMW)  # condition_number policy, fallback phi 0.5
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = torch.optim.AdamW(params, lr=1.0)
    client = StepsizeClient(f"127.0.0.1:{port}", deadline=0.5)
    scheduler = StepsizeScheduler(optimizer, client, spec, deadline=0.5, retry_after=0.2)
    job = JobSchedule.from_spec(spec)
    lrs, stamps = [], [time.monotonic()]
    for step in range(50):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
        stamps.append(time.monotonic())
    scheduler.close()
    client.close()
    # the Java schedule library's rates for the same job with phi fixed at the fallback (0.5)
    java = java_csv(50, 5, [], 0, 0.2, 0.01, 0.5)
    assert lrs == pytest.approx([r["lr"] for r in java], rel=1e-12, abs=0)
    assert evaluate(job, 10).phi == 0.5 and evaluate(job, 10).source == Source.FALLBACK
    assert scheduler.remote.remote_answers == 0 and scheduler.remote.local_answers >= 50
    messages = [r.getMessage() for r in caplog.records]
    assert any("job nobody-home starts on the local formula" in m for m in messages), messages
    assert max(b - a for a, b in zip(stamps, stamps[1:])) < 3.0


def test_the_scheduler_returns_to_the_service_once_it_is_back(tmp_path, caplog):
    """Killed, then restarted on the same data directory and ports: the scheduler answers locally
    meanwhile, and goes back to the service's windows once it answers again, with the same rates."""
    import torch

    from stepsize import StepsizeClient, StepsizeScheduler
    from stepsize.v1 import stepsize_pb2 as pb

    caplog.set_level(logging.WARNING)
    first = Service(tmp_path / "data", tmp_path / "serve-1.log").start()
    port, kafka_port = first.grpc_port, int(first.kafka_bootstrap.rsplit(":", 1)[1])
    second = None
    try:
        spec = pb.JobSpec(job_id="comeback", total_steps=400, lr_max=0.1, lr_min=0.001,
                          phi_policy=pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=3.0)))
        params = [torch.nn.Parameter(torch.zeros(2))]
        optimizer = torch.optim.SGD(params, lr=1.0)
        client = StepsizeClient(first.target, deadline=1.0)
        scheduler = StepsizeScheduler(optimizer, client, spec, window=20, deadline=1.0, retry_after=0.3)
        job = JobSchedule.from_spec(spec)
        lrs = []

        def step():
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()

        for _ in range(30):
            step()
        assert scheduler.remote.local_answers == 0
        first.kill()
        for _ in range(30):  # past the window: the scheduler must ask, fail and answer locally
            step()
        offline = scheduler.remote.local_answers
        assert offline > 0

        second = Service(tmp_path / "data", tmp_path / "serve-2.log", grpc_port=port, kafka_port=kafka_port).start()
        remote_before = scheduler.remote.remote_answers
        deadline = time.monotonic() + 60
        while scheduler.remote.remote_answers == remote_before and time.monotonic() < deadline:
            step()
            time.sleep(0.05)
        assert scheduler.remote.remote_answers > remote_before, "never went back to the service"
        for _ in range(20):
            step()
        # every rate, local or remote, is the job's formula (fixed phi: no curvature involved)
        assert lrs == pytest.approx([evaluate(job, s).lr for s in range(len(lrs))], rel=1e-12, abs=0)
        # and the restarted service kept the job and answers the same rates
        back = client.learning_rates("comeback", 0, len(lrs), timeout=5.0)
        assert [r.lr for r in back.rates] == pytest.approx(lrs, rel=1e-12, abs=0)
        scheduler.close()
        client.close()
    finally:
        first.kill()
        if second is not None:
            second.stop()
