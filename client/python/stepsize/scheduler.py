"""StepsizeScheduler: a torch LR scheduler whose values come from a Stepsize job.

The learning rate of optimizer step s (0-based: the (s+1)-th ``optimizer.step()``) is the job's
answer for step s, which is a function of s and of the probes before it, not of the scheduler's
history. So ``state_dict`` holds the step count only, and a trainer resumed from a checkpoint
gets the same rates as one that never stopped.
"""
import logging
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

    ``window`` steps are fetched at once and the next window is prefetched; a background thread
    follows WatchSchedule. A step waits at most ``deadline`` seconds for the service; after a
    failure it uses the local formula with the last known curvature for ``retry_after`` seconds.
    """

    def __init__(self, optimizer, client: StepsizeClient, job, *, window: int = 1000,
                 retry_after: float = 2.0, deadline: float = 1.0, last_epoch: int = -1):
        self.remote = RemoteSchedule(client, job, window=window, retry_after=retry_after, deadline=deadline)
        self.job_id = self.remote.job_id
        groups = self.remote.schedule.groups
        if groups and len(groups) != len(optimizer.param_groups):
            self.remote.close()
            raise ValueError(f"job {self.job_id} has {len(groups)} parameter groups, the optimizer has "
                             f"{len(optimizer.param_groups)}")
        self.last_value: Optional[LrValue] = None
        self._total_steps = self.remote.total_steps
        self._past_end_warned = False
        super().__init__(optimizer, last_epoch)

    # ---- torch's interface --------------------------------------------------------------------

    def get_lr(self):
        step = self.last_epoch
        if 0 <= step < self._total_steps:
            value = self.remote.value(step)  # the common case, without value()'s range handling
        else:
            value = self.value(step)
        self.last_value = value
        groups = value.group_lrs
        return list(groups) if groups else [value.lr] * len(self.optimizer.param_groups)

    def state_dict(self):
        """The step count is the whole state (the rates are a function of it)."""
        return {"job_id": self.job_id, "last_epoch": self.last_epoch, "_step_count": self._step_count,
                "_last_lr": list(getattr(self, "_last_lr", []))}

    def load_state_dict(self, state_dict):
        if state_dict.get("job_id", self.job_id) != self.job_id:
            raise ValueError(f"state of job {state_dict['job_id']!r} loaded into a scheduler of job {self.job_id!r}")
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict.get("_step_count", self.last_epoch + 1))
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

    def wait_for_estimate(self, probe_step: int, timeout: float) -> bool:
        return self.remote.wait_for_estimate(probe_step, timeout)

    def close(self):
        """Stops following the job (the scheduler then answers from what it has fetched and locally)."""
        self.remote.close()
