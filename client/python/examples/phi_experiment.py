#!/usr/bin/env python3
"""phi tuning on the PyTorch workloads: the example trainer (Fashion-MNIST, an MLP or the two-layer CNN) under
several arms. Every UBA arm is a service job, every one of its learning rates from a running Stepsize service;
baselines the proto cannot express are evaluated locally with stepsize.schedule.evaluate_baseline, with the same
budget, warmup, peak, initial weights and batches.

Arms (``--arms``, the syntax of ``stepsize experiment --arms``, docs/EXPERIMENTS.md "How to run it"):
  a baseline name          cosine, linear, rex, wsd, onecycle, step, cyclic, exponential, constant
  phi:P|paper[:OPTION=V...]  a fixed phi policy (paper: the paper's 5 for SGD, this trainer's optimizer)
  kappa:S:E[:live|latched|continuous][:OPTION=V...]   condition_number, phi = clamp(S*(2 kappa)^E, 0.1, 1000)
  options: edge=smallest_positive|quantile|floor|gradient_harmonic, guard=R (max_edge_ratio), start=gradient|random;
  an arm with edge=gradient_harmonic probes from the gradient (lambda_h needs it), any other from a random start.
Without --arms the grid of the first PyTorch section of docs/EXPERIMENTS.md runs (its five arms, as measured, with
random probe starts unless --probe-start says otherwise; --probe-start is refused with --arms).

Writes runs.csv (one row per run), summary.md (mean +- std over seeds; the training loss is the final loss over the
training set, or for the first grid the mean batch loss of the last tenth, as published) and comparison.md into
--out: with --arms each --reference arm (default: the last arm) against every other, per budget, by the JVM grid's
paired rule; the first grid's win-tie-loss table otherwise. --compare RUNS_CSV [--reference ARM...] prints that table
of an earlier run and exits.
  /usr/bin/python3 client/python/examples/phi_experiment.py --target localhost:50051 --out torch-experiment
"""
import argparse
import csv
import decimal
import logging
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_fashion_mnist as trainer  # noqa: E402
from stepsize import schedule as local  # noqa: E402

# The first grid: fixed phi as condition_number with exponent 0 (phi = scale from step 0), random probe starts.
LEGACY_ARMS = [
    ("phi=2 (cosine)", 2.0, 0.0, 2.0),
    ("phi=5 (paper, SGD)", 5.0, 0.0, 5.0),
    ("phi=0.5", 0.5, 0.0, 0.5),
    ("phi=0.2 kappa (default)", 0.1, 1.0, 5.0),
    ("phi=2 kappa (literal)", 1.0, 1.0, 5.0),
]
BUDGETS = (0.25, 0.5, 1.0)
DEFAULT_ARM = "phi=0.2 kappa (default)"
ACC_TIE = 0.005  # test accuracy within this is a tie
LOSS_TIE = 0.01  # training loss within this fraction of the other arm's is a tie
EDGES = ("smallest_positive", "quantile", "floor", "gradient_harmonic")


