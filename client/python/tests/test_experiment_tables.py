"""The issue-14 tables of docs/EXPERIMENTS.md come from the committed runs by the committed scripts: the selection
scores, the CNN's summary.md and its per-budget table."""
import os

import experiment_tables as tables
import phi_experiment as px

CNN = os.path.join(tables.REPO, "docs", "experiments", "cnn")
RULE = "kappa:0.1:1:continuous:edge=gradient_harmonic"


def test_selection_scores_are_the_documented_ones():
    out = tables.selection([os.path.join(tables.ISSUE14, "jvm-sgd"), os.path.join(tables.ISSUE14, "jvm-adamw")],
                           os.path.join(tables.ISSUE14, "torch-mlp"))
    # the scores "The rule" section states (EXPERIMENTS.md), each arm against cosine, linear, REX and phi = 0.5
    for arm, score in [("uba-kappa:0.1:1:continuous:edge=gradient_harmonic", "+10 | +0 | +10"),
                       ("uba-kappa:0.1:1:live:edge=gradient_harmonic", "-28"),
                       ("uba-kappa:1:0.5:live:edge=gradient_harmonic", "-67"),
                       ("uba-kappa:1:1:live:edge=gradient_harmonic", "-93"),
                       ("uba-kappa:0.1:1:live", "-3"), ("uba-phi=0.5", "+13")]:
        assert f"| {arm} | {score}" in out
    assert out.count("identical to uba-kappa:0.1:1:live:edge=gradient_harmonic: yes") == 2


def test_cnn_summary_is_the_committed_file(tmp_path):
    with open(os.path.join(CNN, "summary.md")) as f:
        committed = f.read()
    tables.main(["cnn-summary", "--out", str(tmp_path), os.path.join(CNN, "runs.csv")])
    assert (tmp_path / "summary.md").read_text() == committed
    with open(os.path.join(CNN, "runs.csv")) as f:
        assert (tmp_path / "runs.csv").read_text() == f.read()


def test_compare_with_reference_prints_the_committed_cnn_table(capsys):
    px.main(["--compare", os.path.join(CNN, "runs.csv"), "--reference", RULE])
    printed = capsys.readouterr().out
    with open(os.path.join(CNN, "summary.md")) as f:
        assert printed in f.read()
    assert printed.startswith(f"| uba-{RULE} against |") and printed.count("\n") == 11


def test_guard_edge_bound_is_the_documented_one():
    out = tables.edge_bound(os.path.join(tables.ISSUE14, "jvm-sgd"), 0.1, 0.9)
    assert "max lambda_max 15.64 (fashion, 25%, seed 1, step 7), edge ratio <= 0.1 * 15.64 / 3.8 = 0.411" in out
    assert "max lambda_max 6.30 (fashion, 100%, seed 0, step 101), edge ratio <= 0.1 * 6.30 / 3.8 = 0.166" in out
