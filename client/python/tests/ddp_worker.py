"""One rank of the data-parallel trainer that test_ddp.py starts twice (as torchrun would: RANK,
WORLD_SIZE, and the rendezvous address in the environment). It trains a tiny model with DDP over
gloo on CPU, runs its own StepsizeScheduler on the shared job, publishes a Lanczos probe of its
own data shard with worker_id = rank at the same steps as the other rank, and writes the rate of
every update to a JSON file (json writes doubles in their shortest round-trip form).

With a revision step r and a directory (argv 6, 7), the rank writes rank<rank>.at there when it reaches
step r and waits until its scheduler knows revision 1 (made meanwhile by the test process) before
training on: the revision then reaches every rank before any rank uses a step it changes. It trains
until the total_steps in force (an extension makes it run longer)."""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))  # the package, as conftest.py puts it

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
from torch.nn.parallel import DistributedDataParallel  # noqa: E402

from stepsize import ProbePublisher, StepsizeClient, StepsizeScheduler, lanczos_probe  # noqa: E402
from stepsize.v1 import stepsize_pb2 as pb  # noqa: E402


def spec(job_id, total):
    # phi from the curvature: the rates depend on both ranks' probes
    return pb.JobSpec(job_id=job_id, total_steps=total, lr_max=0.05, lr_min=0.001, optimizer=pb.OPTIMIZER_SGD,
                      phi_policy=pb.PhiPolicy(condition_number=pb.PhiPolicy.ConditionNumber(), fallback_phi=5))


def main():
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    target, job_id, out = sys.argv[1], sys.argv[2], sys.argv[3]
    total, probe_every = int(sys.argv[4]), int(sys.argv[5])
    revision_at, marker_dir = (int(sys.argv[6]), sys.argv[7]) if len(sys.argv) > 7 else (-1, None)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=os.environ["INIT_METHOD"], rank=rank, world_size=world)
    torch.manual_seed(0)  # the same initial weights (DDP broadcasts rank 0's anyway)
    net = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    model = DistributedDataParallel(net)
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    client = StepsizeClient(target, deadline=10.0)
    sched = StepsizeScheduler(opt, client, spec(job_id, total))  # CreateJob is idempotent: both ranks call it
    publisher = ProbePublisher(client, worker_id=str(rank), strict=True)
    data = torch.Generator().manual_seed(1000 + rank)  # this rank's shard
    lrs, probe_steps = [], []
    try:
        step = 0
        while step < sched.remote.total_steps:  # in force: a revision may extend the run
            if step == revision_at:
                open(os.path.join(marker_dir, f"rank{rank}.at"), "w").close()
                if not sched.wait_for_revision(1, timeout=120):
                    raise RuntimeError(f"rank {rank}: revision 1 not known within 120 s at step {step}")
            x, y = torch.randn(32, 6, generator=data), torch.randint(0, 3, (32,), generator=data)
            if step % probe_every == 0:
                result = lanczos_probe(net, loss_fn, (x, y), m=8, seed=step * world + rank)
                assert publisher.publish_lanczos(job_id, step, result) == 1
                probe_steps.append(step)
                # no rank probes the next step before both probes of this one are in: a later
                # step's probe would make this step's second probe late
                dist.barrier()
                # the rates from step + apply_delay_steps on depend on the estimate combining both
                if not sched.wait_for_estimate(step, timeout=60, probes=world):
                    raise RuntimeError(f"rank {rank}: no estimate of step {step} with {world} probes in 60 s")
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
            step += 1
    finally:
        sched.close()
        client.close()
    with open(out, "w") as f:
        json.dump({"rank": rank, "lrs": lrs, "probe_steps": probe_steps, "updates": sched.last_epoch,
                   "timeline": [[p.step, p.probes] for p in sched.remote.timeline.points]}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
