"""RemoteSchedule: a job's learning rates as the trainer sees them (the Java RemoteSchedule's twin).

Windows of rates come from GetLearningRates and the next one is prefetched when the trainer is
3/4 through the current; a background thread follows WatchSchedule and cuts the windows short
when a new estimate or a revision applies (from the step it applies from), and keeps the curvature
timeline and the job's revisions for the local formula. After the watch reconnects, what was missed
meanwhile (estimates, revisions) cuts the windows the same way. When the service cannot answer
within the deadline, the step is computed locally with the last known timeline and revisions
(DESIGN.md §1.5, §1.6), a warning is logged, and the service is left alone for ``retry_after``
seconds, so a step never waits longer than one deadline and later steps do not wait at all.
"""
import logging
import threading
import time
from typing import List, NamedTuple, Optional

import grpc

from stepsize.client import StepsizeClient, is_transient
from stepsize.schedule import CurvaturePoint, CurvatureTimeline, JobSchedule, LrValue, evaluate
from stepsize.v1 import stepsize_pb2 as pb

log = logging.getLogger(__name__)


class _Window(NamedTuple):
    """Rates for [start, end); a watch update may lower end, never raise it."""
    start: int
    end: int
    rates: List[LrValue]
    generation: int

    def covers(self, step):
        return self.start <= step < self.end

    def cut_at(self, step):
        return self if step >= self.end else self._replace(end=max(self.start, step))


def _step_probes(points) -> int:
    """The probes of the newest point's own step: a point counts its phase's probes up to its step."""
    p = points[-1]
    prev = points[-2] if len(points) > 1 else None
    return p.probes - prev.probes if prev is not None and prev.phase == p.phase else p.probes


