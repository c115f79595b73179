#!/usr/bin/env python3
"""The issue-14 tables of docs/EXPERIMENTS.md, from the committed runs (no training):

  selection    the sections "What the selection runs say" and "The rule": win/tie/loss of each κ arm (and the old
               default and fixed φ = 0.5) against cosine, linear, REX, φ = 0.5 and the old default, summed over the
               12 JVM cells (workload × optimizer × budget) and the 3 PyTorch cells, and the selection score of each
  edge-bound   the guard arms' largest edge ratio on the JVM SGD grid, an upper bound taking lr = lr_max
  cnn-summary  docs/experiments/cnn/runs.csv and summary.md from the held-out CNN's runs.csv files (concatenated
               in the order given), the reference being the first arm

Every cell is Summary.compare's paired-by-seed rule (phi_experiment.paired_outcome).
  /usr/bin/python3 client/python/examples/experiment_tables.py selection
  /usr/bin/python3 client/python/examples/experiment_tables.py edge-bound
  /usr/bin/python3 client/python/examples/experiment_tables.py cnn-summary --out docs/experiments/cnn \\
      cnn-uba/runs.csv cnn-base/runs.csv cnn-lit/runs.csv
"""
import argparse
import csv
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import phi_experiment as px  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ISSUE14 = os.path.join(REPO, "docs", "experiments", "issue14")
GH = "edge=gradient_harmonic"
OLD_DEFAULT = "uba-kappa:0.1:1:live"
PHI_05 = "uba-phi=0.5"
# rows of the tables: the new κ arms, then the old default and the best fixed φ of the first grid
ROWS = [f"uba-kappa:1:1:live:{GH}", f"uba-kappa:0.1:1:live:{GH}", f"uba-kappa:1:0.5:live:{GH}",
        f"uba-kappa:0.1:1:continuous:{GH}", OLD_DEFAULT, PHI_05]
COLUMNS = ["cosine", "linear", "rex", PHI_05, OLD_DEFAULT]
# the criterion of "The rule": (wins - losses) against these, over both metrics and every cell
SCORED_AGAINST = ["cosine", "linear", "rex", PHI_05]
GUARDS = [f"uba-kappa:0.1:1:live:{GH}:guard=1", f"uba-kappa:0.1:1:live:{GH}:guard=1.5"]
METRICS = (("test accuracy", True), ("final training loss", False))


def _read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def selection_cells(jvm_dirs, torch_dir):
    """{(arm, cell): {seed: (test accuracy, final training loss, diverged)}} over the JVM and PyTorch runs."""
    cells = {}
    for d in jvm_dirs:
        for r in _read(os.path.join(d, "runs.csv")):
            cell = ("jvm", r["workload"], r["optimizer"], int(r["budget_pct"]))
            cells.setdefault((r["arm"], cell), {})[int(r["seed"])] = (
                float(r["test_accuracy"]), float(r["train_loss"]), r["diverged"] == "true")
    for r in _read(os.path.join(torch_dir, "runs.csv")):
        cell = ("torch", float(r["budget"]))
        cells.setdefault((r["arm"], cell), {})[int(r["seed"])] = (
            float(r["test_acc"]), float(r["train_loss"]), px.diverged(r))
    return cells


def wtl(cells, arm, other, metric, higher_better):
    """(wins, ties, losses) of ``arm`` over ``other`` on metric 0 (accuracy) or 1 (loss), over the cells both ran."""
    counts = {"W": 0, "T": 0, "L": 0}
    for (a, cell), mine in cells.items():
        theirs = cells.get((other, cell))
        if a != arm or theirs is None:
            continue
        counts[px.paired_outcome({s: (v[metric], v[2]) for s, v in mine.items()},
                                 {s: (v[metric], v[2]) for s, v in theirs.items()}, higher_better)] += 1
    return counts["W"], counts["T"], counts["L"]


def selection(jvm_dirs, torch_dir):
    cells = selection_cells(jvm_dirs, torch_dir)
    out = []
    for metric, (name, higher_better) in enumerate(METRICS):
        out += [f"| row vs column, **{name}** | " + " | ".join(COLUMNS) + " |", "|---" * (1 + len(COLUMNS)) + "|"]
        for row in ROWS:
            out.append(f"| {row} | " + " | ".join(
                "·" if row == col else "-".join(map(str, wtl(cells, row, col, metric, higher_better)))
                for col in COLUMNS) + " |")
        out.append("")
    out += ["| arm | score (wins − losses against " + ", ".join(SCORED_AGAINST) + ") | accuracy | loss |",
            "|---|---|---|---|"]
    for row in ROWS:
        parts = []
        for metric, (_, higher_better) in enumerate(METRICS):
            w_t_l = [wtl(cells, row, col, metric, higher_better) for col in SCORED_AGAINST if col != row]
            parts.append(sum(w - lo for w, _, lo in w_t_l))
        out.append(f"| {row} | {sum(parts):+d} | {parts[0]:+d} | {parts[1]:+d} |")
    # the guard arms are the unguarded arm's runs to the last digit where they ran (the guard never bound)
    base = f"uba-kappa:0.1:1:live:{GH}"
    for guard in GUARDS:
        pairs = [(v, cells.get((base, cell))) for (a, cell), v in cells.items() if a == guard]
        same = all(theirs is not None and v == theirs for v, theirs in pairs)
        out.append(f"\n{guard}: {len(pairs)} cells, identical to {base}: {'yes' if same else 'NO'}")
    return "\n".join(out) + "\n"


