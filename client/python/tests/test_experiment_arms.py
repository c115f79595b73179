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
    assert px.parse_arm("kappa:0.1:1:live:start=gradient")["label"] == "uba-kappa:0.1:1:live:start=gradient"
    assert px.parse_arm("phi:0.5")["label"] == "uba-phi=0.5"
    assert px.parse_arm("OneCycle") == {"label": "onecycle", "kind": "baseline", "baseline": "onecycle"}


@pytest.mark.parametrize("spec, message", [
    ("kappa:1:1:sometimes", "arm 'kappa:1:1:sometimes': mode must be live, latched or continuous"),
    ("kappa:1:1:live:edge=lowest",
     "arm 'kappa:1:1:live:edge=lowest': edge must be smallest_positive, quantile, floor or gradient_harmonic"),
    ("kappa:1:1:live:guard=0", "arm 'kappa:1:1:live:guard=0': guard must be finite and > 0"),
    ("phi:5:edge=floor", "arm 'phi:5:edge=floor': edge applies to kappa arms only"),
    ("kappa:1:1:live:colour=red", "arm 'kappa:1:1:live:colour=red': unknown option colour (edge, guard or start)"),
    ("kappa:1:1:live:gradient", "arm 'kappa:1:1:live:gradient': expected kappa or "
                                "kappa:SCALE:EXPONENT[:live|latched|continuous][:OPTION=VALUE...]"),
])
def test_bad_arms_are_refused_with_their_rule(spec, message):
    with pytest.raises(ValueError) as e:
        px.parse_arm(spec)
    assert str(e.value) == message
