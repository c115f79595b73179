#!/usr/bin/env python3
"""Client overhead of the Python StepsizeScheduler against torch's LambdaLR computing the same formula.

Starts a real `stepsize serve` (embedded broker, loopback gRPC), creates a fixed-phi job and times,
in interleaved rounds, N calls of
  - StepsizeScheduler.step()  (the service's rates, prefetched in windows, WatchSchedule thread on)
  - LambdaLR.step()           (torch's own scheduler, lambda = the local UBA formula of the same job)
  - LambdaLR.step()           (lambda = a bare cosine, the floor of what any torch scheduler costs)
on one optimizer over a tiny model. Prints one summary line:
  BENCH python_scheduler regime=tight|paced … stepsize_ns=… lambdalr_uba_ns=… ratio_vs_uba=… (one line per regime)
in two regimes: a tight loop, and a paced one that sleeps --pace-us between steps like a trainer
whose GPU work releases the GIL. Only scheduler.step() is timed.
Run: /usr/bin/python3 bench/python/bench_scheduler.py [--steps 20000] [--rounds 5]   (needs cli/target/stepsize.jar)
"""
import argparse
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PACKAGE = os.path.join(REPO, "client", "python")
sys.path.insert(0, PACKAGE)
import gen_stubs  # noqa: E402

gen_stubs.generate()
import torch  # noqa: E402
from stepsize import StepsizeClient, StepsizeScheduler  # noqa: E402
from stepsize.schedule import JobSchedule, evaluate  # noqa: E402
from stepsize.v1 import stepsize_pb2 as pb  # noqa: E402


def start_service(data_dir, log_path):
    jar = os.path.join(REPO, "cli", "target", "stepsize.jar")
    if not os.path.isfile(jar):
        sys.exit(f"{jar} is missing: run `mvn -B -q -DskipTests install` first")
    log = open(log_path, "ab")
    proc = subprocess.Popen(["java", "-Xmx384m", "-jar", jar, "serve", "--grpc-port", "0", "--kafka-port", "0",
                             "--http-port", "-1",
                             "--data-dir", data_dir], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    end = time.monotonic() + 120
    while time.monotonic() < end:
        ports = re.findall(r"Stepsize gRPC on port (\d+)", open(log_path, errors="replace").read())
        if ports:
            target = f"localhost:{ports[-1]}"
            with StepsizeClient(target) as c:
                if c.wait_until_serving(timeout=60):
                    return proc, target
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    sys.exit(f"stepsize serve did not start; see {log_path}")


def time_steps(scheduler, optimizer, steps, pace_s=0.0):
    """Mean ns of scheduler.step() alone. With pace_s > 0 the loop sleeps between steps, as a trainer
    whose step is GPU work that releases the GIL, so the prefetch runs beside it, not in its way."""
    total = 0
    clock = time.perf_counter_ns
    for _ in range(steps):
        optimizer.step()
        if pace_s:
            time.sleep(pace_s)
        t0 = clock()
        scheduler.step()
        total += clock() - t0
    return total / steps


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20000, help="scheduler steps per round (and per arm)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--paced-steps", type=int, default=3000, help="steps per round and arm in the paced regime")
    ap.add_argument("--pace-us", type=int, default=200, help="sleep between steps in the paced regime")
    args = ap.parse_args()
    torch.set_num_threads(1)
    total = (args.steps + args.paced_steps) * (args.rounds + 1) + 10
    with tempfile.TemporaryDirectory() as tmp:
        proc, target = start_service(os.path.join(tmp, "data"), os.path.join(tmp, "serve.log"))
        try:
            client = StepsizeClient(target)
            spec = pb.JobSpec(job_id=f"bench-{os.getpid()}", total_steps=total, lr_max=0.1, lr_min=0.001,
                              phi_policy=pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=5.0)))
            local = JobSchedule.from_spec(spec)
            model = torch.nn.Linear(4, 1)

            def optimizer():
                return torch.optim.SGD(model.parameters(), lr=0.1)

            opt_s = optimizer()
            stepsize = StepsizeScheduler(opt_s, client, spec)
            opt_u = optimizer()
            uba = torch.optim.lr_scheduler.LambdaLR(opt_u, lambda s: evaluate(local, min(s, total - 1)).lr / 0.1)
            opt_c = optimizer()
            cosine = torch.optim.lr_scheduler.LambdaLR(
                opt_c, lambda s: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * s / total)))
            # warm up: the first window, JIT-free Python but cold caches
            time_steps(stepsize, opt_s, args.steps // 4)
            time_steps(uba, opt_u, args.steps // 4)
            time_steps(cosine, opt_c, args.steps // 4)
            results = {}
            for regime, steps, pace in (("tight", args.steps, 0.0), ("paced", args.paced_steps, args.pace_us * 1e-6)):
                s_ns, u_ns, c_ns = [], [], []
                for _ in range(args.rounds):
                    s_ns.append(time_steps(stepsize, opt_s, steps, pace))
                    u_ns.append(time_steps(uba, opt_u, steps, pace))
                    c_ns.append(time_steps(cosine, opt_c, steps, pace))
                results[regime] = tuple(statistics.median(x) for x in (s_ns, u_ns, c_ns))
            remote = stepsize.remote.remote_answers
            local_answers = stepsize.remote.local_answers
            stepsize.close() if hasattr(stepsize, "close") else stepsize.remote.close()
            client.close()
            for regime, (s, u, c) in results.items():
                print(f"BENCH python_scheduler regime={regime} pace_us={0 if regime == 'tight' else args.pace_us} "
                      f"rounds={args.rounds} stepsize_ns={s:.0f} lambdalr_uba_ns={u:.0f} lambdalr_cosine_ns={c:.0f} "
                      f"ratio_vs_uba={s / u:.2f} ratio_vs_cosine={s / c:.2f} remote_answers={remote} "
                      f"local_answers={local_answers} target_ratio=2.0 met={'yes' if s / u <= 2.0 else 'no'}")
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
