"""A fixed-phi job: the scheduler's rates against the Java schedule library, three ways.

1. the Python local formula against `stepsize schedule` (the Java library through the CLI's CSV);
2. the scheduler's per-group lrs, step by step through torch, against the served job's
   GetLearningRates (the Java library inside the service);
3. the same lrs against the local formula and against lr_min_g + (lr_max_g - lr_min_g)·factor
   with the CLI's factor. All to 1e-12.
"""
import math

import pytest
import torch

from conftest import java_csv
from stepsize import StepsizeScheduler
from stepsize.schedule import JobSchedule, Source, evaluate
from stepsize.v1 import stepsize_pb2 as pb

TOL = 1e-12

CASES = [
    # (name, total, warmup, boundaries, offset, lr_max, lr_min, phi, groups)
    ("three-phases-warmup", 257, 13, [100, 180, 257], 0, 0.2, 0.003, 3.7, [(0.2, 0.003), (0.05, 0.0)]),
    ("rising-first", 64, 0, [], 1, 0.1, 0.001, 0.5, [(0.3, 0.01), (0.1, 0.001)]),
    ("steep", 120, 7, [40, 120], 1, 1.0, 0.0, 250.0, []),
]


def spec_of(name, total, warmup, boundaries, offset, lr_max, lr_min, phi, groups):
    return pb.JobSpec(
        job_id=f"fixed-{name}", total_steps=total, warmup_steps=warmup, phase_boundaries=boundaries,
        phase_offset=offset, lr_max=lr_max, lr_min=lr_min, optimizer=pb.OPTIMIZER_SGD,
        groups=[pb.ParamGroup(name=f"g{i}", lr_max=a, lr_min=b) for i, (a, b) in enumerate(groups)],
        phi_policy=pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=phi)))


def optimizer_with_groups(n):
    params = [torch.nn.Parameter(torch.zeros(3)) for _ in range(max(n, 1))]
    return torch.optim.SGD([{"params": [p]} for p in params], lr=123.0)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_local_formula_matches_java_cli(case):
    name, total, warmup, boundaries, offset, lr_max, lr_min, phi, groups = case
    job = JobSchedule.from_spec(spec_of(*case))
    java = java_csv(total, warmup, boundaries, offset, lr_max, lr_min, phi)
    for row in java:
        v = evaluate(job, row["step"])
        assert v.phase == row["phase"], row
        assert v.factor == pytest.approx(row["factor"], abs=TOL, rel=0), row
        assert v.lr == pytest.approx(row["lr"], abs=TOL, rel=0), row
        assert v.source == (Source.WARMUP if row["step"] < warmup else Source.FIXED)
    # the CSV is not trivially flat: it spans the whole range, so a wrong phi would show
    assert max(r["lr"] for r in java) == pytest.approx(lr_max, rel=0.05)
    assert min(r["lr"] for r in java) < lr_min + 0.05 * (lr_max - lr_min)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_scheduler_matches_service_and_java(case, client):
    name, total, warmup, boundaries, offset, lr_max, lr_min, phi, groups = case
    spec = spec_of(*case)
    java = java_csv(total, warmup, boundaries, offset, lr_max, lr_min, phi)
    client.create_job(spec)
    served = list(client.learning_rates(spec.job_id, 0, total).rates)
    assert len(served) == total
    job = JobSchedule.from_spec(spec)
    optimizer = optimizer_with_groups(len(groups))
    # a small window, so the run crosses several prefetched windows
    scheduler = StepsizeScheduler(optimizer, client, spec, window=37)
    try:
        for step in range(total):
            lrs = [g["lr"] for g in optimizer.param_groups]
            want_served = list(served[step].group_lrs) or [served[step].lr] * len(lrs)
            want_local = list(evaluate(job, step).group_lrs) or [evaluate(job, step).lr] * len(lrs)
            factor = java[step]["factor"]
            if groups:
                want_java = [(a * factor) if step < warmup else b + (a - b) * factor for a, b in groups]
            else:
                want_java = [java[step]["lr"]] * len(lrs)
            for got, s, loc, jv in zip(lrs, want_served, want_local, want_java):
                assert got == s, (step, lrs, want_served)  # the service's answer, unchanged
                assert abs(got - loc) <= TOL, (step, got, loc)
                assert abs(got - jv) <= TOL, (step, got, jv)
            assert scheduler.last_value.phi == phi
            optimizer.step()
            scheduler.step()
        assert scheduler.remote.local_answers == 0
        assert scheduler.remote.remote_answers >= total
    finally:
        scheduler.close()


def test_state_dict_resume_gives_the_same_rates(client):
    spec = spec_of(*CASES[0])
    groups = len(spec.groups)
    first_opt = optimizer_with_groups(groups)
    first = StepsizeScheduler(first_opt, client, spec, window=50)
    lrs_straight = []
    for _ in range(150):
        lrs_straight.append([g["lr"] for g in first_opt.param_groups])
        first_opt.step()
        first.step()
    state = first.state_dict()
    assert state["last_epoch"] == 150 and set(state) >= {"job_id", "last_epoch"}
    after = []
    for _ in range(50):
        after.append([g["lr"] for g in first_opt.param_groups])
        first_opt.step()
        first.step()
    first.close()

    # a new process: fresh optimizer (lr 123 in every group), fresh scheduler, loaded state
    resumed_opt = optimizer_with_groups(groups)
    resumed = StepsizeScheduler(resumed_opt, client, spec.job_id, window=50)  # by job id this time
    resumed.load_state_dict(state)
    got = []
    for _ in range(50):
        got.append([g["lr"] for g in resumed_opt.param_groups])
        resumed_opt.step()
        resumed.step()
    resumed.close()
    assert got == after
    assert not math.isclose(after[0][0], lrs_straight[0][0])  # the resumed rate is not a restart


def test_group_count_mismatch_is_rejected(client):
    spec = spec_of(*CASES[0])  # two groups
    with pytest.raises(ValueError, match="2 parameter groups, the optimizer has 3"):
        StepsizeScheduler(optimizer_with_groups(3), client, spec)


def test_unknown_job_id_is_not_found(client):
    import grpc
    with pytest.raises(grpc.RpcError) as e:
        StepsizeScheduler(optimizer_with_groups(1), client, "no-such-job")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
