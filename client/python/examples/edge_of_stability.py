#!/usr/bin/python3
"""The edge of stability through Stepsize: the check of the stability margin (issue 14 item 4).

An experiment, not a test: it reproduces Fig. 1 of Cohen et al. 2021 ("Gradient descent on neural
networks typically occurs at the edge of stability", ICLR 2021) with the service's edge_ratio. It
needs torch and matplotlib (Debian: python3-torch, python3-matplotlib) and a running service.

Each run trains a tanh MLP (784-200-200-10 by default, as Cohen et al.'s fully connected tanh
networks) by full-batch gradient descent with a constant learning rate eta on the first
``--limit`` (5,000) Fashion-MNIST training images, optionally with heavy-ball momentum beta
(torch SGD: dampening 0, no Nesterov). The loss is Cohen et al.'s square loss on one-hot targets,
(1/n) sum_i 0.5 ||f(x_i) - e_{y_i}||^2 (``--loss mse``, the default; their main experiments use it
because cross-entropy's sharpness falls late in training as the margins grow, which mixes a second
effect into the plot); ``--loss ce`` is there for comparison.

The service sees the run as a job with lr_max = lr_min = eta (a constant schedule), optimizer SGD
and JobSpec.momentum = beta, so its threshold is 2 + 2 beta and edge_ratio = eta lambda_max /
(2 + 2 beta) (DESIGN.md §1.7). Every ``--probe-every`` steps the trainer runs lanczos_probe
(m = 20 from the normalized gradient, on the full batch) and publishes it with ReportProbes.
After the run the script reads the service's per-point edge_ratio from GetCurvature's timeline and
the per-step LearningRate.edge_ratio from GetLearningRates, and computes the same ratio locally
from each probe's largest Ritz value, without smoothing. Every ``--reference-every`` steps a longer
Lanczos run from a random start (``--reference-m`` steps) checks the probe's lambda_max.
``--local-only`` skips the service (local ratio only).

Outputs, in ``--out-dir``: probes.csv (one row per probe), steps.csv (one row per step),
summary.csv (the band of each run over its second half and from its first crossing of 1); in
``--img-dir``: eos-edge-ratio.png
(edge ratio against step, a line at 1), eos-sharpness.png (lambda_max against 2(1 + beta)/eta) and
eos-loss.png (the training loss).

Data: Fashion-MNIST (Zalando SE, MIT licence; https://github.com/zalandoresearch/fashion-mnist),
read from the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).

    ./stepsize serve --grpc-port 50051 --kafka-port 9092 --data-dir /tmp/eos-data &
    nice -n 10 /usr/bin/python3 client/python/examples/edge_of_stability.py --target localhost:50051 \\
        --out-dir eos-out --img-dir docs/img
"""
import argparse
import csv
import json
import logging
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

from stepsize.lanczos import lanczos_probe  # noqa: E402
from train_fashion_mnist import load_fashion_mnist  # noqa: E402

log = logging.getLogger("edge_of_stability")

PROBE_FIELDS = ["run", "beta", "eta", "step", "loss", "ritz_max", "gradient_sharpness", "local_edge_ratio",
                "reference_lambda_max", "reference_edge_ratio", "service_lambda_max", "service_edge_ratio",
                "service_lambda_max_bound", "probe_seconds"]
STEP_FIELDS = ["run", "beta", "eta", "step", "loss", "accuracy", "served_lr", "served_edge_ratio"]
SUMMARY_FIELDS = ["run", "beta", "eta", "threshold", "window", "from_step", "quantity", "points", "p10", "median",
                  "p90",
                  "share_above_1"]


@dataclass
class SavedProbe:
    """A probe read back from runs.json, for ProbePublisher.publish_lanczos."""
    alpha: list
    beta: list
    start: str = "gradient"
    operator: str = "hessian"


def parse_runs(text):
    """'0:0.04,0.9:0.08' -> [(0.0, 0.04), (0.9, 0.08)]: (beta, eta) per run."""
    runs = []
    for item in text.split(","):
        try:
            beta, eta = (float(v) for v in item.split(":"))
        except ValueError:
            raise argparse.ArgumentTypeError(f"--runs: each run is beta:eta, got {item!r}")
        if not (0.0 <= beta < 1.0) or not eta > 0:
            raise argparse.ArgumentTypeError(f"--runs: need 0 <= beta < 1 and eta > 0, got {item!r}")
        runs.append((beta, eta))
    return runs


