#!/usr/bin/env python3
"""phi tuning on the PyTorch workload: the example trainer (Fashion-MNIST MLP, SGD with momentum)
under several UBA arms, every learning rate from a running Stepsize service.

Arms (all served by the service, as condition_number policies):
  fixed phi P      -> scale P, exponent 0, fallback_phi P    (phi = P from step 0)
  kappa S:E        -> scale S, exponent E, fallback_phi 5    (phi = S*(2 kappa)^E once estimated)
phi = 2 is cosine (Proposition 2), so the cosine baseline is the arm "fixed 2".

Writes runs.csv (one row per run) and summary.md (mean +- std over seeds) into --out.
Run against `stepsize serve`:
  /usr/bin/python3 client/python/examples/phi_experiment.py --target localhost:50051 --out torch-experiment
"""
import argparse
import csv
import logging
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_fashion_mnist as trainer  # noqa: E402

ARMS = [
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


def win_tie_loss(rows, arm=DEFAULT_ARM):
    """Markdown: ``arm`` against every other arm, win-tie-loss over the (budget, seed) pairs."""
    by = {(r["arm"], float(r["budget"]), int(r["seed"])): r for r in rows}
    out = [f"| {arm} against | accuracy | training loss |", "|---|---|---|"]
    for other, *_ in ARMS:
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


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--target", default="localhost:50051")
    ap.add_argument("--out", default="torch-experiment")
    ap.add_argument("--max-steps", type=int, default=600)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--limit", type=int, default=10000, help="training images")
    ap.add_argument("--test-limit", type=int, default=2000)
    ap.add_argument("--lr-max", type=float, default=0.1)
    ap.add_argument("--probes", type=int, default=8, help="probes per run")
    # random by default: the grid of docs/EXPERIMENTS.md was measured so, and stays reproducible until
    # its arms for the gradient-weighted lower edge (issue 14 item 5) choose otherwise
    ap.add_argument("--probe-start", default="random", choices=["gradient", "random"],
                    help="where each probe's Lanczos run starts (the trainer's own default is gradient)")
    ap.add_argument("--compare", metavar="RUNS_CSV",
                    help="only print the win-tie-loss table of an earlier run's runs.csv, and exit")
    args = ap.parse_args(argv)
    if args.compare:
        with open(args.compare) as f:
            print(win_tie_loss(list(csv.DictReader(f))), end="")
        return
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    x_test, y_test = trainer.load_fashion_mnist(train=False, limit=args.test_limit)
    tag = str(int(time.time()))
    rows = []
    for budget in BUDGETS:
        steps = max(10, int(args.max_steps * budget))
        for seed in range(args.seeds):
            for label, scale, exponent, fallback in ARMS:
                run_args = trainer.parser().parse_args([
                    "--target", args.target, "--job-id", f"torch-{tag}-{steps}-{seed}-{len(rows)}",
                    "--out", "", "--steps", str(steps), "--limit", str(args.limit), "--lr-max", str(args.lr_max),
                    "--lr-min", str(args.lr_max / 100), "--momentum", "0.9", "--seed", str(seed),
                    "--probe-every", str(max(1, steps // args.probes)), "--probe-batch", "256",
                    "--phi-scale", str(scale), "--phi-exponent", str(exponent), "--fallback-phi", str(fallback),
                    "--probe-start", args.probe_start, "--wait-estimates", "20"])
                result = {}

                def evaluate(model):
                    with torch.no_grad():
                        logits = model(x_test)
                        result["test_loss"] = torch.nn.functional.cross_entropy(logits, y_test).item()
                        result["test_acc"] = (logits.argmax(1) == y_test).float().mean().item()

                trace = trainer.run(run_args, on_end=evaluate)
                tail = trace[-max(1, steps // 10):]
                kappas = [r["kappa"] for r in trace if r["kappa"] == r["kappa"] and r["kappa"] > 0]
                rows.append({
                    "arm": label, "budget": budget, "steps": steps, "seed": seed,
                    "train_loss_tail": statistics.fmean(r["loss"] for r in tail),
                    "test_loss": result["test_loss"], "test_acc": result["test_acc"],
                    "phi_first": trace[0]["phi"], "phi_last": trace[-1]["phi"],
                    "kappa_median": statistics.median(kappas) if kappas else float("nan"),
                    "kappa_last": trace[-1]["kappa"], "source_last": trace[-1]["source"],
                })
                print(f"{label:26s} budget {budget:4.2f} seed {seed}: test acc {result['test_acc']:.4f} "
                      f"loss {rows[-1]['train_loss_tail']:.4f} phi {trace[-1]['phi']:.3g} "
                      f"kappa {rows[-1]['kappa_median']:.3g}", flush=True)
    with open(os.path.join(args.out, "runs.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(args.out, "summary.md"), "w") as f:
        f.write("| arm | " + " | ".join(f"{int(b * 100)}% acc" for b in BUDGETS) + " | "
                + " | ".join(f"{int(b * 100)}% train loss" for b in BUDGETS) + " | median κ seen |\n")
        f.write("|---" * (2 + 2 * len(BUDGETS)) + "|\n")
        for label, *_ in ARMS:
            cells = []
            for key in ("test_acc", "train_loss_tail"):
                for b in BUDGETS:
                    v = [r[key] for r in rows if r["arm"] == label and r["budget"] == b]
                    cells.append(f"{statistics.fmean(v):.4f} ± {statistics.stdev(v) if len(v) > 1 else 0:.4f}")
            k = [r["kappa_median"] for r in rows if r["arm"] == label and r["kappa_median"] == r["kappa_median"]]
            f.write(f"| {label} | " + " | ".join(cells) + f" | {statistics.median(k):.3g} |\n" if k else
                    f"| {label} | " + " | ".join(cells) + " | – |\n")
    print(open(os.path.join(args.out, "summary.md")).read())
    with open(os.path.join(args.out, "comparison.md"), "w") as f:
        f.write(win_tie_loss(rows))
    print(win_tie_loss(rows))


if __name__ == "__main__":
    main()