class RemoteSchedule:
    """Follows one job. ``job`` is a JobSpec (created idempotently; works with the service down)
    or a job id (the service must answer GetJob once)."""

    def __init__(self, client: StepsizeClient, job, *, window: int = 1000, retry_after: float = 2.0,
                 deadline: Optional[float] = None):
        if window < 1:
            raise ValueError(f"window: must be >= 1 (got {window})")
        self.client = client
        self.window = window
        self.retry_after = retry_after
        self.deadline = client.deadline if deadline is None else deadline
        self._needs_create = False
        unavailable = False
        described = None  # the Job the service answered: its revisions are in force
        if isinstance(job, str):
            described = client.get_job(job, timeout=self.deadline)
            spec = described.spec
        else:
            spec = job
            try:
                described = client.create_job(spec, timeout=self.deadline)
            except grpc.RpcError as e:
                if not is_transient(e):
                    raise
                # created later, when the service answers (CreateJob is idempotent)
                self._needs_create = True
                unavailable = True
                log.warning("Stepsize service unavailable at %s (%s): job %s starts on the local formula",
                            client.target, e.code().name, spec.job_id)
        self.spec = spec
        self.job_id = spec.job_id
        #: the spec with the revisions this schedule knows (the local formula's job)
        self._set_schedule(JobSchedule.from_job(described) if described is not None else JobSchedule.from_spec(spec))
        self.remote_answers = 0
        self.local_answers = 0
        self._lock = threading.Lock()
        self._generation = 0
        self._current: Optional[_Window] = None
        self._next: Optional[_Window] = None
        self._inflight = None  # (first step, future, generation) of the prefetch under way
        self._timeline = CurvatureTimeline.EMPTY
        self._timeline_changed = threading.Condition(self._lock)
        self._offline_until = 0.0
        self._closed = threading.Event()
        self._watch_call = None
        if unavailable:
            # one failed CreateJob is enough: the first steps answer locally without asking again
            self._offline_until = time.monotonic() + retry_after
        else:
            self._load_timeline()
        self._watcher = threading.Thread(target=self._follow, name=f"stepsize-watch-{self.job_id}", daemon=True)
        self._watcher.start()

    # ---- the trainer's side -------------------------------------------------------------------

    @property
    def timeline(self) -> CurvatureTimeline:
        return self._timeline

    @property
    def total_steps(self) -> int:
        """total_steps in force: the latest known revision's (an extension lets the trainer go on)."""
        return self._total_steps

    @property
    def revision(self) -> int:
        """The number of the job's revisions this schedule knows (revision n is the n-th)."""
        return len(self.schedule.revisions)

    def value(self, step: int) -> LrValue:
        """The service's answer when it can give it within the deadline, else the local formula's."""
        gen = self._generation
        w = self._current
        # the hot path of every training step: attribute reads and one comparison chain, no calls
        # unless the window is 3/4 used and nothing is being prefetched yet
        if w is not None and w.start <= step < w.end:
            value = w.rates[step - w.start]
            # the watch cuts the windows before it bumps the generation (as the Java RemoteSchedule
            # does): the same generation after the read means w was not cut meanwhile
            if self._generation == gen:
                if step >= w.start + ((w.end - w.start) * 3 >> 2) and self._next is None and self._inflight is None:
                    self._maybe_prefetch(w, step)
                self.remote_answers += 1
                return value
        with self._lock:
            c = self._current
            if c is not None and c.covers(step):  # a cut raced the read above: the window as it is now
                self.remote_answers += 1
                return c.rates[step - c.start]
            n = self._next
            if n is not None and n.covers(step):
                self._current, self._next = n, None
                self.remote_answers += 1
                return n.rates[step - n.start]
        if time.monotonic() < self._offline_until:
            return self._local(step)
        fresh = None
        for _ in range(3):
            gen = self._generation
            inflight = self._inflight
            try:
                if inflight is not None and inflight[2] == gen and inflight[0] <= step < inflight[0] + self.window:
                    # the trainer outran the prefetch: wait for it (its own deadline bounds the wait)
                    # rather than ask for the same window twice
                    rates = inflight[1].result()
                else:
                    self._ensure_created()
                    rates = self.client.learning_rates(self.job_id, step, self.window, timeout=self.deadline)
            except grpc.RpcError as e:
                if not is_transient(e):
                    raise
                self._go_offline(e)
                return self._local(step)
            fresh = self._to_window(rates, gen)
            if not fresh.covers(step):  # cannot happen for 0 <= step < T; answer locally rather than fail
                return self._local(step)
            with self._lock:
                if self._generation == gen:
                    self._current, self._next = fresh, None
                    break
            # an estimate arrived while this window was fetched: it may predate it, so ask again
        self.remote_answers += 1
        return fresh.rates[step - fresh.start]

    def wait_for_estimate(self, probe_step: int, timeout: float, probes: int = 1) -> bool:
        """Waits until an estimate from a probe at probe_step or later is known here; for trainers
        (and tests) that want every estimate applied at the step its rule says. With N data-parallel
        workers probing the same step, ``probes=N`` waits until the estimate of probe_step combines
        all N (the estimator replaces a step's estimate as each worker's probe arrives), so every
        rank reads the same rates afterwards."""
        end = time.monotonic() + timeout
        with self._timeline_changed:
            while True:
                points = self._timeline.points
                latest = points[-1] if points else None
                if latest is not None and (latest.step > probe_step
                                           or (latest.step == probe_step and _step_probes(points) >= probes)):
                    return True
                left = end - time.monotonic()
                if left <= 0 or self._closed.is_set():
                    return False
                self._timeline_changed.wait(left)

    def wait_for_revision(self, number: int, timeout: float) -> bool:
        """Waits until this schedule knows revision ``number`` of the job (pushed by the watch, or read
        after a reconnect); its windows are cut at the revision's from_step by then. For trainers (and
        tests) that must see a revision from exactly its from_step, e.g. every rank of a data-parallel
        job at the same step."""
        end = time.monotonic() + timeout
        with self._timeline_changed:
            while self.revision < number:
                left = end - time.monotonic()
                if left <= 0 or self._closed.is_set():
                    return False
                self._timeline_changed.wait(left)
            return True

    def close(self):
        self._closed.set()
        call = self._watch_call
        if call is not None:
            call.cancel()
        self._watcher.join(timeout=5)

    # ---- internals ----------------------------------------------------------------------------

    def _local(self, step):
        self.local_answers += 1
        return evaluate(self.schedule, step, self._timeline)

    def _go_offline(self, error):
        self._offline_until = time.monotonic() + self.retry_after
        log.warning("Stepsize service unavailable for job %s (%s): local formula with the last known "
                    "curvature for %.1f s", self.job_id, error.code().name, self.retry_after)

    @staticmethod
    def _to_window(rates, gen):
        values = [LrValue.from_proto(r) for r in rates.rates]
        start = values[0].step if values else 0
        return _Window(start, start + len(values), values, gen)

    def _maybe_prefetch(self, w, step):
        """Called by value() once step is 3/4 into w with no next window and no prefetch running."""
        if w.end >= self.total_steps or time.monotonic() < self._offline_until:
            return
        gen = self._generation
        try:
            future = self.client.learning_rates_future(self.job_id, w.end, self.window, timeout=self.deadline)
        except grpc.RpcError:
            return
        entry = (w.end, future, gen)
        self._inflight = entry

        def done(f):
            try:
                error = f.exception()
                if error is None:
                    fresh = self._to_window(f.result(), gen)
                    with self._lock:
                        if self._generation == gen and self._current is w:
                            self._next = fresh
                elif isinstance(error, grpc.RpcError) and is_transient(error):
                    # left alone like a failed step, or each later step would start another prefetch
                    self._go_offline(error)
            finally:
                if self._inflight is entry:
                    self._inflight = None

        future.add_done_callback(done)

    def _ensure_created(self):
        if self._needs_create:
            self.client.create_job(self.spec, timeout=self.deadline)
            self._needs_create = False

    def _load_timeline(self):
        try:
            self._ensure_created()
            timeline = CurvatureTimeline.from_proto(self.client.curvature(self.job_id, timeout=self.deadline))
        except grpc.RpcError as e:
            log.debug("no curvature for job %s (%s)", self.job_id, e.code().name)
            return False
        with self._timeline_changed:
            # estimates may have arrived while the watch was down, and the watch that opens next
            # says nothing new: cut the windows at the first estimate this schedule did not know
            known = self._timeline.latest()
            for p in timeline.points:
                if known is None or p.step > known.step or (p.step == known.step and p.probes != known.probes):
                    self._cut_windows_at(max(0, p.applies_from_step))
                    break
            self._timeline = timeline
            self._timeline_changed.notify_all()
        return True

    def _follow(self):
        """WatchSchedule until closed; after an error, reload the timeline and subscribe again."""
        first = True
        while not self._closed.is_set():
            if not first and not (self._load_timeline() and self._load_revisions()):
                self._closed.wait(self.retry_after)
                continue
            first = False
            call = self.client.watch(self.job_id)
            self._watch_call = call
            if self._closed.is_set():
                call.cancel()
                return
            try:
                for update in call:
                    self._apply(update)
            except grpc.RpcError as e:
                if self._closed.is_set():
                    return
                log.debug("watch of job %s ended (%s); again in %.1f s", self.job_id, e.code().name,
                          self.retry_after)
            self._closed.wait(self.retry_after)

    def _load_revisions(self):
        """Reads the job's revisions (after a pushed revision, and when the watch reconnects: some may have
        been made while it was down). Windows are cut at the earliest from_step among the revisions this
        schedule did not know, before the plan that includes them is published. False when GetJob failed."""
        try:
            self._ensure_created()
            job = self.client.get_job(self.job_id, timeout=self.deadline)
            known = self.revision
            if len(job.revisions) <= known:
                return True
            revised = JobSchedule.from_job(job)
        except grpc.RpcError as e:
            log.warning("could not read the revisions of job %s (%s); the local formula uses the %d it knows",
                        self.job_id, e.code().name, self.revision)
            return False
        except ValueError as e:
            log.warning("job %s: revisions this client cannot read (%s); the local formula uses the %d it knows",
                        self.job_id, e, self.revision)
            return True
        with self._timeline_changed:
            self._cut_windows_at(min(r.from_step for r in job.revisions[known:]))
            self._set_schedule(revised)
            self._timeline_changed.notify_all()
        return True

    def _set_schedule(self, schedule: JobSchedule):
        self.schedule = schedule
        self._total_steps = schedule.in_force().budget.total_steps

    def _apply(self, update: pb.ScheduleUpdate):
        if update.revision > self.revision:
            # a revision: nothing prefetched from its step on holds; read it for the local formula
            with self._lock:
                self._cut_windows_at(update.from_step)
            self._load_revisions()
        if not update.HasField("curvature") or update.curvature.probes == 0:
            return  # no estimate yet: the windows hold the fallback rates already
        point = CurvaturePoint.from_proto(update.curvature)
        with self._timeline_changed:
            if point == self._timeline.latest():
                return  # the estimate we have (the watch opens with the current state)
            self._cut_windows_at(update.from_step)
            latest = self._timeline.latest()
            if latest is not None and latest.step == point.step:
                # another worker's probe of the same step was merged in: the estimate replaces the
                # step's point, as in the estimator's timeline, rather than follow it
                self._timeline = CurvatureTimeline(self._timeline.points[:-1] + [point])
            else:
                self._timeline = self._timeline.with_point(point)
            self._timeline_changed.notify_all()

    def _cut_windows_at(self, step):
        """Windows fetched before an estimate or a revision are stale from the step it applies to (holding
        the lock). Cut first, then bump the generation: value()'s unlocked read relies on that order."""
        if self._current is not None:
            self._current = self._current.cut_at(step)
        if self._next is not None:
            self._next = self._next.cut_at(step)
        self._generation += 1
