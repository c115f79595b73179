"""Two data-parallel ranks (torch.distributed over gloo on CPU, DDP) on one job of a real service:
each runs its own StepsizeScheduler and publishes a Lanczos probe with worker_id = rank at the
same steps. Both must read the same rate at every step, and the estimator must combine the two
probes of each step into one estimate (DESIGN.md §1.4 step 3)."""
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from stepsize.schedule import CurvatureTimeline, JobSchedule, evaluate
from stepsize.v1 import stepsize_pb2 as pb

HERE = os.path.dirname(os.path.abspath(__file__))
WORLD = 2
TOTAL = 40
PROBE_EVERY = 10


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_ranks(service, job_id, tmp_path, extra=()):
    env = dict(os.environ, WORLD_SIZE=str(WORLD), INIT_METHOD=f"tcp://127.0.0.1:{_free_port()}",
               OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    procs, outs = [], []
    for rank in range(WORLD):
        out = tmp_path / f"rank{rank}.json"
        log = open(tmp_path / f"rank{rank}.log", "wb")
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ddp_worker.py"), service.target, job_id, str(out), str(TOTAL),
             str(PROBE_EVERY)] + [str(a) for a in extra], env=dict(env, RANK=str(rank)), stdout=log,
            stderr=subprocess.STDOUT))
        log.close()
        outs.append(out)
    return procs, outs


def _logs(tmp_path):
    return "\n".join((tmp_path / f"rank{r}.log").read_text(errors="replace")[-3000:] for r in range(WORLD))


def _finish(procs, outs, tmp_path):
    try:
        codes = [p.wait(timeout=240) for p in procs]
    finally:
        _kill(procs)
    assert codes == [0] * WORLD, _logs(tmp_path)
    return [json.loads(o.read_text()) for o in outs]


def _kill(procs):
    for p in procs:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=30)


def test_two_ddp_ranks_read_identical_rates_and_their_probes_merge_per_step(service, client, tmp_path):
    job_id = "ddp-2-ranks"
    runs = _finish(*_start_ranks(service, job_id, tmp_path), tmp_path)

    # identical rates at every step, compared exactly
    assert len(runs[0]["lrs"]) == TOTAL and runs[0]["updates"] == TOTAL
    assert runs[0]["lrs"] == runs[1]["lrs"]
    assert runs[0]["probe_steps"] == runs[1]["probe_steps"] == list(range(0, TOTAL, PROBE_EVERY))

    # one estimate per probe step, each combining both workers' probes (a point counts its phase's
    # probes up to its step: 2, 4, 6, 8)
    curvature = client.curvature(job_id)
    assert [(p.step, p.probes) for p in curvature.timeline] == [
        (s, WORLD * (i + 1)) for i, s in enumerate(range(0, TOTAL, PROBE_EVERY))]
    assert curvature.probes == WORLD * len(range(0, TOTAL, PROBE_EVERY))
    # each rank's own timeline (its local fallback's) holds one point per step too: a merged estimate
    # replaced the step's first one rather than followed it
    for run in runs:
        assert run["timeline"] == [[p.step, p.probes] for p in curvature.timeline]

    # and the rates the ranks used are the service's for the final timeline, step by step
    served = [r.lr for r in client.learning_rates(job_id, 0, TOTAL).rates]
    assert runs[0]["lrs"] == served
    timeline = CurvatureTimeline.from_proto(curvature)
    job = JobSchedule.from_spec(client.get_job(job_id).spec)
    assert served == pytest.approx([evaluate(job, s, timeline).lr for s in range(TOTAL)], rel=1e-12, abs=1e-15)
    # the estimates changed phi from the fallback's 5, or ranks reading different estimates could pass
    assert {r.phi for r in client.learning_rates(job_id, 1, TOTAL - 1).rates} != {5.0}


REVISED_AT = 25  # the ranks wait there until the test process has revised the job
FROM_STEP = 30  # the revision's from_step, ahead of both ranks
EXTENDED = 60


def test_a_revision_made_mid_run_reaches_both_ranks_at_its_from_step(service, client, tmp_path):
    """ReviseJob while both ranks wait at step 25 (deterministic: each rank writes a marker there and waits
    until its scheduler knows the revision, pushed by the watch): from step 30 on the lr restarts from 0.01
    (set_lr) and the job
    runs to 60 steps instead of 40. Both ranks use the same rate at every step, the service's, and the
    revised rates from step 30 exactly (the windows both ranks had prefetched up to 40 are dropped)."""
    job_id = "ddp-2-ranks-revised"
    markers = tmp_path / "markers"
    markers.mkdir()
    procs, outs = _start_ranks(service, job_id, tmp_path, extra=(REVISED_AT, markers))
    try:
        end = time.monotonic() + 180
        while not all((markers / f"rank{r}.at").exists() for r in range(WORLD)):
            assert all(p.poll() is None for p in procs), _logs(tmp_path)
            assert time.monotonic() < end, "the ranks did not reach step %d in 180 s\n%s" % (REVISED_AT, _logs(tmp_path))
            time.sleep(0.05)
        # the estimates of steps 0, 10, 20 are in (the ranks waited for them): answers before 30 are final
        before = client.learning_rates(job_id, 0, TOTAL).rates
        job = client.revise_job(job_id, pb.Revision(from_step=FROM_STEP, total_steps=EXTENDED, set_lr=0.01,
                                                    reason="test_ddp"))
        assert (job.total_steps, [r.number for r in job.revisions]) == (EXTENDED, [1])
    except BaseException:
        _kill(procs)
        raise
    runs = _finish(procs, outs, tmp_path)

    assert runs[0]["updates"] == runs[1]["updates"] == EXTENDED
    assert len(runs[0]["lrs"]) == EXTENDED
    assert runs[0]["lrs"] == runs[1]["lrs"]
    assert runs[0]["probe_steps"] == runs[1]["probe_steps"] == list(range(0, EXTENDED, PROBE_EVERY))
    served = client.learning_rates(job_id, 0, EXTENDED).rates
    assert runs[0]["lrs"] == [r.lr for r in served]
    assert [r.revision for r in served] == [0] * FROM_STEP + [1] * (EXTENDED - FROM_STEP)
    assert runs[0]["lrs"][:FROM_STEP] == [r.lr for r in before[:FROM_STEP]]
    # from the revision's step on the rates are not those the ranks had prefetched before it
    # (the re-plan of §1.5 computes lr(a) = v up to rounding: 0.010000000000000002 here)
    assert runs[0]["lrs"][FROM_STEP] == pytest.approx(0.01, rel=1e-12)
    assert abs(before[FROM_STEP].lr - 0.01) > 1e-3
    # the local formula with the job's revisions and final timeline gives the same curve
    timeline = CurvatureTimeline.from_proto(client.curvature(job_id))
    revised = JobSchedule.from_job(client.get_job(job_id))
    assert runs[0]["lrs"] == pytest.approx([evaluate(revised, s, timeline).lr for s in range(EXTENDED)],
                                           rel=1e-12, abs=1e-15)
