"""Two data-parallel ranks (torch.distributed over gloo on CPU, DDP) on one job of a real service:
each runs its own StepsizeScheduler and publishes a Lanczos probe with worker_id = rank at the
same steps. Both must read the same rate at every step, and the estimator must combine the two
probes of each step into one estimate (DESIGN.md §1.4 step 3)."""
import json
import os
import socket
import subprocess
import sys

import pytest

from stepsize.schedule import CurvatureTimeline, JobSchedule, evaluate

HERE = os.path.dirname(os.path.abspath(__file__))
WORLD = 2
TOTAL = 40
PROBE_EVERY = 10


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_ddp_ranks_read_identical_rates_and_their_probes_merge_per_step(service, client, tmp_path):
    job_id = "ddp-2-ranks"
    env = dict(os.environ, WORLD_SIZE=str(WORLD), INIT_METHOD=f"tcp://127.0.0.1:{_free_port()}",
               OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    procs, outs = [], []
    for rank in range(WORLD):
        out = tmp_path / f"rank{rank}.json"
        log = open(tmp_path / f"rank{rank}.log", "wb")
        procs.append(subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ddp_worker.py"), service.target, job_id, str(out), str(TOTAL),
             str(PROBE_EVERY)], env=dict(env, RANK=str(rank)), stdout=log, stderr=subprocess.STDOUT))
        log.close()
        outs.append(out)
    try:
        codes = [p.wait(timeout=240) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    logs = "\n".join((tmp_path / f"rank{r}.log").read_text(errors="replace")[-3000:] for r in range(WORLD))
    assert codes == [0] * WORLD, logs
    runs = [json.loads(o.read_text()) for o in outs]

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

# Follow-up (issue 13 item 4, needs ReviseJob from the `revise` branch): a revision made mid-run
# (e.g. ReviseJob at step 20 extending total_steps) must reach both ranks at the same step: both
# ranks' rates equal from the revision's from_step on, and equal to the served revised schedule.
