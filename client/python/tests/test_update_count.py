"""StepsizeScheduler counts optimizer updates that happened (count="updates", the default), or every
scheduler.step() as torch does (count="calls"), with real torch against a real service. Expected
rates are the service's own GetLearningRate answers at the steps each mode must be at."""
import pytest
import torch

from stepsize import StepsizeScheduler
from stepsize.v1 import stepsize_pb2 as pb

TOTAL = 40


def _spec(job_id):
    return pb.JobSpec(job_id=job_id, total_steps=TOTAL, lr_max=0.1, lr_min=0.001, optimizer=pb.OPTIMIZER_SGD,
                      phi_policy=pb.PhiPolicy(fixed=pb.PhiPolicy.Fixed(phi=5)))


def _model():
    torch.manual_seed(0)
    return torch.nn.Linear(4, 2)


def _batch(i):
    g = torch.Generator().manual_seed(i)
    return torch.randn(8, 4, generator=g), torch.randint(0, 2, (8,), generator=g)


def _served(client, job_id):
    """The service's rate for every step of the job."""
    return [client.learning_rate(job_id, s).lr for s in range(TOTAL)]


class CpuGradScalerSkip:
    """What GradScaler.step does for an optimizer when its unscale found inf/NaN gradients: it does not
    call optimizer.step() (torch.cuda.amp.GradScaler._maybe_opt_step). Debian's torch 1.13 has no CPU
    GradScaler (torch.amp.GradScaler arrived in 2.3; the CUDA one disables itself without a GPU and
    then always steps, and _amp_foreach_non_finite_check_and_unscale_ has no CPU kernel), so the
    check is done here on the gradients, as that kernel does, and the skip exactly as GradScaler's."""

    def __init__(self):
        self.skipped = 0

    def step(self, optimizer):
        found_inf = any(not torch.isfinite(p.grad).all() for g in optimizer.param_groups for p in g["params"]
                        if p.grad is not None)
        if found_inf:
            self.skipped += 1
            return None
        return optimizer.step()


def _accumulation_run(client, job_id, count, updates=6, micro=4):
    """Gradient accumulation: scheduler.step() after every micro-step, optimizer.step() after every
    `micro`-th. Returns the lr each optimizer update used and the lr after every micro-step."""
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = StepsizeScheduler(opt, client, _spec(job_id), count=count)
    used, after = [], []
    try:
        for i in range(updates * micro):
            x, y = _batch(i)
            (torch.nn.functional.cross_entropy(model(x), y) / micro).backward()
            if i % micro == micro - 1:
                used.append(opt.param_groups[0]["lr"])
                opt.step()
                opt.zero_grad()
            sched.step()
            after.append(opt.param_groups[0]["lr"])
        return sched, used, after
    finally:
        sched.close()


def test_accumulation_advances_the_schedule_once_per_update(client):
    sched, used, after = _accumulation_run(client, "count-updates-accum", "updates")
    served = _served(client, "count-updates-accum")
    # update u ran with step u's rate: 4 micro-steps are one step of the job
    assert used == served[:6]
    # the rate holds through the micro-steps and moves after each update
    assert after == [served[i // 4 + 1] if i % 4 == 3 else served[i // 4] for i in range(24)]
    assert sched.last_epoch == 6 and sched.skipped_steps == 18
    assert sched.state_dict()["last_epoch"] == 6 and sched.state_dict()["count"] == "updates"


# torch itself warns here: the first scheduler.step() comes before any optimizer.step()
@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`")
def test_count_calls_advances_with_every_scheduler_step_as_torch_does(client):
    sched, used, after = _accumulation_run(client, "count-calls-accum", "calls")
    served = _served(client, "count-calls-accum")
    # the update after micro-step i ran with step i's rate: micro-steps 3, 7, 11, ...
    assert used == [served[i] for i in (3, 7, 11, 15, 19, 23)]
    assert after == served[1:25]
    assert sched.last_epoch == 24 and sched.skipped_steps == 0


@pytest.mark.parametrize("count", ["updates", "calls"])
def test_an_update_skipped_for_inf_gradients_does_not_advance_by_default(client, count):
    job_id = f"count-{count}-skip"
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = StepsizeScheduler(opt, client, _spec(job_id), count=count)
    scaler = CpuGradScalerSkip()
    used = []
    overflow = {2, 5, 6}  # iterations whose loss overflows, as fp16 does
    try:
        for i in range(10):
            x, y = _batch(i)
            loss = torch.nn.functional.cross_entropy(model(x), y)
            if i in overflow:
                loss = loss * float("inf")
            loss.backward()
            lr = opt.param_groups[0]["lr"]
            scaler.step(opt)
            if i not in overflow:
                used.append(lr)
            opt.zero_grad()
            sched.step()
    finally:
        sched.close()
    assert scaler.skipped == 3
    served = _served(client, job_id)
    if count == "updates":
        # the 7 updates that ran used steps 0..6: the overflowed iterations cost no budget
        assert used == served[:7]
        assert sched.last_epoch == 7 and sched.skipped_steps == 3
    else:
        # iterations 0, 1, 3, 4, 7, 8, 9 updated, each at the step of its iteration
        assert used == [served[i] for i in (0, 1, 3, 4, 7, 8, 9)]
        assert sched.last_epoch == 10 and sched.skipped_steps == 0


def test_resume_from_state_dict_continues_at_the_update_count(client):
    job_id = "count-updates-resume"
    served = _served_after_create(client, job_id)

    def micro_steps(sched, opt, model, start, n):
        used = []
        for i in range(start, start + n):
            x, y = _batch(i)
            (torch.nn.functional.cross_entropy(model(x), y) / 2).backward()
            if i % 2 == 1:
                used.append(opt.param_groups[0]["lr"])
                opt.step()
                opt.zero_grad()
            sched.step()
        return used

    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = StepsizeScheduler(opt, client, job_id)
    first = micro_steps(sched, opt, model, 0, 10)  # 5 updates
    state = sched.state_dict()
    sched.close()
    assert state["last_epoch"] == 5 and state["skipped_steps"] == 5

    # a new process: new optimizer (its update counter starts at 0), scheduler loaded from the state
    opt2 = torch.optim.SGD(model.parameters(), lr=1.0)
    sched2 = StepsizeScheduler(opt2, client, job_id)
    sched2.load_state_dict(state)
    try:
        assert opt2.param_groups[0]["lr"] == served[5]
        second = micro_steps(sched2, opt2, model, 10, 10)  # 5 more updates
    finally:
        sched2.close()
    assert first + second == served[:10]
    assert sched2.last_epoch == 10 and sched2.skipped_steps == 10


def _served_after_create(client, job_id):
    client.create_job(_spec(job_id))
    return _served(client, job_id)


def test_count_must_be_updates_or_calls(client):
    opt = torch.optim.SGD(_model().parameters(), lr=1.0)
    with pytest.raises(ValueError, match=r"^count: must be one of 'updates', 'calls' \(got 'epochs'\)$"):
        StepsizeScheduler(opt, client, _spec("count-bad"), count="epochs")


def test_several_updates_between_two_scheduler_steps_advance_by_each(client):
    job_id = "count-updates-two"
    served = _served_after_create(client, job_id)
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = StepsizeScheduler(opt, client, job_id)
    try:
        for i in range(2):
            x, y = _batch(i)
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        sched.step()
        # two updates made: the next one is step 2's
        assert sched.last_epoch == 2 and opt.param_groups[0]["lr"] == served[2]
    finally:
        sched.close()