def parse_arm(spec):
    """An arm spec as Arm.parse reads it in Java: a dict with label, kind (baseline, fixed, kappa) and the
    policy fields. Bad input raises ValueError naming the arm and the rule, in Java's words."""
    s = spec.strip().lower()
    parts = s.split(":")
    if parts[0] == "phi":
        if len(parts) < 2 or "=" in parts[1]:
            raise ValueError(f"arm '{spec}': expected phi:VALUE or phi:paper[:OPTION=VALUE...]")
        arm = {"kind": "fixed", "mode": "live"}
        if parts[1] == "paper":
            # this trainer is SGD (momentum 0.9): the paper's SGD phi, as Arm.phiFor gives the JVM's SGD arms
            arm["phi"], label = local.SGD_PHI, "uba-phi=paper"
        else:
            arm["phi"] = _number(spec, parts[1])
            if not (arm["phi"] > 0) or not math.isfinite(arm["phi"]):
                raise ValueError(f"arm '{spec}': phi must be finite and > 0")
            label = f"uba-phi={_fmt(arm['phi'])}"
        positional = 2
    elif parts[0] == "kappa":
        # the positional part: nothing, or SCALE:EXPONENT with an optional mode; options follow
        positional = 1
        while positional < len(parts) and "=" not in parts[positional]:
            positional += 1
        if positional not in (1, 3, 4):
            raise ValueError(f"arm '{spec}': expected kappa or kappa:SCALE:EXPONENT[:live|latched|continuous]"
                             "[:OPTION=VALUE...]")
        arm = {"kind": "kappa", "mode": "live"}
        arm["scale"] = _number(spec, parts[1]) if positional > 1 else local.DEFAULT_SCALE
        arm["exponent"] = _number(spec, parts[2]) if positional > 1 else local.DEFAULT_EXPONENT
        if not (arm["scale"] > 0) or not math.isfinite(arm["scale"]) or not math.isfinite(arm["exponent"]):
            raise ValueError(f"arm '{spec}': scale must be finite and > 0, exponent finite")
        if positional == 4:
            if parts[3] not in ("live", "latched", "continuous"):
                raise ValueError(f"arm '{spec}': mode must be live, latched or continuous")
            arm["mode"] = parts[3]
        label = f"uba-kappa:{_fmt(arm['scale'])}:{_fmt(arm['exponent'])}:{arm['mode']}"
    else:
        if len(parts) != 1:
            raise ValueError(f"arm '{spec}': unknown kind {parts[0]}")
        local.baseline_factor(parts[0], 0, 1)  # refuses an unknown name as Baseline.byName does
        return {"label": parts[0], "kind": "baseline", "baseline": parts[0]}
    arm.update(edge=None, guard=None)
    start, seen = None, set()
    for option in parts[positional:]:
        name, _, value = option.partition("=")
        if not value:
            raise ValueError(f"arm '{spec}': option '{option}' must be NAME=VALUE (edge, guard or start)")
        if name in seen:
            raise ValueError(f"arm '{spec}': option {name} given twice")
        seen.add(name)
        if name == "edge":
            if arm["kind"] != "kappa":
                raise ValueError(f"arm '{spec}': edge applies to kappa arms only")
            if value not in EDGES:
                raise ValueError(f"arm '{spec}': edge must be smallest_positive, quantile, floor or gradient_harmonic")
            arm["edge"] = value
        elif name == "guard":
            arm["guard"] = _number(spec, value)
            if not (arm["guard"] > 0) or not math.isfinite(arm["guard"]):
                raise ValueError(f"arm '{spec}': guard must be finite and > 0")
        elif name == "start":
            if value not in ("gradient", "random"):
                raise ValueError(f"arm '{spec}': start must be gradient or random")
            start = value
        else:
            raise ValueError(f"arm '{spec}': unknown option {name} (edge, guard or start)")
    # lambda_h needs a gradient start; lambda_max (the guard's and continuous mode's input) does not
    implied = "gradient" if arm["edge"] == "gradient_harmonic" else "random"
    arm["start"] = start or implied
    label += (f":edge={arm['edge']}" if arm["edge"] else "") + (
        f":guard={_fmt(arm['guard'])}" if arm["guard"] is not None else "") + (
        f":start={arm['start']}" if arm["start"] != implied else "")
    arm["label"] = label
    return arm


def _number(spec, s):
    try:
        return float(s)
    except ValueError:
        raise ValueError(f"arm '{spec}': '{s}' is not a number") from None


def _fmt(v):
    """Arm.fmt: an integral value without a fraction (5, not 5.0), any other as Java's Double.toString writes it."""
    return str(int(v)) if v == int(v) and abs(v) < 1e15 else _java_double(v)


def _java_double(v):
    """Double.toString: plain decimals for 1e-3 <= |v| < 1e7, otherwise D.DDDE±N, both with the shortest digits
    that round-trip (what Java 19+ prints; Java 17 agrees but for rare values with a 17th digit)."""
    if not math.isfinite(v) or v == 0 or 1e-3 <= abs(v) < 1e7:
        return repr(v)  # repr also writes shortest round-trip digits, with at least one after the point
    sign, digits, exponent = decimal.Decimal(repr(v)).normalize().as_tuple()
    e = exponent + len(digits) - 1
    mantissa = str(digits[0]) + "." + ("".join(map(str, digits[1:])) or "0")
    return ("-" if sign else "") + mantissa + "E" + str(e)


