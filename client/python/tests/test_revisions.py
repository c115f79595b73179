"""Revisions (DESIGN.md §1.5) as the Python scheduler sees them, against a real service: a pushed revision
drops the rates prefetched from its from_step, one made while the watch was down does the same after the
reconnect, the local fallback includes the revisions, and an extension lets training go past the spec's
total_steps. Every rate is compared exactly with the service's GetLearningRate answer for its step."""
import threading
import time

import pytest
import torch

from conftest import Service
from stepsize import StepsizeClient, StepsizeScheduler
from stepsize.schedule import JobSchedule, evaluate
from stepsize.v1 import stepsize_pb2 as pb


def _spec(job_id, total):
    return pb.JobSpec(job_id=job_id, total_steps=total, warmup_steps=10, lr_max=0.1, lr_min=0.001,
                      phi_policy=pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=3.0)))


def _scheduler(client, spec, window, **kw):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    return opt, StepsizeScheduler(opt, client, spec, window=window, **kw)


def _run(opt, sched, steps, lrs):
    """`steps` updates, recording the lr each one used (as a trainer reads it before optimizer.step())."""
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()


def _served(client, job_id, steps):
    return [client.learning_rate(job_id, s) for s in steps]


def _wait(condition, what, timeout=30.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"no {what} within {timeout} s"
        time.sleep(0.01)


def test_a_pushed_revision_drops_the_prefetched_window_from_its_from_step(client):
    job_id = "py-rev-window"
    opt, sched = _scheduler(client, _spec(job_id, 400), window=100)
    lrs = []
    try:
        _run(opt, sched, 80, lrs)  # 3/4 into [0, 100): [100, 200) is prefetched
        remote = sched.remote
        _wait(lambda: remote._next is not None and remote._inflight is None, "prefetched window")
        assert (remote._next.start, remote._next.end) == (100, 200)
        before = _served(client, job_id, range(400))

        job = client.revise_job(job_id, pb.Revision(from_step=150, set_lr=0.02, reason="test"))
        assert [r.number for r in job.revisions] == [1]
        assert sched.wait_for_revision(1, timeout=30)
        # the watch's push cut the prefetched window at the revision's step; [0, 100) is untouched
        assert (remote._next.start, remote._next.end) == (100, 150)
        assert (remote._current.start, remote._current.end) == (0, 100)

        _run(opt, sched, 320, lrs)
    finally:
        sched.close()
    after = _served(client, job_id, range(400))
    assert lrs == [r.lr for r in after]
    assert [r.revision for r in after] == [0] * 150 + [1] * 250
    assert lrs[:150] == [r.lr for r in before[:150]]  # answers before from_step never change
    # and the stale window was not used: the value set from 150 on is not the one prefetched
    assert lrs[150] == 0.02 and before[150].lr > 0.03
    assert sched.remote.local_answers == 0


class _GatedClient:
    """The real client, whose GetCurvature after the first call waits for `release`: the watch's reconnect
    reads the timeline first, so a revision made while it waits is one the watch missed."""

    def __init__(self, client):
        self._client = client
        self.release = threading.Event()
        self.reconnecting = threading.Event()
        self._curvature_calls = 0

    def curvature(self, job_id, timeout=None):
        self._curvature_calls += 1
        if self._curvature_calls > 1:
            self.reconnecting.set()
            self.release.wait(30)
        return self._client.curvature(job_id, timeout=timeout)

    def __getattr__(self, name):
        return getattr(self._client, name)


def test_a_revision_missed_while_the_watch_was_down_cuts_the_windows_after_the_reconnect(client):
    job_id = "py-rev-missed"
    gated = _GatedClient(client)
    opt, sched = _scheduler(gated, _spec(job_id, 400), window=100, retry_after=0.2)
    lrs = []
    try:
        _run(opt, sched, 80, lrs)
        remote = sched.remote
        _wait(lambda: remote._next is not None and remote._inflight is None, "prefetched window")
        _wait(lambda: remote._watch_call is not None, "watch")
        remote._watch_call.cancel()  # the watch drops
        assert gated.reconnecting.wait(30)
        # made while the watch is down: no push will tell this schedule about it
        client.revise_job(job_id, pb.Revision(from_step=130, set_lr=0.02, hold=True))
        client.revise_job(job_id, pb.Revision(from_step=170, set_lr=0.03))
        gated.release.set()
        assert sched.wait_for_revision(2, timeout=30)
        assert (remote._next.start, remote._next.end) == (100, 130)  # the earliest missed from_step
        _run(opt, sched, 320, lrs)
    finally:
        gated.release.set()
        sched.close()
    after = _served(client, job_id, range(400))
    assert lrs == [r.lr for r in after]
    assert lrs[130:170] == [0.02] * 40 and lrs[170] == 0.03
    assert [r.revision for r in after] == [0] * 130 + [1] * 40 + [2] * 230
    assert sched.remote.local_answers == 0


def test_an_extension_lets_the_scheduler_run_past_the_old_total_steps(client):
    job_id = "py-rev-extend"
    opt, sched = _scheduler(client, _spec(job_id, 100), window=40)
    lrs = []
    try:
        _run(opt, sched, 50, lrs)
        job = client.revise_job(job_id, pb.Revision(from_step=60, total_steps=160))
        assert job.total_steps == 160
        assert sched.wait_for_revision(1, timeout=30)
        assert sched.remote.total_steps == 160
        _run(opt, sched, 110, lrs)
    finally:
        sched.close()
    assert sched.last_epoch == 160
    served = [r.lr for r in _served(client, job_id, range(160))]
    assert lrs == served
    # the steps past the old total follow the extended schedule, not the old last step's rate held
    assert lrs[100:] != [lrs[99]] * 60
    assert sched.remote.local_answers == 0


@pytest.fixture
def own_service(tmp_path):
    s = Service(tmp_path / "data", tmp_path / "serve.log").start()
    yield s
    s.kill()


def _continuous_spec(job_id, total):
    return pb.JobSpec(job_id=job_id, total_steps=total, warmup_steps=10, lr_max=0.1, lr_min=0.001,
                      phi_policy=pb.PhiPolicy(condition_number=pb.PhiPolicy.ConditionNumber(
                          mode=pb.PHI_MODE_CONTINUOUS), fallback_phi=5))


def test_the_fallback_after_the_service_dies_follows_the_revised_and_extended_schedule(own_service):
    """Continuous phi (DESIGN.md §1.6) with three estimates, revised at step 80 (set_lr, 200 -> 300
    steps), then the service is killed: every step from 80 on comes from the local formula, which must
    give the service's revised answers (taken before the kill) to 1e-12, up to the new end."""
    job_id = "py-rev-fallback"
    client = StepsizeClient(own_service.target)
    spec = _continuous_spec(job_id, 200)
    opt, sched = _scheduler(client, spec, window=50, deadline=1.0, retry_after=0.5)
    lrs = []
    try:
        for step, top in ((0, 3.0), (20, 8.0), (40, 2.0)):
            _run(opt, sched, step - sched.last_epoch, lrs)
            probe = pb.ProbeReport(job_id=job_id, step=step, worker_id="0",
                                   lanczos=pb.LanczosProbe(alpha=[top, 1.0], beta=[0.5, 0.0]))
            assert client.report_probes([probe]) == 1
            assert sched.wait_for_estimate(step, timeout=30)
        _run(opt, sched, 60 - sched.last_epoch, lrs)
        client.revise_job(job_id, pb.Revision(from_step=80, total_steps=300, set_lr=0.02))
        assert sched.wait_for_revision(1, timeout=30)
        served = _served(client, job_id, range(300))
        own_service.kill()
        _run(opt, sched, 240, lrs)  # from step 80 on, nothing prefetched holds: the local formula answers
    finally:
        sched.close()
        client.close()
    assert sched.remote.local_answers >= 220
    assert sched.last_epoch == 300
    assert [p.step for p in sched.remote.timeline.points] == [0, 20, 40]
    assert [r.revision for r in served] == [0] * 80 + [1] * 220
    assert lrs[:80] == [r.lr for r in served[:80]]
    assert lrs == pytest.approx([r.lr for r in served], rel=1e-12, abs=1e-15)
    # the estimates moved phi, and the spec's curve (no revision) differs from step 80 on: a fallback
    # without the estimates or without the revision would fail above
    assert len({round(r.phi, 9) for r in served}) > 2
    unrevised = JobSchedule.from_spec(spec)
    assert all(abs(evaluate(unrevised, s, sched.remote.timeline).lr - served[s].lr) > 1e-6 for s in range(80, 200))