def threshold(beta):
    """Heavy ball (dampening 0) on a quadratic is stable iff eta lambda < 2 + 2 beta (DESIGN.md §1.7)."""
    return 2.0 + 2.0 * beta


def make_model(hidden, depth):
    layers, width = [nn.Flatten()], 784
    for _ in range(depth):
        layers += [nn.Linear(width, hidden), nn.Tanh()]
        width = hidden
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def square_loss(outputs, targets):
    """Cohen et al.'s square loss: 0.5 ||f(x) - y||^2 summed over classes, averaged over examples."""
    return 0.5 * (outputs - targets).pow(2).sum(dim=1).mean()


def reference_lambda_max(model, loss_fn, batch, m, seed):
    """lambda_max from a long Lanczos run from a random start (full reorthogonalization): the
    largest Ritz value of m >> 20 steps, independent of the probe's gradient start."""
    result = lanczos_probe(model, loss_fn, batch, m=m, seed=seed, start="random")
    return max(result.ritz_values())


def band(values):
    values = sorted(v for v in values if math.isfinite(v))
    if not values:
        return {"points": 0, "p10": math.nan, "median": math.nan, "p90": math.nan, "share_above_1": math.nan}
    q = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else [values[0]] * 9
    return {"points": len(values), "p10": q[0], "median": statistics.median(values), "p90": q[8],
            "share_above_1": sum(v > 1.0 for v in values) / len(values)}


def job_spec(pb, job_id, steps, beta, eta, half_life):
    policy = pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=1.0))  # lr_max = lr_min: phi cannot move the lr
    if half_life is not None:
        policy.half_life_probes = half_life
    return pb.JobSpec(job_id=job_id, total_steps=steps, warmup_steps=0, lr_max=eta, lr_min=eta,
                      optimizer=pb.OPTIMIZER_SGD, momentum=beta, phi_policy=policy, apply_delay_steps=1)