def _legacy(label, scale, exponent, fallback):
    return {"label": label, "kind": "kappa", "scale": scale, "exponent": exponent, "fallback": fallback,
            "mode": "live", "edge": None, "guard": None, "start": "random"}


def win_tie_loss(rows, arm=DEFAULT_ARM):
    """Markdown: ``arm`` against every other arm, win-tie-loss over the (budget, seed) pairs."""
    by = {(r["arm"], float(r["budget"]), int(r["seed"])): r for r in rows}
    out = [f"| {arm} against | accuracy | training loss |", "|---|---|---|"]
    for other in dict.fromkeys(r["arm"] for r in rows):
        if other == arm:
            continue
        acc, loss = [0, 0, 0], [0, 0, 0]
        for (a, budget, seed), mine in by.items():
            theirs = by.get((other, budget, seed))
            if a != arm or theirs is None:
                continue
            d = float(mine["test_acc"]) - float(theirs["test_acc"])
            acc[0 if d > ACC_TIE else 2 if d < -ACC_TIE else 1] += 1
            m, t = float(mine["train_loss_tail"]), float(theirs["train_loss_tail"])
            loss[0 if t - m > LOSS_TIE * t else 2 if m - t > LOSS_TIE * t else 1] += 1
        out.append(f"| {other} | {'-'.join(map(str, acc))} | {'-'.join(map(str, loss))} |")
    return "\n".join(out) + "\n"


def paired_outcome(mine, theirs, higher_better):
    """Summary.compare of the JVM grid, for one cell: ``mine`` and ``theirs`` map seed -> (value, diverged). A
    diverged run is worse than any finite one, so the arm with more divergences loses; else paired by seed,
    Δ = mine - theirs signed so that positive is better, and a win or a loss needs |mean Δ| > 2·sd(Δ)/√n.
    Returns "W", "T" or "L"."""
    da = sum(1 for _, diverged in mine.values() if diverged)
    db = sum(1 for _, diverged in theirs.values() if diverged)
    if da != db:
        return "W" if da < db else "L"
    d = [(x - theirs[s][0]) * (1 if higher_better else -1) for s, (x, _) in mine.items()
         if s in theirs and math.isfinite(x) and math.isfinite(theirs[s][0])]
    if not d:
        return "T"
    mean = statistics.fmean(d)
    margin = 2 * statistics.stdev(d) / math.sqrt(len(d)) if len(d) > 1 else 0
    return "T" if mean == 0 or abs(mean) <= margin else "W" if mean > 0 else "L"


def diverged(row):
    """A run whose final losses are not finite diverged (RunExecutor's rule)."""
    return not (math.isfinite(float(row.get("train_loss", row.get("train_loss_tail")))) and
                math.isfinite(float(row["test_loss"])))


def paired_cells(rows, arm, other, key, higher_better):
    """Per budget (cell): win, tie or loss of ``arm`` over ``other`` by paired_outcome. Returns e.g. ["W", "T", "L"]
    for the budgets in increasing order."""
    marks = []
    for b in sorted({float(r["budget"]) for r in rows}):
        def cell(a):
            return {int(r["seed"]): (float(r[key]), diverged(r)) for r in rows
                    if r["arm"] == a and float(r["budget"]) == b}
        marks.append(paired_outcome(cell(arm), cell(other), higher_better))
    return marks


