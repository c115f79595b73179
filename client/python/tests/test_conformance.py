"""The Python port against the Java schedule, case by case, from conformance/schedule-cases.json.

The Java test wire/src/test/java/io/stepsize/wire/ScheduleConformanceTest.java writes that file from
the Java library (JobSpec with its revisions and Curvature through JobSpecs, JobPlan, LearningRateProtos) and fails
when the committed copy is stale, so what is replayed here is what the service answers now. Every
double must agree to 1e-12 relative; step, phase, source, curvature_step and guarded exactly; edge_ratio is null in
the file where Java's is NaN.
"""
import json
import math
import os

import pytest
from google.protobuf import json_format

from stepsize import lanczos, schedule
from stepsize.schedule import CurvatureTimeline, JobSchedule, PhiPolicy, Source, evaluate
from stepsize.v1 import stepsize_pb2 as pb

REL = 1e-12
HERE = os.path.dirname(os.path.abspath(__file__))
CASES_FILE = os.path.join(HERE, "..", "..", "..", "conformance", "schedule-cases.json")

with open(CASES_FILE) as f:
    FILE = json.load(f)
CASES = FILE["cases"]


def close(got, want):
    return got == want or math.isclose(got, want, rel_tol=REL, abs_tol=0.0)


def test_the_file_has_every_kind_of_case():
    # a truncated or emptied file must not pass by replaying nothing
    sources = {row["source"] for c in CASES for row in c["expected"]}
    assert sources == {"SOURCE_FIXED", "SOURCE_WARMUP", "SOURCE_CURVATURE", "SOURCE_FALLBACK"}
    policies = {json_format.ParseDict(c["spec"], pb.JobSpec()).phi_policy.WhichOneof("policy") for c in CASES}
    assert policies == {"fixed", "condition_number", "chebyshev", None}
    assert sum(len(c["expected"]) for c in CASES) > 400
    # revisions (DESIGN.md §1.5) and continuous mode (§1.6) are replayed too
    assert {row["revision"] for c in CASES for row in c["expected"]} >= {0, 1, 2, 3, 4}
    modes = {json_format.ParseDict(c["spec"], pb.JobSpec()).phi_policy.condition_number.mode for c in CASES}
    assert pb.PhiMode.PHI_MODE_CONTINUOUS in modes
    # the stability margin (DESIGN.md §1.7): guarded answers, edge ratios and NaN ones, both operators
    assert {row["guarded"] for c in CASES for row in c["expected"]} == {True, False}
    assert any(row["edge_ratio"] is None for c in CASES for row in c["expected"])
    assert any((row["edge_ratio"] or 0) > 1 for c in CASES for row in c["expected"])
    operators = {p.operator for c in CASES for p in json_format.ParseDict(c["curvature"], pb.Curvature()).timeline}
    assert operators == {pb.Operator.OPERATOR_UNSPECIFIED, pb.Operator.OPERATOR_PRECONDITIONED}


def test_defaults_match_java():
    d = FILE["defaults"]
    assert schedule.DEFAULT_APPLY_DELAY_STEPS == d["apply_delay_steps"]
    cn = d["condition_number"]
    assert (schedule.DEFAULT_SCALE, schedule.DEFAULT_EXPONENT, schedule.DEFAULT_PHI_MIN, schedule.DEFAULT_PHI_MAX) == (
        cn["scale"], cn["exponent"], cn["phi_min"], cn["phi_max"])
    assert cn["mode"] == "LIVE"  # the port's PhiPolicy defaults to latched=False
    assert not PhiPolicy("condition_number").latched
    # the trainer-side driver refuses what ProbeValidation would reject
    assert lanczos.MAX_STEPS == d["probe_max_m"]
    assert schedule.DEFAULT_MOMENTUM == d["momentum"]
    for name, phi in d["fallback_phi"].items():
        spec = pb.JobSpec(job_id="d", total_steps=1, optimizer=pb.Optimizer.Value(name))
        assert JobSchedule.from_spec(spec).fallback_phi == phi, name


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_matches_java(case):
    spec = json_format.ParseDict(case["spec"], pb.JobSpec())
    curvature = json_format.ParseDict(case["curvature"], pb.Curvature())
    job = JobSchedule.from_spec(spec)
    timeline = CurvatureTimeline.from_proto(curvature)
    for want in case["expected"]:
        got = evaluate(job, want["step"], timeline)
        where = (case["name"], want["step"])
        assert got.step == want["step"], where
        assert got.phase == want["phase"], where
        assert got.source == Source(pb.Source.Value(want["source"])), where
        assert got.curvature_step == want["curvature_step"], where
        assert got.revision == want["revision"], where
        for field in ("lr", "factor", "phi", "kappa", "lambda_low", "lambda_max"):
            assert close(getattr(got, field), want[field]), (where, field, getattr(got, field), want[field])
        assert got.guarded == want["guarded"], where
        if want["edge_ratio"] is None:
            assert math.isnan(got.edge_ratio), (where, "edge_ratio", got.edge_ratio)
        else:
            assert close(got.edge_ratio, want["edge_ratio"]), (where, "edge_ratio", got.edge_ratio, want["edge_ratio"])
        assert len(got.group_lrs) == len(want["group_lrs"]), where
        for g, (a, b) in enumerate(zip(got.group_lrs, want["group_lrs"])):
            assert close(a, b), (where, "group", g, a, b)