def wait_for_timeline(client, job_id, last_probe_step, timeout):
    """The job's Curvature once its timeline has the point of the last probe (the estimator is
    asynchronous), or the latest one after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    curvature = None
    while True:
        try:
            curvature = client.curvature(job_id)
            if curvature.timeline and curvature.timeline[-1].step >= last_probe_step:
                return curvature
        except Exception as e:  # NOT_FOUND until the first estimate
            log.debug("GetCurvature(%s): %s", job_id, e)
        if time.monotonic() > end:
            log.warning("%s: the timeline did not reach step %d within %.0f s", job_id, last_probe_step, timeout)
            return curvature
        time.sleep(0.5)


def run_one(args, beta, eta, x, targets, labels, service):
    name = f"beta{beta:g}-eta{eta:g}"
    torch.manual_seed(args.seed)  # every run starts from the same weights, as in Cohen et al.'s figures
    model = make_model(args.hidden, args.depth)
    optimizer = torch.optim.SGD(model.parameters(), lr=eta, momentum=beta, dampening=0.0, nesterov=False)
    loss_fn = square_loss if args.loss == "mse" else nn.CrossEntropyLoss()
    batch = (x, targets)
    job_id = None
    if service is not None:
        client, publisher, pb = service
        job_id = f"{args.job_prefix}-{name}"
        client.create_job(job_spec(pb, job_id, args.steps, beta, eta, args.half_life))
    probes, steps, tridiagonals = [], [], {}
    started = time.monotonic()
    reference_every = args.reference_every if args.reference_every > 0 else None
    for step in range(args.steps):
        if step % args.probe_every == 0:
            t0 = time.monotonic()
            probe = lanczos_probe(model, loss_fn, batch, m=args.probe_m, seed=args.seed * 100_003 + step)
            seconds = time.monotonic() - t0
            ritz_max = max(probe.ritz_values())
            row = {"run": name, "beta": beta, "eta": eta, "step": step, "loss": probe.extra["loss"],
                   "ritz_max": ritz_max, "gradient_sharpness": probe.alpha[0],
                   "local_edge_ratio": eta * ritz_max / threshold(beta), "probe_seconds": seconds}
            if reference_every is not None and step % reference_every == 0:
                ref = reference_lambda_max(model, loss_fn, batch, args.reference_m, seed=args.seed + step)
                row["reference_lambda_max"] = ref
                row["reference_edge_ratio"] = eta * ref / threshold(beta)
            probes.append(row)
            tridiagonals[step] = {"alpha": probe.alpha, "beta": probe.beta, "start": probe.start}
            if service is not None:
                publisher.publish_lanczos(job_id, step, probe)
        optimizer.zero_grad(set_to_none=True)
        outputs = model(x)
        loss = loss_fn(outputs, targets)
        if not math.isfinite(loss.item()):
            log.warning("%s: the loss is %s at step %d; the run stops", name, loss.item(), step)
            break
        loss.backward()
        optimizer.step()
        accuracy = (outputs.argmax(dim=1) == labels).float().mean().item()
        steps.append({"run": name, "beta": beta, "eta": eta, "step": step, "loss": loss.item(),
                      "accuracy": accuracy})
        if args.verbose and step % 100 == 0:
            last = probes[-1]
            log.info("%s step %d loss %.4f acc %.3f lambda_max %.2f (2(1+beta)/eta = %.2f) ratio %.3f", name, step,
                     loss.item(), accuracy, last["ritz_max"], threshold(beta) / eta, last["local_edge_ratio"])
    log.info("%s: %d steps, %d probes in %.0f s", name, len(steps), len(probes), time.monotonic() - started)
    if service is not None:
        read_service(args, service, job_id, name, eta, probes, steps)
    return name, probes, steps, tridiagonals


def read_service(args, service, job_id, name, eta, probes, steps):
    """Fills the service's columns: the timeline's points by probe step, LearningRate per step."""
    client, publisher, pb = service
    curvature = wait_for_timeline(client, job_id, probes[-1]["step"], args.wait)
    by_step = {p.step: p for p in (curvature.timeline if curvature is not None else [])}
    for row in probes:
        point = by_step.get(row["step"])
        if point is not None:
            row["service_lambda_max"] = point.lambda_max
            row["service_edge_ratio"] = point.edge_ratio
            row["service_lambda_max_bound"] = point.lambda_max_bound
    if curvature is not None:
        log.info("%s: GetCurvature: %d points, latest edge_ratio %.3f", name, len(curvature.timeline),
                 curvature.edge_ratio)
    rates = client.learning_rates(job_id, 0, len(steps)).rates
    for row, rate in zip(steps, rates):
        row["served_lr"] = rate.lr
        row["served_edge_ratio"] = rate.edge_ratio
        if rate.lr != eta:
            log.warning("%s: the service served lr %r at step %d, not the constant %r", name, rate.lr,
                        row["step"], eta)


def replay(args, service, beta, eta, name, probes, steps, tridiagonals):
    """Publishes a finished run's saved probes (alpha, beta of each) to a new job and reads the
    service's answers: the estimator sees the same ReportProbes it would have seen live, in the same
    order, so its answers are the same; this is what lets --half-life be compared on one run."""
    client, publisher, pb = service
    job_id = f"{args.job_prefix}-{name}"
    client.create_job(job_spec(pb, job_id, args.steps, beta, eta, args.half_life))
    for row in probes:
        for key in ("service_lambda_max", "service_edge_ratio", "service_lambda_max_bound"):
            row.pop(key, None)  # an earlier invocation's answers
        t = tridiagonals[row["step"]]
        publisher.publish_lanczos(job_id, row["step"], SavedProbe(t["alpha"], t["beta"], t["start"]))
    for row in steps:
        row.pop("served_lr", None)
        row.pop("served_edge_ratio", None)
    read_service(args, service, job_id, name, eta, probes, steps)


def summarize(args, results):
    """The band of each ratio over two windows: the second half of the run (window "second_half")
    and from the first probe whose local raw ratio reaches 1 on ("after_crossing"; empty when it
    never does), since a run that sharpens slowly spends part of its second half still rising."""
    rows = []
    for (beta, eta), (name, probes, steps, _) in results:
        crossing = next((p["step"] for p in probes if p["local_edge_ratio"] >= 1.0), None)
        windows = [("second_half", args.steps // 2)] + ([("after_crossing", crossing)] if crossing is not None else [])
        for window, start in windows:
            late_probes = [p for p in probes if p["step"] >= start]
            late_steps = [s for s in steps if s["step"] >= start]
            for quantity, values in (
                    ("service_edge_ratio", [p.get("service_edge_ratio", math.nan) for p in late_probes]),
                    ("local_edge_ratio", [p["local_edge_ratio"] for p in late_probes]),
                    ("served_edge_ratio", [s.get("served_edge_ratio", math.nan) for s in late_steps]),
                    ("reference_edge_ratio", [p.get("reference_edge_ratio", math.nan) for p in late_probes])):
                b = band(values)
                if b["points"]:
                    rows.append({"run": name, "beta": beta, "eta": eta, "threshold": threshold(beta),
                                 "window": window, "from_step": start, "quantity": quantity, **b})
    return rows


def write_csv(path, fields, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})


def plot(args, results):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    betas = sorted({beta for beta, _ in args.runs})
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"]

    def series(rows, key):
        pts = [(r["step"], r[key]) for r in rows if key in r and math.isfinite(r[key])]
        return [p[0] for p in pts], [p[1] for p in pts]

    fig, axes = plt.subplots(1, len(betas), figsize=(6 * len(betas), 4.2), squeeze=False)
    for ax, b in zip(axes[0], betas):
        for i, ((beta, eta), (name, probes, steps, _)) in enumerate(results):
            if beta != b:
                continue
            c = colors[i % len(colors)]
            sx, sy = series(steps, "served_edge_ratio")
            if sx:
                ax.plot(sx, sy, color=c, lw=0.8, alpha=0.5, label=f"η={eta:g}: LearningRate.edge_ratio")
            px, py = series(probes, "service_edge_ratio")
            if px:
                ax.plot(px, py, color=c, lw=1.6, label=f"η={eta:g}: timeline edge_ratio (service)")
            lx, ly = series(probes, "local_edge_ratio")
            ax.plot(lx, ly, ".", color=c, ms=3, label=f"η={eta:g}: η·θ_max/(2+2β), local, raw")
            rx, ry = series(probes, "reference_edge_ratio")
            if rx:
                ax.plot(rx, ry, "x", color="k", ms=6)
        ax.axhline(1.0, color="k", ls="--", lw=1)
        ax.set_title(f"β = {b:g}: threshold 2+2β = {threshold(b):g}; × long-Lanczos reference", fontsize=10)
        ax.set_xlabel("step")
        ax.set_ylabel("edge ratio η·λ_max/(2+2β)")
        ax.set_ylim(0.5, 1.2)
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(args.img_dir, "eos-edge-ratio.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(betas), figsize=(6 * len(betas), 4.2), squeeze=False)
    for ax, b in zip(axes[0], betas):
        for i, ((beta, eta), (name, probes, steps, _)) in enumerate(results):
            if beta != b:
                continue
            c = colors[i % len(colors)]
            lx, ly = series(probes, "ritz_max")
            ax.plot(lx, ly, color=c, lw=1.2, label=f"η={eta:g}: λ_max (probe's largest Ritz value)")
            px, py = series(probes, "service_lambda_max")
            if px:
                ax.plot(px, py, color=c, lw=0.8, ls=":", label=f"η={eta:g}: service λ_max (smoothed)")
            ax.axhline(threshold(beta) / eta, color=c, ls="--", lw=1, label=f"2(1+β)/η = {threshold(beta) / eta:.1f}")
        ax.set_title(f"β = {b:g}")
        ax.set_xlabel("step")
        ax.set_ylabel("λ_max")
        ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(os.path.join(args.img_dir, "eos-sharpness.png"), dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(betas), figsize=(6 * len(betas), 3.4), squeeze=False)
    for ax, b in zip(axes[0], betas):
        for i, ((beta, eta), (name, probes, steps, _)) in enumerate(results):
            if beta != b:
                continue
            sx, sy = series(steps, "loss")
            ax.plot(sx, sy, color=colors[i % len(colors)], lw=1, label=f"η={eta:g}")
        ax.set_yscale("log")
        ax.set_title(f"training loss, β = {b:g}")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.img_dir, "eos-loss.png"), dpi=110)
    plt.close(fig)


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", default="localhost:50051", help="the Stepsize service (host:port)")
    p.add_argument("--local-only", action="store_true", help="no service: the local edge ratio only")
    p.add_argument("--replay", action="store_true",
                   help="no training: publish the probes saved in OUT_DIR/runs.json to new jobs and read the "
                        "service's answers (with --half-life, compares smoothings on the same probes); "
                        "with --local-only, only summarize and plot them again")
    p.add_argument("--runs", type=parse_runs, default=parse_runs("0:0.04,0:0.0333,0.9:0.076,0.9:0.0633"),
                   help="beta:eta per run, comma-separated (default 0:0.04,0:0.0333,0.9:0.076,0.9:0.0633: "
                        "the thresholds 2(1+beta)/eta are 50 and 60 with and without momentum)")
    p.add_argument("--steps", type=int, default=1600)
    p.add_argument("--probe-every", type=int, default=20)
    p.add_argument("--probe-m", type=int, default=20)
    p.add_argument("--reference-every", type=int, default=400,
                   help="a long random-start Lanczos run every this many steps (0: never)")
    p.add_argument("--reference-m", type=int, default=60)
    p.add_argument("--limit", type=int, default=5000, help="training images (the first ones)")
    p.add_argument("--hidden", type=int, default=200)
    p.add_argument("--depth", type=int, default=2, help="hidden layers")
    p.add_argument("--loss", choices=["mse", "ce"], default="mse")
    p.add_argument("--half-life", type=float, default=None,
                   help="phi_policy.half_life_probes of the jobs (default: the service's, 3 probes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument("--job-prefix", default=None, help="job ids are PREFIX-beta..-eta.. (default eos-<time>)")
    p.add_argument("--wait", type=float, default=120.0, help="seconds to wait for the estimator after a run")
    p.add_argument("--out-dir", default="eos-out")
    p.add_argument("--img-dir", default=None, help="where the PNGs go (default: --out-dir)")
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.probe_every <= 0 or args.steps <= 0:
        raise SystemExit("--steps and --probe-every must be > 0")
    args.img_dir = args.img_dir or args.out_dir
    args.job_prefix = args.job_prefix or f"eos-{int(time.time())}"
    os.makedirs(args.out_dir, exist_ok=True)
    os.makedirs(args.img_dir, exist_ok=True)
    torch.set_num_threads(args.threads)
    images, labels = load_fashion_mnist(train=True, limit=args.limit)
    x = images.flatten(1)
    targets = nn.functional.one_hot(labels, 10).to(torch.float32) if args.loss == "mse" else labels
    service = None
    if not args.local_only:
        from stepsize import ProbePublisher, StepsizeClient
        from stepsize.v1 import stepsize_pb2 as pb
        client = StepsizeClient(args.target, deadline=30.0)
        service = (client, ProbePublisher(client, worker_id="worker-0", strict=True), pb)
    results = []
    runs_json = os.path.join(args.out_dir, "runs.json")
    try:
        if args.replay:
            # the runs of an earlier invocation (its --steps and --runs), published to new jobs
            with open(runs_json) as f:
                saved = json.load(f)
            args.steps = saved["steps"]
            args.runs = [(r["beta"], r["eta"]) for r in saved["runs"]]
            for r in saved["runs"]:
                tridiagonals = {int(k): v for k, v in r["tridiagonals"].items()}
                if service is not None:
                    replay(args, service, r["beta"], r["eta"], r["name"], r["probes"], r["steps"], tridiagonals)
                results.append(((r["beta"], r["eta"]), (r["name"], r["probes"], r["steps"], tridiagonals)))
        else:
            for beta, eta in args.runs:
                results.append(((beta, eta), run_one(args, beta, eta, x, targets, labels, service)))
                with open(runs_json, "w") as f:
                    json.dump({"steps": args.steps, "runs": [
                        {"beta": b, "eta": e, "name": n, "probes": p, "steps": st, "tridiagonals": t}
                        for (b, e), (n, p, st, t) in results]}, f)
        write_csv(os.path.join(args.out_dir, "probes.csv"), PROBE_FIELDS,
                  [p for _, (_, probes, _, _) in results for p in probes])
        write_csv(os.path.join(args.out_dir, "steps.csv"), STEP_FIELDS,
                  [s for _, (_, _, steps, _) in results for s in steps])
    finally:
        if service is not None:
            service[1].close()
            service[0].close()
    summary = summarize(args, results)
    write_csv(os.path.join(args.out_dir, "summary.csv"), SUMMARY_FIELDS, summary)
    for row in summary:
        log.info("%-16s %-14s from %4d %-22s n=%4d  p10 %.3f  median %.3f  p90 %.3f  above 1: %.0f%%", row["run"],
                 row["window"], row["from_step"], row["quantity"], row["points"], row["p10"], row["median"], row["p90"],
                 100 * row["share_above_1"])
    plot(args, results)


if __name__ == "__main__":
    main()