def cell_table(rows, arms, references):
    """Markdown: each reference arm against every other arm, per budget, on test accuracy and final training loss
    (W/T/L per cell, then the W-T-L count)."""
    out = []
    for ref in references:
        out += [f"| {ref} against | test accuracy (per budget) | W-T-L | final training loss (per budget) | W-T-L |",
                "|---|---|---|---|---|"]
        for other in arms:
            if other == ref:
                continue
            a = paired_cells(rows, ref, other, "test_acc", True)
            lo = paired_cells(rows, ref, other, "train_loss", False)
            out.append(f"| {other} | {' '.join(a)} | {a.count('W')}-{a.count('T')}-{a.count('L')} | {' '.join(lo)} | "
                       f"{lo.count('W')}-{lo.count('T')}-{lo.count('L')} |")
        out.append("")
    return "\n".join(out)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", default="localhost:50051")
    ap.add_argument("--out", default="torch-experiment")
    ap.add_argument("--arms", default=None, help="comma-separated arm specs (default: the first grid's five arms)")
    ap.add_argument("--reference", action="append", default=None,
                    help="arm whose per-budget win/tie/loss against every other arm goes to comparison.md, or with "
                         "--compare is printed (repeat; needs --arms or --compare)")
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--max-steps", type=int, default=600)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=10000, help="training images")
    ap.add_argument("--test-limit", type=int, default=2000)
    ap.add_argument("--lr-max", type=float, default=0.1)
    ap.add_argument("--lr-min", type=float, default=None, help="default lr-max/100")
    ap.add_argument("--warmup-pct", type=float, default=0.0, help="warmup as a percentage of each budget")
    ap.add_argument("--probes", type=int, default=8, help="probes per run")
    ap.add_argument("--probe-batch", type=int, default=256)
    # random for the first grid's arms (measured so); the spec syntax decides for --arms
    ap.add_argument("--probe-start", default=None, choices=["gradient", "random"],
                    help="where the first grid's probes start (default random; with --arms each spec says: start=)")
    ap.add_argument("--compare", metavar="RUNS_CSV",
                    help="only print the comparison of an earlier run's runs.csv, and exit: with --reference the "
                         "per-budget table of comparison.md, else the first grid's win-tie-loss table")
    args = ap.parse_args(argv)
    if args.compare:
        with open(args.compare) as f:
            rows = list(csv.DictReader(f))
        if args.reference:
            try:
                references = [parse_arm(r)["label"] for r in args.reference]
            except ValueError as e:
                ap.error(f"--reference: {e}")
            labels = list(dict.fromkeys(r["arm"] for r in rows))
            missing = [r for r in references if r not in labels]
            if missing:
                ap.error(f"--reference: {', '.join(missing)} is not an arm of {args.compare}")
            print(cell_table(rows, labels, references), end="")
        else:
            print(win_tie_loss(rows), end="")
        return
    try:
        arms = [parse_arm(a) for a in args.arms.split(",")] if args.arms else [_legacy(*a) for a in LEGACY_ARMS]
    except ValueError as e:
        ap.error(f"--arms: {e}")
    if args.reference and not args.arms:
        ap.error("--reference: needs --arms (the first grid's table compares its default arm with the others)")
    if args.arms and args.probe_start:
        ap.error("--probe-start: applies to the first grid only; with --arms write start=gradient|random in the arm")
    if not args.arms:
        for arm in arms:
            arm["start"] = args.probe_start or "random"
    lr_min = args.lr_max / 100 if args.lr_min is None else args.lr_min
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    x_test, y_test = trainer.load_fashion_mnist(train=False, limit=args.test_limit)
    x_train, y_train = trainer.load_fashion_mnist(train=True, limit=args.limit)
    tag = str(int(time.time()))
    rows = []
    started = time.monotonic()
    for budget in BUDGETS:
        steps = max(10, int(args.max_steps * budget))
        warmup = int(round(steps * args.warmup_pct / 100))
        for seed in range(args.seeds):
            for arm in arms:
                flags = [
                    "--target", args.target, "--job-id", f"torch-{tag}-{steps}-{seed}-{len(rows)}",
                    "--out", "", "--model", args.model, "--batch-size", str(args.batch_size),
                    "--steps", str(steps), "--warmup-steps", str(warmup), "--limit", str(args.limit),
                    "--lr-max", str(args.lr_max), "--lr-min", str(lr_min), "--momentum", "0.9", "--seed", str(seed),
                    "--probe-every", str(max(1, steps // args.probes)), "--probe-batch", str(args.probe_batch),
                    "--probe-start", arm.get("start", "random"), "--wait-estimates", "20",
                    "--phi-mode", arm.get("mode", "live")]
                rates = None
                if arm["kind"] == "baseline":
                    job = local.JobSchedule(local.Budget(steps, warmup), args.lr_max, lr_min,
                                            local.PhiPolicy("fixed", phi=5.0), 5.0)
                    rates = (lambda j, name: lambda step: local.evaluate_baseline(j, name, step))(job, arm["baseline"])
                elif arm["kind"] == "fixed":
                    flags += ["--fixed-phi", str(arm["phi"])]
                else:
                    flags += ["--phi-scale", str(arm["scale"]), "--phi-exponent", str(arm["exponent"]),
                              "--fallback-phi", str(arm.get("fallback", 5.0))]
                    if arm.get("edge"):
                        flags += ["--lower-edge", arm["edge"]]
                if arm.get("guard") is not None:
                    flags += ["--max-edge-ratio", str(arm["guard"])]
                run_args = trainer.parser().parse_args(flags)
                result = {}

                def evaluate(model):
                    with torch.no_grad():
                        logits = model(x_test)
                        result["test_loss"] = torch.nn.functional.cross_entropy(logits, y_test).item()
                        result["test_acc"] = (logits.argmax(1) == y_test).float().mean().item()
                        # the final training loss over the whole training set, as the JVM grid reports it
                        result["train_loss"] = torch.nn.functional.cross_entropy(model(x_train), y_train).item()

                trace = trainer.run(run_args, on_end=evaluate, rates=rates)
                tail = trace[-max(1, steps // 10):]
                kappas = [r["kappa"] for r in trace if r["kappa"] == r["kappa"] and r["kappa"] > 0]
                label = arm["label"]
                rows.append({
                    "arm": label, "budget": budget, "steps": steps, "seed": seed,
                    "train_loss_tail": statistics.fmean(r["loss"] for r in tail),
                    "train_loss": result["train_loss"],
                    "test_loss": result["test_loss"], "test_acc": result["test_acc"],
                    "phi_first": trace[0]["phi"], "phi_last": trace[-1]["phi"],
                    "kappa_median": statistics.median(kappas) if kappas else float("nan"),
                    "kappa_last": trace[-1]["kappa"], "source_last": trace[-1]["source"],
                    "guarded_steps": sum(1 for r in trace if r.get("guarded")),
                })
                print(f"[{time.monotonic() - started:6.0f}s] {label:50s} budget {budget:4.2f} seed {seed}: "
                      f"test acc {result['test_acc']:.4f} train loss {result['train_loss']:.4f} "
                      f"phi {trace[-1]['phi']:.3g} kappa {rows[-1]['kappa_median']:.3g}", flush=True)
                with open(os.path.join(args.out, "runs.csv"), "w", newline="") as f:
                    w = csv.DictWriter(f, fieldnames=list(rows[0]))
                    w.writeheader()
                    w.writerows(rows)
    labels = [a["label"] for a in arms]
    # the first grid's table (docs/EXPERIMENTS.md "The PyTorch workload") and win_tie_loss use the mean batch loss
    # over the last tenth of the run; the spec grids report the final loss over the training set, as the JVM grid does
    loss_key = "train_loss" if args.arms else "train_loss_tail"
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("| arm | " + " | ".join(f"{int(b * 100)}% acc" for b in BUDGETS) + " | "
                + " | ".join(f"{int(b * 100)}% train loss" for b in BUDGETS) + " | median κ seen |\n")
        f.write("|---" * (2 + 2 * len(BUDGETS)) + "|\n")
        for label in labels:
            cells = []
            for key in ("test_acc", loss_key):
                for b in BUDGETS:
                    v = [r[key] for r in rows if r["arm"] == label and r["budget"] == b]
                    cells.append(f"{statistics.fmean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0:.4f}")
            k = [r["kappa_median"] for r in rows if r["arm"] == label and r["kappa_median"] == r["kappa_median"]]
            f.write(f"| {label} | " + " | ".join(cells) + (f" | {statistics.median(k):.3g} |\n" if k else " | – |\n"))
    print(open(os.path.join(args.out, "summary.md")).read())
    with open(os.path.join(args.out, "comparison.md"), "w") as f:
        if args.arms:
            references = [parse_arm(r)["label"] for r in args.reference] if args.reference else [labels[-1]]
            f.write(cell_table(rows, labels, references))
        else:
            f.write(win_tie_loss(rows))
    print(open(os.path.join(args.out, "comparison.md")).read())


if __name__ == "__main__":
    main()
