"""The baselines of stepsize.schedule against independent definitions: PyTorch's own OneCycleLR and
CosineAnnealingLR, and the closed forms of the Java enum's javadoc at hand-computed points."""
import math

import pytest
import torch

from conftest import java_baseline_names, java_csv
from stepsize.schedule import (BASELINES, Budget, JobSchedule, PhiPolicy, Source, baseline_factor,
                               evaluate_baseline)


def _torch_lrs(make, n, lr=1.0):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("n", [1, 7, 100, 333])
def test_onecycle_is_pytorchs(n):
    expected = _torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=n), n)
    for t in range(n):
        assert baseline_factor("onecycle", t, n) == pytest.approx(expected[t], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("n", [5, 100])
def test_cosine_is_pytorchs_cosine_annealing(n):
    expected = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=n), n)
    for t in range(n):
        assert baseline_factor("cosine", t, n) == pytest.approx(expected[t], rel=1e-9, abs=1e-12)


def test_closed_forms_at_hand_computed_points():
    # step: x0.1 from t >= T'/2, x0.01 from t >= 3T'/4
    assert [baseline_factor("step", t, 8) for t in (3, 4, 5, 6, 7)] == [1, 0.1, 0.1, 0.01, 0.01]
    assert baseline_factor("linear", 25, 100) == 0.75
    # REX at z = 1/2: (1/2)/(1/2 + 1/4) = 2/3
    assert baseline_factor("rex", 50, 100) == pytest.approx(2 / 3, rel=1e-15)
    # WSD over T' = 10: D = 2 decay steps from t = 8; t = 9 gives 1 - sqrt(1/2)
    assert [baseline_factor("wsd", t, 10) for t in (0, 7, 8)] == [1, 1, 1]
    assert baseline_factor("wsd", 9, 10) == pytest.approx(1 - math.sqrt(0.5), rel=1e-15)
    # cyclic with T' = 8: half-cycle 2, triangles 0 -> 1 -> 0 twice
    assert [baseline_factor("cyclic", t, 8) for t in range(8)] == [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5]
    assert baseline_factor("exponential", 9, 10) == pytest.approx(0.01, rel=1e-14)
    assert baseline_factor("constant", 3, 4) == 1


def test_bad_input_names_the_field_and_rule():
    with pytest.raises(ValueError, match=r"^baseline: must be one of constant, step, cosine, linear, rex, onecycle, "
                                         r"cyclic, wsd, exponential \(got sawtooth\)$"):
        baseline_factor("sawtooth", 0, 10)
    with pytest.raises(ValueError, match=r"^step: must be in \[0, total_steps = 10\) \(got 10\)$"):
        baseline_factor("cosine", 10, 10)
    # the names are the Java enum's, as the CLI lists them when it refuses one
    assert sorted(BASELINES) == sorted(java_baseline_names())


def test_evaluate_baseline_shares_the_jobs_warmup_and_range():
    job = JobSchedule(Budget(110, 10), 0.2, 0.02, PhiPolicy("fixed", phi=5.0), 5.0)
    # warmup reaches lr_max at s = W - 1, as UBA's does
    v = evaluate_baseline(job, "linear", 4)
    assert (v.lr, v.source) == (pytest.approx(0.2 * 5 / 10, rel=1e-15), Source.WARMUP)
    # then lr_min + (lr_max - lr_min)·g(s - W) over T - W = 100 steps
    v = evaluate_baseline(job, "linear", 60)
    assert v.lr == pytest.approx(0.02 + 0.18 * 0.5, rel=1e-15)
    assert (v.source, v.phi, v.guarded) == (Source.FIXED, 0.0, False)


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("total, warmup", [(103, 7), (9, 3)])
def test_evaluate_baseline_is_javas(name, total, warmup):
    """Every baseline, after a warmup, against LrEvaluator.evaluate(job, baseline, s) through `stepsize schedule`."""
    java = java_csv(total, warmup, [], 0, 0.3, 0.01, baseline=name)
    job = JobSchedule(Budget(total, warmup), 0.3, 0.01, PhiPolicy("fixed", phi=5.0), 5.0)
    for row in java:
        v = evaluate_baseline(job, name, row["step"])
        assert (v.phase, v.source) == (row["phase"], Source.WARMUP if row["step"] < warmup else Source.FIXED)
        assert v.lr == pytest.approx(row["lr"], rel=1e-12, abs=1e-15)
        assert v.factor == pytest.approx(row["factor"], rel=1e-12, abs=1e-15)
