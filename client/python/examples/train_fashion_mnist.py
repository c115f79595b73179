#!/usr/bin/python3
"""Trains a small network on Fashion-MNIST on CPU with its learning rates from Stepsize.

Every ``--probe-every`` steps the trainer runs a Lanczos probe (m HVPs by double backward on a
fixed probe batch), started at that batch's normalized gradient (``--probe-start gradient``, the
default; DESIGN.md §1.7) or at a random vector, and publishes it (ReportProbes, or Kafka with
``--kafka``); the service's estimator turns the probes into kappa, and phi follows it. With
``--optimizer adamw --probe-operator preconditioned`` the probes see Adam's preconditioned
Hessian P^{-1/2} H P^{-1/2}, P from the optimizer's second moments (from the second step on: the
first probe has no state to read, so it probes the Hessian and says so). The CSV has one row per step:
step, lr, phi, kappa, loss, source.

Data: Fashion-MNIST (Zalando SE, MIT licence; https://github.com/zalandoresearch/fashion-mnist),
read from the Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist).

    ./stepsize serve --grpc-port 50051 --kafka-port 9092 &
    /usr/bin/python3 client/python/examples/train_fashion_mnist.py --target localhost:50051 --out run.csv
"""
import argparse
import csv
import gzip
import logging
import os
import struct
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from stepsize import ProbePublisher, StepsizeClient, StepsizeScheduler, lanczos_probe  # noqa: E402
from stepsize.schedule import DEFAULT_SCALE  # noqa: E402
from stepsize.v1 import stepsize_pb2 as pb  # noqa: E402

DATA_DIR = "/usr/share/datasets/fashion-mnist"
log = logging.getLogger("train_fashion_mnist")


def _idx(path):
    """An IDX file (the MNIST format): big-endian magic with the dimension count, then the sizes."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    _, _, dtype_code, dims = struct.unpack(">BBBB", data[:4])
    if dtype_code != 0x08:
        raise ValueError(f"{path}: expected unsigned bytes (0x08), got {dtype_code:#x}")
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load_fashion_mnist(train=True, limit=None, data_dir=DATA_DIR):
    """Images as float32 in [0, 1] standardized by the training set's mean and std, labels int64."""
    prefix = "train" if train else "t10k"
    images = _idx(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz"))
    labels = _idx(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz"))
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    x = images.to(torch.float32).div_(255.0).sub_(0.2860).div_(0.3530).unsqueeze(1)
    return x, labels.to(torch.int64)


def make_model(kind="mlp", hidden=64):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, hidden), nn.Tanh(), nn.Linear(hidden, 10))
    if kind == "cnn":
        return nn.Sequential(nn.Conv2d(1, 8, 5, stride=2), nn.Tanh(), nn.Conv2d(8, 16, 5, stride=2), nn.Tanh(),
                             nn.Flatten(), nn.Linear(16 * 4 * 4, 10))
    raise ValueError(f"--model: must be mlp or cnn (got {kind})")


def job_spec(args):
    mode, phi = args.phi_mode, args.fixed_phi
    policy = (pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=phi)) if phi is not None else pb.PhiPolicy(
        condition_number=pb.PhiPolicy.ConditionNumber(
            scale=args.phi_scale, exponent=args.phi_exponent, phi_min=args.phi_min, phi_max=args.phi_max,
            lower_edge=args.lower_edge, floor_ratio=args.floor_ratio,
            mode=pb.PhiMode.Value("PHI_MODE_" + mode.upper())),
        fallback_phi=args.fallback_phi))
    spec = pb.JobSpec(
        job_id=args.job_id, total_steps=args.steps, warmup_steps=args.warmup_steps,
        lr_max=args.lr_max, lr_min=args.lr_min,
        optimizer=pb.OPTIMIZER_ADAMW if args.optimizer == "adamw" else pb.OPTIMIZER_SGD,
        apply_delay_steps=args.apply_delay_steps, phi_policy=policy,
        # the edge-of-stability threshold reads the momentum the optimizer really uses (AdamW: beta1 = 0.9)
        momentum=args.momentum if args.optimizer == "sgd" else 0.9)
    if args.max_edge_ratio is not None:
        spec.guard.max_edge_ratio = args.max_edge_ratio
    return spec


