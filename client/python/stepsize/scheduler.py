"""StepsizeScheduler: a torch LR scheduler whose values come from a Stepsize job.

The learning rate of optimizer step s (0-based: the (s+1)-th ``optimizer.step()`` that ran) is the
job's answer for step s, which is a function of s and of the probes before it, not of the
scheduler's history. So ``state_dict`` holds the step count only, and a trainer resumed from a
checkpoint gets the same rates as one that never stopped.
"""
import functools
import logging
import weakref
from typing import Optional

try:  # torch >= 2.0 names the base class LRScheduler; 1.13 (Debian bookworm) calls it _LRScheduler
    from torch.optim.lr_scheduler import LRScheduler as _Base
except ImportError:  # pragma: no cover - depends on the installed torch
    from torch.optim.lr_scheduler import _LRScheduler as _Base

from stepsize.client import StepsizeClient
from stepsize.remote import RemoteSchedule
from stepsize.schedule import LrValue

log = logging.getLogger(__name__)


class StepsizeScheduler(_Base):
    """Sets every parameter group's lr from the job each ``step()``.

    ``job`` is a JobSpec (created idempotently, so training may start with the service down) or a
    job id. When the spec has ``groups``, their number must equal the optimizer's parameter groups
    and group g gets lr_min_g + (lr_max_g - lr_min_g)·f; otherwise every group gets the job's lr.
    Steps at or past total_steps keep the last step's rate (a trailing ``step()`` is harmless).
    total_steps is the one in force: a revision that extends the job (ReviseJob) lets training go on
    past the spec's total_steps.

    Revisions (DESIGN.md §1.5) reach the scheduler by the watch: rates prefetched for steps at or after
    a revision's from_step are dropped and fetched again, and the local formula includes the
    revisions (``wait_for_revision`` waits until one is known, for ranks that must switch together).

    ``window`` steps are fetched at once and the next window is prefetched; a background thread
    follows WatchSchedule. A step waits at most ``deadline`` seconds for the service; after a
    failure it uses the local formula with the last known curvature for ``retry_after`` seconds.

    ``count`` says what a step of the job is. ``"updates"`` (the default): an optimizer update that
    happened. A ``scheduler.step()`` after an iteration whose ``optimizer.step()`` did not run keeps
    the rate and does not advance the schedule, so the job's budget is spent in real updates: AMP's
    ``GradScaler`` skipping inf/NaN gradients, a gradient-accumulation micro-step, a step skipped on
    purpose. It is detected as torch's own schedulers detect an ``optimizer.step()`` call: the
    optimizer's ``step`` is wrapped with a counter (on the instance, once, whoever wraps it later).
    ``"calls"``: every ``scheduler.step()`` advances, as torch's schedulers do. ``skipped_steps``
    counts the ``scheduler.step()`` calls that did not advance.
    """

    COUNTS = ("updates", "calls")

    def __init__(self, optimizer, client: StepsizeClient, job, *, window: int = 1000,
                 retry_after: float = 2.0, deadline: float = 1.0, last_epoch: int = -1, count: str = "updates"):
        if count not in self.COUNTS:
            raise ValueError(f"count: must be one of {', '.join(map(repr, self.COUNTS))} (got {count!r})")
        self.count = count
        self.skipped_steps = 0
        self._updates_seen = None  # the optimizer's update counter at the last step(); None until wrapped
        self.remote = RemoteSchedule(client, job, window=window, retry_after=retry_after, deadline=deadline)
        self.job_id = self.remote.job_id
        groups = self.remote.schedule.groups
        if groups and len(groups) != len(optimizer.param_groups):
            self.remote.close()
            raise ValueError(f"job {self.job_id} has {len(groups)} parameter groups, the optimizer has "
                             f"{len(optimizer.param_groups)}")
        self.last_value: Optional[LrValue] = None
        self._past_end_warned = False
        super().__init__(optimizer, last_epoch)
        # after torch's own wrapper, which would not wrap a wrapper that is not a bound method
        _count_updates(optimizer)
        self._updates_seen = optimizer._stepsize_updates

    # ---- torch's interface --------------------------------------------------------------------

    def get_lr(self):
        step = self.last_epoch
        if 0 <= step < self.remote.total_steps:  # in force: a revision may extend or shorten it
            value = self.remote.value(step)  # the common case, without value()'s range handling
        else:
            value = self.value(step)
        self.last_value = value
        groups = value.group_lrs
        return list(groups) if groups else [value.lr] * len(self.optimizer.param_groups)

    def step(self, epoch=None):
        if self.count == "updates" and epoch is None and self._updates_seen is not None:
            if not getattr(self.optimizer.step, _WRAPPED, False):
                # optimizer.step was replaced after this scheduler was made: updates cannot be seen
                log.warning("job %s: optimizer.step was replaced after the scheduler was created; counting "
                            "scheduler.step() calls from now on", self.job_id)
                self.count = "calls"
            else:
                updates = self.optimizer._stepsize_updates
                done = updates - self._updates_seen
                self._updates_seen = updates
                if done <= 0:
                    self.skipped_steps += 1
                    return
                # several updates between two scheduler steps: the next rate is that of the last one's step
                self.last_epoch += done - 1
        super().step(epoch)

    def state_dict(self):
        """The step count is the whole state (the rates are a function of it): with count="updates"
        last_epoch is the number of optimizer updates made."""
        return {"job_id": self.job_id, "count": self.count, "last_epoch": self.last_epoch,
                "_step_count": self._step_count, "skipped_steps": self.skipped_steps,
                "_last_lr": list(getattr(self, "_last_lr", []))}

    def load_state_dict(self, state_dict):
        if state_dict.get("job_id", self.job_id) != self.job_id:
            raise ValueError(f"state of job {state_dict['job_id']!r} loaded into a scheduler of job {self.job_id!r}")
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict.get("_step_count", self.last_epoch + 1))
        self.skipped_steps = int(state_dict.get("skipped_steps", 0))
        if state_dict.get("count", self.count) != self.count:
            log.warning("job %s: resuming with count=%r from a state saved with count=%r", self.job_id, self.count,
                        state_dict["count"])
        # updates made before the resume are in last_epoch; count from the optimizer's counter as it is now
        self._updates_seen = getattr(self.optimizer, "_stepsize_updates", None)
        # set the groups at once, so the next optimizer.step() uses the resumed step's rate
        lrs = self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = lrs

    # ---- Stepsize's additions -----------------------------------------------------------------

    def value(self, step: int) -> LrValue:
        """The full answer (lr, group lrs, phi, kappa, source, ...) for a step."""
        total = self.remote.total_steps
        if step >= total:
            # step == total is the usual trailing scheduler.step() after the last optimizer step
            if step > total and not self._past_end_warned:
                log.warning("job %s: step %d is past total_steps = %d; keeping the last step's rate",
                            self.job_id, step, total)
                self._past_end_warned = True
            step = total - 1
        return self.remote.value(max(step, 0))

    @property
    def phi(self) -> float:
        return self.last_value.phi if self.last_value is not None else float("nan")

    @property
    def kappa(self) -> float:
        return self.last_value.kappa if self.last_value is not None else float("nan")

    def wait_for_estimate(self, probe_step: int, timeout: float, probes: int = 1) -> bool:
        """See RemoteSchedule.wait_for_estimate: ``probes`` = the number of workers probing a step."""
        return self.remote.wait_for_estimate(probe_step, timeout, probes)

    def wait_for_revision(self, number: int, timeout: float) -> bool:
        """See RemoteSchedule.wait_for_revision: True once revision ``number`` of the job is known here."""
        return self.remote.wait_for_revision(number, timeout)

    def close(self):
        """Stops following the job (the scheduler then answers from what it has fetched and locally)."""
        self.remote.close()


_WRAPPED = "_stepsize_counts_updates"


def _count_updates(optimizer):
    """Wraps the optimizer instance's ``step`` with a counter of the updates that ran,
    ``optimizer._stepsize_updates``, as torch's LRScheduler wraps it to see whether it was called.
    Once per optimizer: a second scheduler reads the same counter. functools.wraps keeps the marks
    of torch's wrapper (``_with_counter``, ``_wrapped_by_lr_sched``) so torch does not wrap again."""
    if getattr(optimizer.step, _WRAPPED, False):
        return
    inner = optimizer.step
    ref = weakref.ref(optimizer)  # no cycle optimizer -> wrapper -> optimizer

    @functools.wraps(inner)
    def step(*args, **kwargs):
        result = inner(*args, **kwargs)
        opt = ref()
        if opt is not None:
            opt._stepsize_updates += 1
        return result

    setattr(step, _WRAPPED, True)
    optimizer._stepsize_updates = 0
    optimizer.step = step