def edge_bound(jvm_dir, lr_max, momentum):
    """The guard arms' edge ratio η·λ_max/(2 + 2β), bounded above with η = lr_max, from the service's λ_max
    estimates in probes.csv: the estimate after the probe at W − 1 is in force from step W, where the decay starts
    at lr_max; the later probes' estimates follow it."""
    warmup = {(r["workload"], r["budget_pct"], r["seed"], r["arm"]): int(r["warmup_steps"])
              for r in _read(os.path.join(jvm_dir, "runs.csv"))}
    probes = [p for p in _read(os.path.join(jvm_dir, "probes.csv")) if p["arm"] in GUARDS]
    threshold = 2 + 2 * momentum
    out = []
    for name, first in (("from the probe at W - 1", -1), ("from the probes after warmup (step >= W)", 0)):
        after = [p for p in probes if int(p["step"]) >= warmup[(p["workload"], p["budget_pct"], p["seed"], p["arm"])]
                 + first]
        top = max(after, key=lambda p: float(p["lambda_max"]))
        lam = float(top["lambda_max"])
        out.append(f"{name}: max lambda_max {lam:.2f} ({top['workload']}, {top['budget_pct']}%, seed {top['seed']}, "
                   f"step {top['step']}), edge ratio <= {lr_max} * {lam:.2f} / {threshold:g} = "
                   f"{lr_max * lam / threshold:.3f}")
    return "\n".join(out) + "\n"


def cnn_summary(rows):
    """docs/experiments/cnn/summary.md: mean ± std per arm and budget, then the first arm (the rule) against every
    other arm per budget."""
    labels = list(dict.fromkeys(r["arm"] for r in rows))
    budgets = sorted({float(r["budget"]) for r in rows})
    lines = ["| arm | " + " | ".join(f"{int(b * 100)}% test acc" for b in budgets) + " | "
             + " | ".join(f"{int(b * 100)}% train loss" for b in budgets) + " | n | median κ_h |",
             "|---" * (3 + 2 * len(budgets)) + "|"]
    for a in labels:
        cells = []
        for key in ("test_acc", "train_loss"):
            for b in budgets:
                v = [float(r[key]) for r in rows if r["arm"] == a and float(r["budget"]) == b]
                cells.append(f"{statistics.fmean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0:.4f}"
                             if v else "–")
        n = min(sum(1 for r in rows if r["arm"] == a and float(r["budget"]) == b) for b in budgets)
        k = [float(r["kappa_median"]) for r in rows if r["arm"] == a and r["kappa_median"] not in ("nan", "")]
        k = [x for x in k if not math.isnan(x)]
        lines.append(f"| {a} | " + " | ".join(cells) + f" | {n} | " + (f"{statistics.median(k):.3g}" if k else "–")
                     + " |")
    table = px.cell_table(rows, labels, [labels[0]])
    guarded = sum(int(r["guarded_steps"]) for r in rows)
    return ("# Held-out CNN (issue 14 item 5)\n\nMean ± std over seeds; final training loss over all 60,000 training "
            "images; test accuracy on the 10,000 test images.\n\n" + "\n".join(lines)
            + "\n\n## The rule against every arm, per budget (25% 50% 100%), paired by seed: |mean Δ| > 2·sd/√n\n\n"
            + table + f"\n\nguarded steps in all runs: {guarded}\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("selection", help="the selection tables and scores (printed)")
    s.add_argument("--jvm", nargs="+", default=[os.path.join(ISSUE14, "jvm-sgd"), os.path.join(ISSUE14, "jvm-adamw")],
                   help="JVM grid output folders (runs.csv)")
    s.add_argument("--torch", default=os.path.join(ISSUE14, "torch-mlp"), help="PyTorch grid output folder")
    e = sub.add_parser("edge-bound", help="the guard arms' largest edge ratio, bounded with lr_max (printed)")
    e.add_argument("--jvm", default=os.path.join(ISSUE14, "jvm-sgd"), help="the SGD grid's folder (probes.csv)")
    e.add_argument("--lr-max", type=float, default=0.1, help="the grid's SGD lr_max (default 0.1)")
    e.add_argument("--momentum", type=float, default=0.9)
    c = sub.add_parser("cnn-summary", help="merge the CNN runs.csv files and write runs.csv and summary.md")
    c.add_argument("runs", nargs="+", help="runs.csv files, the rule's first")
    c.add_argument("--out", default=None, help="folder for runs.csv and summary.md (default: print summary.md only)")
    args = ap.parse_args(argv)
    if args.command == "edge-bound":
        print(edge_bound(args.jvm, args.lr_max, args.momentum), end="")
        return
    if args.command == "selection":
        print(selection(args.jvm, args.torch), end="")
        return
    rows = [r for path in args.runs for r in _read(path)]
    summary = cnn_summary(rows)
    if args.out is None:
        print(summary, end="")
        return
    os.makedirs(args.out, exist_ok=True)
    merged = os.path.join(args.out, "runs.csv")
    if any(os.path.abspath(p) == os.path.abspath(merged) for p in args.runs) and len(args.runs) > 1:
        ap.error("--out: would overwrite an input runs.csv")
    with open(merged, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write(summary)


if __name__ == "__main__":
    main()
