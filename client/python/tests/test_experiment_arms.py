"""phi_experiment.py reads the arm syntax of `stepsize experiment --arms` (Arm.parse in Java): same labels,
same defaults for the probe start, same refusals."""
import pytest

import phi_experiment as px


def test_arms_parse_to_the_java_labels_and_starts():
    a = px.parse_arm("kappa:0.1:1:continuous:edge=gradient_harmonic:guard=1.5")
    assert a["label"] == "uba-kappa:0.1:1:continuous:edge=gradient_harmonic:guard=1.5"
    assert (a["scale"], a["exponent"], a["mode"], a["edge"], a["guard"], a["start"]) == (
        0.1, 1.0, "continuous", "gradient_harmonic", 1.5, "gradient")
    # the first grid's syntax keeps its random start; start= overrides and is named where it differs
    assert px.parse_arm("kappa:0.1:1")["start"] == "random"
    # only the gradient-harmonic edge implies a gradient start (Arm.parse): the guard and continuous mode read λ_max
    assert px.parse_arm("kappa:0.1:1:continuous")["start"] == "random"
    assert px.parse_arm("kappa:guard=1")["start"] == "random"
    assert px.parse_arm("phi:0.5:guard=1")["start"] == "random"
    assert px.parse_arm("kappa:0.1:1:live:edge=floor")["start"] == "random"
    assert px.parse_arm("kappa:0.1:1:live:edge=gradient_harmonic")["start"] == "gradient"
    assert px.parse_arm("kappa:0.1:1:continuous:guard=1.5:start=gradient")["label"] == (
        "uba-kappa:0.1:1:continuous:guard=1.5:start=gradient")
    assert px.parse_arm("kappa:0.1:1:live:start=gradient")["label"] == "uba-kappa:0.1:1:live:start=gradient"
    assert px.parse_arm("phi:0.5")["label"] == "uba-phi=0.5"
    assert px.parse_arm("OneCycle") == {"label": "onecycle", "kind": "baseline", "baseline": "onecycle"}


def test_phi_paper_is_the_papers_sgd_phi_and_labels_are_javas():
    # this trainer is SGD: Arm.phiFor(SGD) gives the paper's 5, and the label keeps the word (Arm.parse)
    a = px.parse_arm("phi:paper:guard=2")
    assert (a["kind"], a["phi"], a["guard"], a["label"]) == ("fixed", 5.0, 2.0, "uba-phi=paper:guard=2")
    # numbers as Arm.fmt writes them: integral without a fraction, the rest as Double.toString (1.0E-4, not 0.0001)
    assert px.parse_arm("phi:1e-4")["label"] == "uba-phi=1.0E-4"
    assert px.parse_arm("kappa:0.25:1.5e-5")["label"] == "uba-kappa:0.25:1.5E-5:live"
    assert px.parse_arm("phi:12345678.5")["label"] == "uba-phi=1.23456785E7"
    assert px.parse_arm("kappa:2:0.001:latched")["label"] == "uba-kappa:2:0.001:latched"


@pytest.mark.parametrize("spec, message", [
    ("kappa:1:1:sometimes", "arm 'kappa:1:1:sometimes': mode must be live, latched or continuous"),
    ("kappa:1:1:live:edge=lowest",
     "arm 'kappa:1:1:live:edge=lowest': edge must be smallest_positive, quantile, floor or gradient_harmonic"),
    ("kappa:1:1:live:guard=0", "arm 'kappa:1:1:live:guard=0': guard must be finite and > 0"),
    ("phi:5:edge=floor", "arm 'phi:5:edge=floor': edge applies to kappa arms only"),
    ("kappa:1:1:live:colour=red", "arm 'kappa:1:1:live:colour=red': unknown option colour (edge, guard or start)"),
    ("kappa:1:1:live:guard=1:guard=2", "arm 'kappa:1:1:live:guard=1:guard=2': option guard given twice"),
    ("kappa:1:1:live:start=random:start=random",
     "arm 'kappa:1:1:live:start=random:start=random': option start given twice"),
    ("phi:5:live", "arm 'phi:5:live': option 'live' must be NAME=VALUE (edge, guard or start)"),
    ("phi", "arm 'phi': expected phi:VALUE or phi:paper[:OPTION=VALUE...]"),
    ("cosine:1", "arm 'cosine:1': unknown kind cosine"),
    ("kappa:1:1:live:gradient", "arm 'kappa:1:1:live:gradient': expected kappa or "
                                "kappa:SCALE:EXPONENT[:live|latched|continuous][:OPTION=VALUE...]"),
])
def test_bad_arms_are_refused_with_their_rule(spec, message):
    with pytest.raises(ValueError) as e:
        px.parse_arm(spec)
    assert str(e.value) == message


def test_paired_outcome_is_summary_compare():
    # a NaN loss is a divergence: the arm with fewer divergences wins, whatever the finite values say
    assert px.paired_outcome({0: (0.5, False), 1: (0.5, False)}, {0: (float("nan"), True), 1: (0.1, False)},
                             False) == "W"
    assert px.diverged({"train_loss": "nan", "test_loss": "0.3"}) and not px.diverged(
        {"train_loss": "0.2", "test_loss": "0.3"})
    # |mean Δ| > 2·sd/√n: Δ = 0.01, 0.02, 0.03 (mean 0.02, sd 0.01, margin 0.0115) wins; higher_better flips sign
    mine = {0: (0.81, False), 1: (0.82, False), 2: (0.83, False)}
    theirs = {0: (0.80, False), 1: (0.80, False), 2: (0.80, False)}
    assert px.paired_outcome(mine, theirs, True) == "W"
    assert px.paired_outcome(mine, theirs, False) == "L"
    # Δ = 0.01, -0.01, 0.03: mean 0.01 within the margin 2·0.02/√3 = 0.023, a tie; identical runs tie
    assert px.paired_outcome({0: (0.81, False), 1: (0.79, False), 2: (0.83, False)}, theirs, True) == "T"
    assert px.paired_outcome(theirs, theirs, True) == "T"
    # one pair: no spread, so the sign decides, as in Java (margin 0 for n < 2)
    assert px.paired_outcome({0: (0.9, False)}, {0: (0.8, False)}, True) == "W"


def test_probe_start_with_arms_is_refused(capsys):
    # each spec says its start, so a grid-wide --probe-start would be silently ignored
    with pytest.raises(SystemExit) as e:
        px.main(["--arms", "cosine", "--probe-start", "gradient"])
    assert e.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: --probe-start: applies to the first grid only; with --arms write start=gradient|random in the arm\n")


def test_reference_without_arms_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        px.main(["--reference", "cosine"])
    assert e.value.code == 2
    assert capsys.readouterr().err.endswith(
        "error: --reference: needs --arms (the first grid's table compares its default arm with the others)\n")