def test_bad_momentum_and_guard_are_refused_as_java_words_them():
    base = dict(job_id="m", total_steps=10, lr_max=0.1, lr_min=0.0)
    with pytest.raises(ValueError, match=r"^momentum: must be in \[0, 1\) \(got 1.0\)$"):
        JobSchedule.from_spec(pb.JobSpec(momentum=1.0, **base))
    with pytest.raises(ValueError, match=r"^guard.max_edge_ratio: must be finite and > 0 \(got 0.0\)$"):
        JobSchedule.from_spec(pb.JobSpec(guard=pb.EdgeGuard(max_edge_ratio=0.0), **base))
    with pytest.raises(ValueError, match=r"^guard.max_edge_ratio: needs optimizer SGD or ADAMW"):
        JobSchedule.from_spec(pb.JobSpec(optimizer=pb.Optimizer.OPTIMIZER_OTHER,
                                         guard=pb.EdgeGuard(max_edge_ratio=1.0), **base))
    # momentum 0 set is not momentum unset (0.9): proto3 optional keeps them apart
    assert JobSchedule.from_spec(pb.JobSpec(momentum=0.0, **base)).margin.threshold() == 2.0
    assert JobSchedule.from_spec(pb.JobSpec(**base)).margin.threshold() == 2 + 2 * 0.9


def test_an_unknown_policy_is_refused():
    job = JobSchedule.from_spec(pb.JobSpec(job_id="u", total_steps=10, lr_max=1, lr_min=0))
    job.policy.kind = "cosine"  # what a policy added to Java but not to this port would look like
    with pytest.raises(ValueError, match="phi_policy: must be fixed, condition_number or chebyshev"):
        evaluate(job, 3)
    with pytest.raises(ValueError, match="phi_policy: must be fixed, condition_number or chebyshev"):
        PhiPolicy("cosine")


def test_a_served_answer_reads_back_with_its_edge_ratio_and_guard():
    # what remote.py does with GetLearningRates: NaN stays NaN, guarded stays set
    nan = schedule.LrValue.from_proto(pb.LearningRate(step=3, lr=0.1, source=pb.Source.SOURCE_FIXED, edge_ratio=math.nan))
    assert math.isnan(nan.edge_ratio) and not nan.guarded
    capped = schedule.LrValue.from_proto(pb.LearningRate(step=4, lr=0.075, source=pb.Source.SOURCE_FIXED, edge_ratio=4.0,
                                                               guarded=True))
    assert (capped.edge_ratio, capped.guarded) == (4.0, True)
    # and a pushed estimate keeps its operator (the latest point of a Curvature)
    point = schedule.CurvaturePoint.from_proto(pb.Curvature(step=5, applies_from_step=6, lambda_max=3.0,
                                                            operator=pb.Operator.OPERATOR_PRECONDITIONED))
    assert point.preconditioned
    assert not schedule.CurvaturePoint.from_proto(pb.CurvaturePoint(step=5, applies_from_step=6)).preconditioned