def run(args, on_step=None, on_end=None, rates=None):
    """Trains; returns the rows written to the CSV. on_step(step, scheduler) runs after each step;
    on_end(model) once training is over (to evaluate it). rates(step) -> LrValue replaces the service (no job,
    no probes): for baselines the proto cannot express, with the same init, batches and loop as a served run."""
    torch.manual_seed(args.seed)
    x, y = load_fashion_mnist(train=True, limit=args.limit)
    model = make_model(args.model)
    if args.optimizer == "adamw":
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr_max, weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr_max, momentum=args.momentum)
    loss_fn = nn.CrossEntropyLoss()
    probe_batch = (x[:args.probe_batch], y[:args.probe_batch])

    if rates is not None:
        client = publisher = None
        scheduler = _LocalRates(optimizer, rates, args.steps)
    else:
        client = StepsizeClient(args.target, deadline=args.deadline)
        scheduler = StepsizeScheduler(optimizer, client, job_spec(args), window=args.window,
                                      retry_after=args.retry_after, deadline=args.deadline)
        publisher = ProbePublisher(client, kafka_bootstrap_servers=args.kafka, worker_id="worker-0")
    generator = torch.Generator().manual_seed(args.seed)
    rows = []
    started = time.monotonic()
    try:
        for step in range(args.steps):
            if publisher is not None and args.probe_every > 0 and step % args.probe_every == 0:
                # Adam has no second moments before its first step: that probe is of the Hessian
                operator = args.probe_operator if step > 0 else "hessian"
                probe = lanczos_probe(model, loss_fn, probe_batch, m=args.probe_m, seed=args.seed * 100_003 + step,
                                      start=args.probe_start, operator=operator, optimizer=optimizer)
                if publisher.publish_lanczos(args.job_id, step, probe) and args.wait_estimates > 0:
                    # optional: wait for the estimate so it applies exactly at step + apply_delay_steps
                    if not scheduler.wait_for_estimate(step, args.wait_estimates):
                        log.warning("no estimate for the probe of step %d within %.1f s", step, args.wait_estimates)
            value = scheduler.last_value  # the rate this step uses (set by the last scheduler.step())
            index = torch.randint(0, x.shape[0], (args.batch_size,), generator=generator)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[index]), y[index])
            loss.backward()
            optimizer.step()
            scheduler.step()
            rows.append({"step": step, "lr": value.lr, "phi": value.phi, "kappa": value.kappa,
                         "loss": loss.item(), "source": value.source.name, "guarded": value.guarded})
            if on_step is not None:
                on_step(step, scheduler)
            if args.verbose and (step % 50 == 0 or step == args.steps - 1):
                log.info("step %d loss %.4f lr %.5f phi %.3f kappa %.3g (%s)", step, loss.item(), value.lr,
                         value.phi, value.kappa, value.source.name)
    finally:
        scheduler.close()
        if publisher is not None:
            publisher.close()
            client.close()
    if on_end is not None:
        on_end(model)
    if args.out:
        with open(args.out, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=["step", "lr", "phi", "kappa", "loss", "source"],
                                    extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    if rates is None:
        log.info("%d steps in %.1f s; remote answers %d, local %d", len(rows), time.monotonic() - started,
                 scheduler.remote.remote_answers, scheduler.remote.local_answers)
    return rows


class _LocalRates:
    """The scheduler's interface over a local rate function: last_value is the rate of the coming step."""

    def __init__(self, optimizer, rates, total):
        self.optimizer, self.rates, self.total, self.step_index = optimizer, rates, total, 0
        self._set()

    def _set(self):
        self.last_value = self.rates(self.step_index)
        for group in self.optimizer.param_groups:
            group["lr"] = self.last_value.lr

    def step(self):
        self.step_index += 1
        if self.step_index < self.total:
            self._set()

    def close(self):
        pass


def parser():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--target", default="localhost:50051", help="the Stepsize service (host:port)")
    p.add_argument("--kafka", default=None, help="publish probes to this Kafka bootstrap instead of ReportProbes")
    p.add_argument("--job-id", default="fashion-mnist")
    p.add_argument("--out", default="fashion_mnist.csv", help="CSV of step, lr, phi, kappa, loss, source")
    p.add_argument("--model", default="mlp", choices=["mlp", "cnn"])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--warmup-steps", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--limit", type=int, default=None, help="use the first N training images")
    p.add_argument("--lr-max", type=float, default=0.1)
    p.add_argument("--lr-min", type=float, default=0.001)
    p.add_argument("--optimizer", default="sgd", choices=["sgd", "adamw"])
    p.add_argument("--momentum", type=float, default=0.0, help="SGD's heavy-ball momentum")
    p.add_argument("--weight-decay", type=float, default=0.01, help="AdamW's decoupled weight decay")
    p.add_argument("--probe-every", type=int, default=50)
    p.add_argument("--probe-m", type=int, default=20)
    p.add_argument("--probe-batch", type=int, default=512)
    p.add_argument("--probe-start", default="gradient", choices=["gradient", "random"],
                   help="where Lanczos starts: the probe batch's normalized gradient, or a random vector")
    p.add_argument("--probe-operator", default="hessian", choices=["hessian", "preconditioned"],
                   help="preconditioned: P^{-1/2} H P^{-1/2} from AdamW's second moments (needs --optimizer adamw)")
    p.add_argument("--apply-delay-steps", type=int, default=1)
    p.add_argument("--phi-scale", type=float, default=DEFAULT_SCALE,
                   help="condition_number scale: phi = S*(2 kappa)^E (default %(default)s, the service's)")
    p.add_argument("--phi-exponent", type=float, default=1.0)
    p.add_argument("--phi-min", type=float, default=0.1)
    p.add_argument("--phi-max", type=float, default=1000.0)
    p.add_argument("--lower-edge", type=lambda s: pb.LowerEdge.Value("LOWER_EDGE_" + s.upper()),
                   default=pb.LOWER_EDGE_SMALLEST_POSITIVE,
                   help="smallest_positive, quantile, floor or gradient_harmonic")
    p.add_argument("--phi-mode", default="live", choices=["live", "latched", "continuous"])
    p.add_argument("--fixed-phi", type=float, default=None, help="a fixed phi policy instead of condition_number")
    p.add_argument("--max-edge-ratio", type=float, default=None, help="the guard's r* (default: no guard)")
    p.add_argument("--floor-ratio", type=float, default=1e-6)
    p.add_argument("--fallback-phi", type=float, default=5.0)
    p.add_argument("--window", type=int, default=1000)
    p.add_argument("--deadline", type=float, default=1.0)
    p.add_argument("--retry-after", type=float, default=2.0)
    p.add_argument("--wait-estimates", type=float, default=0.0,
                   help="after each probe, wait up to this many seconds for its estimate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--verbose", action="store_true")
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args.probe_operator == "preconditioned" and args.optimizer != "adamw":
        p.error("--probe-operator preconditioned: needs --optimizer adamw (P comes from Adam's second moments)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
