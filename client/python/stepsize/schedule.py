"""The local formula: a job's learning rate as a pure function of (job, revisions, step, curvature timeline).

A line-by-line port of the Java schedule library (io.stepsize.schedule: Budget, Uba,
CurvatureTimeline, PhiPolicy, LrEvaluator, Revision, JobPlan, EdgeOfStability, StabilityMargin) and of its defaults as
io.stepsize.wire.JobSpecs reads them, so the client's fallback gives the service's answer (to a few ulps: only cos/sin
may differ in the last bit). DESIGN.md §1.1-1.3, §1.5 (revisions), §1.6 (continuous phi) and §1.7 (edge ratio and
guard) are the contract. The Java side writes conformance/schedule-cases.json
(every policy and mode, warmup, phases, groups, timelines, fallbacks, and the defaults below) and
tests/test_conformance.py replays it here, so a drift fails a test instead of a training run. No I/O, no torch,
no protobuf import: ``JobSchedule.from_spec`` reads any object shaped like the proto JobSpec.
"""
import bisect
import enum
import math
from typing import List, NamedTuple, Optional, Sequence


class Source(enum.IntEnum):
    """Where the phi of an answer came from (values of the proto enum stepsize.v1.Source)."""
    FALLBACK = 1
    CURVATURE = 2
    FIXED = 3
    WARMUP = 4


NOTE_NO_ESTIMATE = "no curvature estimate applies to this step yet; fallback_phi used"
NOTE_NO_CONDITION_NUMBER = ("the applying curvature estimate has lambda_low <= 0 (no condition number, "
                            "see lambda_low); fallback_phi used")
NOTE_RANGE_OVERFLOW = "chebyshev: 1/lambda_low is not finite; fallback_phi used"

# proto enum numbers (stepsize.v1), read without importing the stubs
_OPTIMIZER_SGD = 1
_OPTIMIZER_ADAMW = 2
_OPTIMIZER_OTHER = 3
_OPERATOR_PRECONDITIONED = 2
_PHI_MODE_LATCHED = 2
_PHI_MODE_CONTINUOUS = 3

# The defaults of io.stepsize.schedule (JobSchedule, PhiPolicy.ConditionNumber, Optimizer), each written
# once here; test_conformance.py checks them against the values the Java test wrote.
DEFAULT_APPLY_DELAY_STEPS = 1
# phi = 0.2 kappa, from docs/EXPERIMENTS.md (PhiPolicy.ConditionNumber.DEFAULT_SCALE)
DEFAULT_SCALE = 0.1
DEFAULT_EXPONENT = 1.0
DEFAULT_PHI_MIN = 0.1
DEFAULT_PHI_MAX = 1000.0
# fallback phi by optimizer (Optimizer.defaultPhi): the paper's 5 for SGD, 0.5 for AdamW and the rest
SGD_PHI = 5.0
ADAPTIVE_PHI = 0.5
# JobSpec.momentum when unset: beta (SGD) or beta1 (AdamW) (EdgeOfStability.DEFAULT_MOMENTUM)
DEFAULT_MOMENTUM = 0.9


def _invalid(field, rule, detail):
    return ValueError(f"{field}: {rule} ({detail})")


def _finite_positive(field, v):
    if not (v > 0) or not math.isfinite(v):
        raise _invalid(field, "must be finite and > 0", f"got {v}")
    return v


def _finite_non_negative(field, v):
    if not (v >= 0) or not math.isfinite(v):
        raise _invalid(field, "must be finite and >= 0", f"got {v}")
    return v


class StabilityMargin:
    """The job's optimizer, momentum and guard (StabilityMargin and EdgeOfStability of the Java library, DESIGN.md
    §1.7). optimizer is the proto enum number; unspecified (0) reads as SGD."""

    __slots__ = ("optimizer", "momentum", "max_edge_ratio")

    def __init__(self, optimizer: int = _OPTIMIZER_SGD, momentum: float = DEFAULT_MOMENTUM,
                 max_edge_ratio: Optional[float] = None):
        if not (momentum >= 0 and momentum < 1):
            raise _invalid("momentum", "must be in [0, 1)", f"got {momentum}")
        if max_edge_ratio is not None:
            _finite_positive("guard.max_edge_ratio", max_edge_ratio)
            if optimizer == _OPTIMIZER_OTHER:
                raise _invalid("guard.max_edge_ratio", "needs optimizer SGD or ADAMW (OTHER has no stability threshold,"
                               " so the guard could never act)", f"got {max_edge_ratio}")
        self.optimizer = _OPTIMIZER_SGD if optimizer == 0 else optimizer
        self.momentum = momentum
        self.max_edge_ratio = max_edge_ratio

    @classmethod
    def from_spec(cls, spec) -> "StabilityMargin":
        """JobSpecs.stabilityMargin: momentum default 0.9, the guard's max_edge_ratio when set."""
        momentum = spec.momentum if spec.HasField("momentum") else DEFAULT_MOMENTUM
        guard = spec.guard.max_edge_ratio if spec.guard.HasField("max_edge_ratio") else None
        return cls(spec.optimizer, momentum, guard)

    def threshold(self) -> float:
        """2 + 2 beta (heavy-ball SGD), (2 + 2 beta1)/(1 - beta1) (AdamW), NaN for OTHER."""
        if self.optimizer == _OPTIMIZER_ADAMW:
            return (2 + 2 * self.momentum) / (1 - self.momentum)
        if self.optimizer == _OPTIMIZER_OTHER:
            return math.nan
        return 2 + 2 * self.momentum

    def _measures_step(self, point) -> bool:
        """The Hessian for SGD (and OTHER), the preconditioned operator for AdamW."""
        return point.preconditioned if self.optimizer == _OPTIMIZER_ADAMW else not point.preconditioned

    def edge_ratio(self, eta: float, point) -> float:
        """eta * lambda_max / threshold; NaN when no point is in force or it does not measure the step."""
        if point is None or not self._measures_step(point):
            return math.nan
        return eta * point.lambda_max / self.threshold()

    def cap(self, point) -> float:
        """r* * threshold / lambda_max, or inf when the guard does not act (none, no point, the other operator,
        lambda_max not finite and > 0)."""
        if self.max_edge_ratio is None or point is None or not self._measures_step(point):
            return math.inf
        lam = point.lambda_max
        if not (lam > 0) or not math.isfinite(lam):
            return math.inf
        return self.max_edge_ratio * self.threshold() / lam

    def guard(self, v: "LrValue", point) -> "LrValue":
        """v, or eta at the cap with lr and every group scaled by cap/eta and guarded True (StabilityMargin.guard)."""
        cap = self.cap(point)
        eta = _eta(v.lr, v.group_lrs)
        if not (cap < eta):
            return v
        scale = cap / eta
        groups = tuple(cap if g == 0 else x * scale for g, x in enumerate(v.group_lrs))
        lr = cap if not groups else v.lr * scale
        return v._replace(lr=lr, group_lrs=groups, guarded=True)


def _eta(lr, group_lrs) -> float:
    """The lr an edge ratio reads: group 0's when the job has groups (StabilityMargin.eta)."""
    return group_lrs[0] if group_lrs else lr


StabilityMargin.DEFAULT = StabilityMargin()


class Budget:
    """total_steps T, warmup_steps W, boundaries B_1..B_K (empty: one phase to T), phase_offset."""

    __slots__ = ("total_steps", "warmup_steps", "boundaries", "phase_offset")

    def __init__(self, total_steps: int, warmup_steps: int = 0, boundaries: Sequence[int] = (),
                 phase_offset: int = 0):
        total_steps, warmup_steps = int(total_steps), int(warmup_steps)
        if total_steps < 1:
            raise _invalid("total_steps", "must be >= 1", f"got {total_steps}")
        if warmup_steps < 0 or warmup_steps >= total_steps:
            raise _invalid("warmup_steps", "must be >= 0 and < total_steps",
                           f"got {warmup_steps}, total_steps = {total_steps}")
        boundaries = tuple(int(b) for b in boundaries)
        previous = warmup_steps
        for i, b in enumerate(boundaries):
            if b <= previous:
                raise _invalid("phase_boundaries", "must be strictly increasing", f"B_{i + 1} = {b} <= {previous}")
            previous = b
        if boundaries and boundaries[-1] != total_steps:
            raise _invalid("phase_boundaries", f"must end at total_steps = {total_steps}", f"got {boundaries[-1]}")
        if phase_offset not in (0, 1):
            raise _invalid("phase_offset", "must be 0 or 1", f"got {phase_offset}")
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.boundaries = boundaries
        self.phase_offset = int(phase_offset)

    def phases(self) -> int:
        return len(self.boundaries) or 1

    def phase_start(self, k: int) -> int:
        """B_{k-1} (k = 0 is the warmup, starting at 0; k = 1 starts at W)."""
        if k == 0:
            return 0
        return self.warmup_steps if k == 1 else self.boundaries[k - 2]

    def phase_end(self, k: int) -> int:
        if k == 0:
            return self.warmup_steps
        return self.total_steps if not self.boundaries else self.boundaries[k - 1]

    def phase_of(self, step: int) -> int:
        """0 during warmup, else 1..K."""
        self.check_step(step)
        if step < self.warmup_steps:
            return 0
        if not self.boundaries:
            return 1
        return bisect.bisect_right(self.boundaries, step) + 1

    def check_step(self, step: int):
        if step < 0 or step >= self.total_steps:
            raise _invalid("step", f"must be in [0, total_steps = {self.total_steps})", f"got {step}")


def _rising(budget: Budget, k: int) -> bool:
    return ((k - 1 + budget.phase_offset) & 1) == 1


def factor_in_phase(phi: float, budget: Budget, step: int, k: int) -> float:
    """f of a step in phase k >= 1, by the half-angle form of Uba.factorInPhase (accurate to ulps
    where 1 + cos(theta) would cancel)."""
    start = budget.phase_start(k)
    return factor_at(phi, budget.phase_end(k) - start, step - start + 1, _rising(budget, k))


def factor_at(phi: float, length: int, j: int, rising: bool) -> float:
    """f at position j of a phase of its own of `length` steps (Uba.factorAt; the j', L' of §1.5)."""
    half = (2 * j - 1) * math.pi / (4.0 * length)
    cos = math.cos(half)
    sin = math.sin(half)
    p = sin * sin if rising else cos * cos
    q = cos * cos if rising else sin * sin
    return 2 * p / (phi * q + 2 * p)


class PhiPolicy:
    """kind 'fixed' (phi), 'condition_number' (scale, exponent, phi_min, phi_max, latched or continuous)
    or 'chebyshev'."""

    def __init__(self, kind: str, phi: float = 0.0, scale: float = DEFAULT_SCALE, exponent: float = DEFAULT_EXPONENT,
                 phi_min: float = DEFAULT_PHI_MIN, phi_max: float = DEFAULT_PHI_MAX, latched: bool = False,
                 continuous: bool = False):
        if kind not in ("fixed", "condition_number", "chebyshev"):
            raise _invalid("phi_policy", "must be fixed, condition_number or chebyshev", f"got {kind}")
        if kind == "fixed":
            _finite_positive("phi_policy.fixed.phi", phi)
        if kind == "condition_number":
            _finite_positive("phi_policy.condition_number.scale", scale)
            if not math.isfinite(exponent):
                raise _invalid("phi_policy.condition_number.exponent", "must be finite", f"got {exponent}")
            _finite_positive("phi_policy.condition_number.phi_min", phi_min)
            _finite_positive("phi_policy.condition_number.phi_max", phi_max)
            if phi_min > phi_max:
                raise _invalid("phi_policy.condition_number.phi_min", "must be <= phi_max", f"{phi_min} > {phi_max}")
        self.kind = kind
        self.phi = phi
        self.scale = scale
        self.exponent = exponent
        self.phi_min = phi_min
        self.phi_max = phi_max
        self.latched = latched
        self.continuous = continuous

    @classmethod
    def from_proto(cls, p) -> "PhiPolicy":
        """From a proto PhiPolicy as JobSpecs.policy reads it; unset is condition_number with its defaults."""
        kind = p.WhichOneof("policy")
        if kind == "fixed":
            return cls("fixed", phi=p.fixed.phi)
        if kind == "chebyshev":
            return cls("chebyshev")
        if kind in ("condition_number", None):  # unset: following the curvature is the point
            c = p.condition_number
            return cls(
                "condition_number",
                scale=c.scale if c.HasField("scale") else DEFAULT_SCALE,
                exponent=c.exponent if c.HasField("exponent") else DEFAULT_EXPONENT,
                phi_min=c.phi_min if c.HasField("phi_min") else DEFAULT_PHI_MIN,
                phi_max=c.phi_max if c.HasField("phi_max") else DEFAULT_PHI_MAX,
                latched=c.mode == _PHI_MODE_LATCHED,
                continuous=c.mode == _PHI_MODE_CONTINUOUS)
        # a policy the proto gained and this port has not: refuse rather than guess
        raise _invalid("phi_policy", "must be fixed, condition_number or chebyshev", f"got {kind}")

    def phi_at(self, job, step: int, phase: int, estimates) -> float:
        """condition_number's phi of a step: from the estimate that sets it, else the job's fallback_phi."""
        reference = job.budget.phase_start(phase) if self.latched else step
        point = estimates.applying_to(reference)
        if point is None or not point.has_condition_number():
            return job.fallback_phi
        return self.phi_for(point.kappa_eff())

    def phi_for(self, kappa_eff: float) -> float:
        """clamp(scale·(2κ)^exponent, phi_min, phi_max); NaN clamps to phi_max as in Java."""
        try:
            phi = self.scale * math.pow(2 * kappa_eff, self.exponent)
        except OverflowError:
            phi = math.inf
        except ValueError:  # Java's Math.pow gives NaN where Python's raises
            phi = math.nan
        if math.isnan(phi):
            return self.phi_max
        return min(self.phi_max, max(self.phi_min, phi))


class CurvaturePoint(NamedTuple):
    """One curvature estimate (proto CurvaturePoint): applies to steps >= applies_from_step."""
    step: int
    applies_from_step: int
    phase: int
    lambda_min: float
    lambda_low: float
    lambda_max: float
    kappa: float
    lambda_max_bound: float
    probes: int
    # the probes ran on Adam's preconditioned operator, not on the Hessian (DESIGN.md §1.7)
    preconditioned: bool = False

    def has_condition_number(self) -> bool:
        return (self.lambda_low > 0 and self.lambda_max >= self.lambda_low
                and math.isfinite(self.lambda_max / self.lambda_low))

    def kappa_eff(self) -> float:
        return self.lambda_max / self.lambda_low

    @classmethod
    def from_proto(cls, p) -> "CurvaturePoint":
        """From a proto CurvaturePoint, or from a proto Curvature (its latest estimate)."""
        return cls(int(p.step), int(p.applies_from_step), int(p.phase), p.lambda_min, p.lambda_low,
                   p.lambda_max, p.kappa, p.lambda_max_bound, int(p.probes),
                   getattr(p, "operator", 0) == _OPERATOR_PRECONDITIONED)


class CurvatureTimeline:
    """A job's estimates ordered by probe step; applying_to(s) is the newest point (largest
    probe step, later input wins ties) whose applies_from_step <= s. The suffix minimum of
    applies_from_step is non-decreasing, so a binary search over it finds that point even when
    the apply delay differs between points (see the Java CurvatureTimeline)."""

    def __init__(self, points: Sequence[CurvaturePoint] = ()):
        self.points: List[CurvaturePoint] = sorted(points, key=lambda p: p.step)  # stable
        self._suffix_min = [0] * len(self.points)
        low = math.inf
        for i in range(len(self.points) - 1, -1, -1):
            low = min(low, self.points[i].applies_from_step)
            self._suffix_min[i] = low

    @classmethod
    def from_proto(cls, curvature) -> "CurvatureTimeline":
        return cls([CurvaturePoint.from_proto(p) for p in curvature.timeline])

    def with_point(self, point: CurvaturePoint) -> "CurvatureTimeline":
        return CurvatureTimeline(self.points + [point])

    def applying_to(self, step: int) -> Optional[CurvaturePoint]:
        i = bisect.bisect_right(self._suffix_min, step) - 1
        return self.points[i] if i >= 0 else None

    def next_change_after(self, step: int) -> float:
        """The first step after `step` from which another point applies, or math.inf."""
        i = bisect.bisect_right(self._suffix_min, step)
        return self._suffix_min[i] if i < len(self._suffix_min) else math.inf

    def latest(self) -> Optional[CurvaturePoint]:
        return self.points[-1] if self.points else None

    def __len__(self):
        return len(self.points)


CurvatureTimeline.EMPTY = CurvatureTimeline()


class ParamGroup(NamedTuple):
    name: str
    lr_max: float
    lr_min: float


class JobSchedule:
    """Everything the formula needs from a JobSpec, with the defaults of DESIGN.md §1.3-1.4."""

    def __init__(self, budget: Budget, lr_max: float, lr_min: float, policy: PhiPolicy,
                 fallback_phi: float, groups: Sequence[ParamGroup] = (),
                 apply_delay_steps: int = DEFAULT_APPLY_DELAY_STEPS, job_id: str = "",
                 margin: Optional[StabilityMargin] = None):
        for field, v in (("lr_max", lr_max), ("lr_min", lr_min)):
            if not (v >= 0) or not math.isfinite(v):
                raise _invalid(field, "must be finite and >= 0", f"got {v}")
        if lr_min > lr_max:
            raise _invalid("lr_min", "must be <= lr_max", f"{lr_min} > {lr_max}")
        _finite_positive("phi_policy.fallback_phi", fallback_phi)
        if apply_delay_steps < 0:
            raise _invalid("apply_delay_steps", "must be >= 0", f"got {apply_delay_steps}")
        self.budget = budget
        self.lr_max = lr_max
        self.lr_min = lr_min
        self.policy = policy
        self.fallback_phi = fallback_phi
        self.groups = tuple(groups)
        self.apply_delay_steps = int(apply_delay_steps)
        self.job_id = job_id
        # what the edge ratio and the guard read (DESIGN.md §1.7); revisions keep it
        self.margin = margin if margin is not None else StabilityMargin.DEFAULT

    @classmethod
    def from_spec(cls, spec, revisions=None) -> "JobSchedule":
        """From a proto JobSpec, as io.stepsize.wire.JobSpecs.toPlan reads it, with its revisions: those
        the spec carries (a record of stepsize.jobs) or, when given, `revisions` (a Job's)."""
        if not spec.job_id.strip():
            raise ValueError("job_id: must not be empty")
        budget = Budget(spec.total_steps, spec.warmup_steps, list(spec.phase_boundaries), spec.phase_offset)
        groups = [ParamGroup(g.name or f"group{i}", g.lr_max, g.lr_min) for i, g in enumerate(spec.groups)]
        p = spec.phi_policy
        # unspecified optimizer means SGD (phi 5); AdamW and other 0.5: the paper's defaults
        default_phi = ADAPTIVE_PHI if spec.optimizer in (_OPTIMIZER_ADAMW, _OPTIMIZER_OTHER) else SGD_PHI
        fallback = p.fallback_phi if p.HasField("fallback_phi") else default_phi
        delay = spec.apply_delay_steps if spec.HasField("apply_delay_steps") else DEFAULT_APPLY_DELAY_STEPS
        policy = PhiPolicy.from_proto(p)
        margin = StabilityMargin.from_spec(spec)
        job = cls(budget, spec.lr_max, spec.lr_min, policy, fallback, groups, delay, spec.job_id, margin)
        stored = revisions if revisions is not None else getattr(spec, "revisions", ())
        for i, r in enumerate(stored):
            try:
                job = job.revise(Revision.from_proto(r))
            except ValueError as e:
                raise ValueError(f"revisions[{i}].{e}") from e
        return job

    @classmethod
    def from_job(cls, job) -> "JobSchedule":
        """From a proto Job (GetJob, CreateJob, ReviseJob): its spec and its revisions."""
        return cls.from_spec(job.spec, list(job.revisions))

    # ---- revisions (DESIGN.md §1.5) ----------------------------------------------------------

    @property
    def revisions(self) -> tuple:
        return self._plan().revisions if hasattr(self, "_jobplan") else ()

    def in_force(self) -> "JobSchedule":
        """The schedule in force: the spec with every revision applied (its budget's total_steps is the one
        steps are checked against)."""
        return self._jobplan.eras[-1][0] if hasattr(self, "_jobplan") else self

    def revise(self, revision: "Revision") -> "JobSchedule":
        """This job with one more revision, checked as JobPlan.revise checks it."""
        plan = self._plan().revise(revision)
        job = JobSchedule(self.budget, self.lr_max, self.lr_min, self.policy, self.fallback_phi, self.groups,
                          self.apply_delay_steps, self.job_id, self.margin)
        job._jobplan = plan
        return job

    def _plan(self) -> "JobPlan":
        plan = getattr(self, "_jobplan", None)
        if plan is None:
            plan = JobPlan(self, (), [(self, 0, None)])
            self._jobplan = plan
        return plan


class Revision(NamedTuple):
    """A change of a running job from from_step on (schedule part of the proto Revision); None or empty keeps
    the value in force."""
    from_step: int
    total_steps: Optional[int] = None
    phase_boundaries: tuple = ()
    lr_max: Optional[float] = None
    lr_min: Optional[float] = None
    groups: tuple = ()
    policy: Optional[PhiPolicy] = None
    fallback_phi: Optional[float] = None
    set_lr: Optional[float] = None
    hold: bool = False

    @classmethod
    def from_proto(cls, r) -> "Revision":
        p = r.phi_policy
        rev = cls(
            from_step=int(r.from_step),
            total_steps=int(r.total_steps) if r.HasField("total_steps") else None,
            phase_boundaries=tuple(int(b) for b in r.phase_boundaries),
            lr_max=r.lr_max if r.HasField("lr_max") else None,
            lr_min=r.lr_min if r.HasField("lr_min") else None,
            groups=tuple(ParamGroup(g.name, g.lr_max, g.lr_min) for g in r.groups),
            policy=PhiPolicy.from_proto(p) if p.WhichOneof("policy") is not None else None,
            fallback_phi=p.fallback_phi if p.HasField("fallback_phi") else None,
            set_lr=r.set_lr if r.HasField("set_lr") else None,
            hold=bool(r.hold))
        rev.check()
        return rev

    def check(self):
        if self.from_step < 0:
            raise _invalid("from_step", "must be >= 0", f"got {self.from_step}")
        for field in ("lr_max", "lr_min", "set_lr"):
            v = getattr(self, field)
            if v is not None:
                _finite_non_negative(field, v)
        if self.fallback_phi is not None:
            _finite_positive("fallback_phi", self.fallback_phi)


class JobPlan:
    """JobPlan of the Java library: eras (schedule, from_step, revision), era 0 the spec; the re-plans of
    one timeline worked out in step order and kept until another timeline is asked about."""

    def __init__(self, spec: JobSchedule, revisions, eras):
        self.spec = spec
        self.revisions = tuple(revisions)
        self.eras = list(eras)
        self.needs_replans = len(self.eras) > 1 or any(_continuous(e[0]) for e in self.eras)
        self._memo = None

    def revise(self, r: Revision) -> "JobPlan":
        r.check()
        before, last_from, _ = self.eras[-1]
        b = before.budget
        a = r.from_step
        total = b.total_steps
        if len(self.eras) > 1 and a < last_from:
            raise _invalid("from_step", f"must be >= the previous revision's from_step = {last_from}", f"got {a}")
        if a > total:
            raise _invalid("from_step", f"must be <= total_steps = {total} (a finished job is extended from "
                           "total_steps)", f"got {a}")
        new_total = r.total_steps if r.total_steps is not None else total
        if new_total <= a:
            raise _invalid("total_steps", f"must be > from_step = {a}",
                           f"got {new_total}" + (", the total_steps in force" if r.total_steps is None else ""))
        w = b.warmup_steps
        if new_total <= w:
            raise _invalid("total_steps", f"must be > warmup_steps = {w}", f"got {new_total}")
        previous = b.boundaries or (total,)
        kept = tuple(x for x in previous if x <= a and x < total)
        if r.phase_boundaries:
            if r.phase_boundaries[0] <= a:
                raise _invalid("phase_boundaries", f"must list only the boundaries after from_step = {a}",
                               f"got {r.phase_boundaries[0]}")
            boundaries = kept + tuple(r.phase_boundaries)
        elif new_total != total:
            for x in previous:
                if a < x < total:
                    raise _invalid("phase_boundaries", "must be given when total_steps changes and the job has a"
                                   f" boundary in (from_step, total_steps) = ({a}, {total})", f"the job has {x}")
            boundaries = kept + (new_total,)
        else:
            boundaries = previous
        budget = Budget(new_total, w, boundaries, b.phase_offset)
        groups = before.groups
        if r.groups:
            names = [g.name for g in before.groups]
            got = [g.name for g in r.groups]
            if names != got:
                raise _invalid("groups", "must name the job's groups in order, [" + ", ".join(names) + "]",
                               "got [" + ", ".join(got) + "]")
            groups = tuple(r.groups)
        if r.set_lr is not None and not r.hold and a < w:
            raise _invalid("set_lr", f"needs from_step >= warmup_steps = {w} or hold (the warmup is kept)",
                           f"from_step = {a}")
        revised = JobSchedule(budget, r.lr_max if r.lr_max is not None else before.lr_max,
                              r.lr_min if r.lr_min is not None else before.lr_min,
                              r.policy if r.policy is not None else before.policy,
                              r.fallback_phi if r.fallback_phi is not None else before.fallback_phi,
                              groups, before.apply_delay_steps, before.job_id, before.margin)
        return JobPlan(self.spec, self.revisions + (r,), self.eras + [(revised, a, r)])

    def budget(self) -> Budget:
        return self.eras[-1][0].budget

    def revision_at(self, step: int) -> int:
        return bisect.bisect_right([e[1] for e in self.eras], step) - 1

    def evaluate(self, step: int, timeline: Optional[CurvatureTimeline]) -> "LrValue":
        """The scheduled value with its edge ratio, then the guard (applied last, to the answer only: re-plans and
        holds read the scheduled curve)."""
        estimates = timeline if timeline is not None else CurvatureTimeline.EMPTY
        return _guarded(self.spec.margin, self._scheduled(step, estimates), estimates)

    def _scheduled(self, step: int, estimates: CurvatureTimeline) -> "LrValue":
        self.budget().check_step(step)
        era = self.revision_at(step)
        if not self.needs_replans:
            s = self.eras[era][0]
            return _evaluate(s, step, s.budget.phase_of(step), estimates, None, era)
        memo = self._memo
        if memo is None or memo[0] is not estimates:
            memo = (estimates, self._replans(estimates))
            self._memo = memo
        return self._value_in(era, step, estimates, memo[1])

    def _value_in(self, era, step, estimates, replans):
        s = self.eras[era][0]
        phase = s.budget.phase_of(step)
        return _evaluate(s, step, phase, estimates, _replan_at(replans[era], phase, step), era)

    def _replans(self, estimates):
        all_replans = []
        for i, (s, start, r) in enumerate(self.eras):
            here = []
            all_replans.append(here)
            b = s.budget
            end = self.eras[i + 1][1] if i + 1 < len(self.eras) else b.total_steps
            if i > 0:
                at = min(start, self.eras[i - 1][0].budget.total_steps - 1)
                before = self._value_in(i - 1, at, estimates, all_replans)
                v = r.set_lr if r.set_lr is not None else before.lr
                group_values = _scaled(before, s, r.set_lr) if r.set_lr is not None else tuple(before.group_lrs)
                phase = b.phase_of(start)
                if r.hold:
                    here.append(_Replan(start, end, phase, False, v, group_values, True))
                    continue
                if phase > 0:
                    here.append(_Replan(start, b.phase_end(phase), phase, _rising(b, phase), v, group_values, False))
            if not _continuous(s):
                continue
            e = estimates.next_change_after(start)
            while e < end:
                phase = b.phase_of(e)
                if phase != 0 and e != b.phase_start(phase):
                    old = s.policy.phi_at(s, e - 1, phase, estimates)
                    if old != s.policy.phi_at(s, e, phase, estimates):
                        was = _value(s, e, phase, old, s.lr_max, s.lr_min, False, _replan_at(here, phase, e))
                        here.append(_Replan(e, b.phase_end(phase), phase, _rising(b, phase), was[0], was[1], False))
                e = estimates.next_change_after(e)
        return all_replans


class _Replan(NamedTuple):
    """Replan of the Java library: the rest of a phase from step (value v) to end, or a held value."""
    step: int
    end: int
    phase: int
    rising: bool
    v: float
    group_values: tuple
    hold: bool


def _continuous(job: JobSchedule) -> bool:
    return job.policy.kind == "condition_number" and job.policy.continuous


def _replan_at(replans, phase, step):
    i = bisect.bisect_right([r.step for r in replans], step) - 1
    if i < 0:
        return None
    r = replans[i]
    return r if r.hold or r.phase == phase else None


def _scaled(before, s, set_lr):
    out = []
    for i, g in enumerate(before.group_lrs):
        if before.lr > 0:
            out.append(g * (set_lr / before.lr))
        else:
            out.append(set_lr * (s.groups[i].lr_max / s.lr_max) if s.lr_max > 0 else set_lr)
    return tuple(out)


def _replanned(r: _Replan, phi, step, top, bottom, v):
    """§1.5: b + (v − b)·f(j')/f(1) falling, t + (v − t)·(1 − f(j'))/(1 − f(1)) rising; v in a hold."""
    if r.hold:
        return v
    length = r.end - r.step
    j = step - r.step + 1
    first = factor_at(phi, length, 1, r.rising)
    here = factor_at(phi, length, j, r.rising)
    return top + (v - top) * ((1 - here) / (1 - first)) if r.rising else bottom + (v - bottom) * (here / first)


class LrValue(NamedTuple):
    """One step's answer, the fields of the proto LearningRate."""
    step: int
    lr: float
    group_lrs: tuple
    factor: float
    phi: float
    phase: int
    kappa: float
    lambda_low: float
    lambda_max: float
    curvature_step: int
    source: Source
    note: str
    revision: int = 0
    # eta(s) * lambda_max / threshold with the scheduled lr (group 0's) and the estimate in force; NaN when none
    # counts. Under the guard it stays the schedule's.
    edge_ratio: float = math.nan
    # the guard lowered lr and group_lrs to eta = r* * threshold / lambda_max
    guarded: bool = False

    @classmethod
    def from_proto(cls, r) -> "LrValue":
        return cls(int(r.step), r.lr, tuple(r.group_lrs), r.factor, r.phi, int(r.phase), r.kappa,
                   r.lambda_low, r.lambda_max, int(r.curvature_step), Source(r.source), r.note,
                   int(getattr(r, "revision", 0)), getattr(r, "edge_ratio", math.nan), bool(getattr(r, "guarded", False)))


def evaluate(job: JobSchedule, step: int, timeline: Optional[CurvatureTimeline] = None) -> LrValue:
    """The learning rate of step in [0, total_steps in force) given the estimates so far (JobPlan.evaluate;
    LrEvaluator.evaluate for a job with no revision and no continuous phase)."""
    if hasattr(job, "_jobplan") or _continuous(job):
        return job._plan().evaluate(step, timeline)
    estimates = timeline if timeline is not None else CurvatureTimeline.EMPTY
    return _guarded(job.margin, _evaluate(job, step, job.budget.phase_of(step), estimates, None, 0), estimates)


def _guarded(margin: StabilityMargin, v: "LrValue", estimates: CurvatureTimeline) -> "LrValue":
    if margin.max_edge_ratio is None:
        return v
    return margin.guard(v, estimates.applying_to(v.step))


def _evaluate(job: JobSchedule, step: int, phase: int, estimates: CurvatureTimeline, replan, revision) -> LrValue:
    """The policies' evaluate and LrEvaluator.value: phi and range at the step, then the value."""
    budget = job.budget
    policy = job.policy

    phi = job.fallback_phi
    source = Source.FALLBACK
    note = ""
    top, bottom = job.lr_max, job.lr_min
    chebyshev_range = False
    kappa = lambda_low = lambda_max = 0.0
    curvature_step = -1

    if policy.kind == "fixed":
        phi = policy.phi
        source = Source.FIXED
    elif policy.kind in ("condition_number", "chebyshev"):
        latched = policy.kind == "condition_number" and policy.latched
        reference = budget.phase_start(phase) if latched else step
        point = estimates.applying_to(reference)
        if point is None:
            note = NOTE_NO_ESTIMATE
        elif not point.has_condition_number():
            note = NOTE_NO_CONDITION_NUMBER
            lambda_low, lambda_max = point.lambda_low, point.lambda_max
        elif policy.kind == "condition_number":
            kappa = point.kappa_eff()
            phi = policy.phi_for(kappa)
            source = Source.CURVATURE
        elif not math.isfinite(1 / point.lambda_low):
            note = NOTE_RANGE_OVERFLOW
            lambda_low, lambda_max = point.lambda_low, point.lambda_max
        else:  # chebyshev (the only other kind of this branch), Proposition 1
            kappa = point.kappa_eff()
            phi = 2 * kappa
            top = 1 / point.lambda_low
            bottom = 1 / point.lambda_max
            chebyshev_range = True
            source = Source.CURVATURE
        if source == Source.CURVATURE:
            lambda_low, lambda_max = point.lambda_low, point.lambda_max
            curvature_step = point.step
    else:  # PhiPolicy refuses other kinds; this keeps a new kind from taking a branch written for another
        raise _invalid("phi_policy", "must be fixed, condition_number or chebyshev", f"got {policy.kind}")

    if replan is None and phase == 0:
        source = Source.WARMUP
    lr, group_lrs, factor = _value(job, step, phase, phi, top, bottom, chebyshev_range, replan)
    # the estimate in force at the step, whichever set phi (DESIGN.md §1.7); never guarded here: re-plans read this
    edge_ratio = job.margin.edge_ratio(_eta(lr, group_lrs), estimates.applying_to(step))
    return LrValue(step, lr, group_lrs, factor, phi, phase, kappa, lambda_low, lambda_max,
                   curvature_step, source, note, revision, edge_ratio, False)


def _warmup(job, step):
    """(lr, group_lrs, factor) of the linear warmup, reaching lr_max at the last warmup step s = W - 1: UBA's and
    every baseline's (LrEvaluator.warmup)."""
    factor = (step + 1) / job.budget.warmup_steps
    return job.lr_max * factor, tuple(g.lr_max * factor for g in job.groups), factor


def _value(job, step, phase, phi, top, bottom, chebyshev_range, replan):
    """(lr, group_lrs, factor): warmup, eq. 5 over [bottom, top], or the re-planned rest of a phase."""
    groups = job.groups
    if replan is not None:
        lr = _replanned(replan, phi, step, top, bottom, replan.v)
        if chebyshev_range:
            group_lrs = tuple(lr if job.lr_max == 0 else lr * (g.lr_max / job.lr_max) for g in groups)
        else:
            group_lrs = tuple(_replanned(replan, phi, step, g.lr_max, g.lr_min, replan.group_values[i])
                              for i, g in enumerate(groups))
        factor = (lr - bottom) / (top - bottom) if top > bottom else 0
    elif phase == 0:
        lr, group_lrs, factor = _warmup(job, step)
    else:
        factor = factor_in_phase(phi, job.budget, step, phase)
        lr = bottom + (top - bottom) * factor
        if chebyshev_range:
            group_lrs = tuple(lr if job.lr_max == 0 else lr * (g.lr_max / job.lr_max) for g in groups)
        else:
            group_lrs = tuple(g.lr_min + (g.lr_max - g.lr_min) * factor for g in groups)
    return lr, group_lrs, factor


# ---- Baselines (io.stepsize.schedule.Baseline and LrEvaluator.evaluate(job, baseline, step)) ----------------------
# The schedules UBA is compared with, as normalized factors g(t) in [0, 1] of the post-warmup step t over the
# post-warmup budget T' (the Java enum's javadoc cites each author's definition). The proto has no baseline policy,
# so a trainer that compares with them evaluates them here, with the same budget, warmup and peak as its UBA jobs.

BASELINES = ("constant", "step", "cosine", "linear", "rex", "onecycle", "cyclic", "wsd", "exponential")
EXPONENTIAL_FINAL = 0.01


def baseline_factor(name: str, step: int, total_steps: int) -> float:
    """g(t) of Baseline.factor for post-warmup step t in [0, T'), T' >= 1."""
    if name not in BASELINES:
        raise _invalid("baseline", "must be one of " + ", ".join(BASELINES), f"got {name}")
    if total_steps < 1:
        raise _invalid("total_steps", "must be >= 1", f"got {total_steps}")
    if step < 0 or step >= total_steps:
        raise _invalid("step", f"must be in [0, total_steps = {total_steps})", f"got {step}")
    t, n = float(step), float(total_steps)
    z = t / n
    if name == "constant":
        return 1.0
    if name == "step":
        return 1.0 if 2 * step < total_steps else 0.1 if 4 * step < 3 * total_steps else 0.01
    if name == "cosine":
        return 0.5 * (1 + math.cos(math.pi * z))
    if name == "linear":
        return 1 - z
    if name == "rex":
        return (1 - z) / (0.5 + 0.5 * (1 - z))
    if name == "onecycle":
        return _one_cycle(t, n)
    if name == "cyclic":
        stepsize = n / 4
        cycle = math.floor(1 + t / (2 * stepsize))
        x = abs(t / stepsize - 2 * cycle + 1)
        return max(0.0, 1 - x)
    if name == "wsd":
        decay = (total_steps + 4) // 5
        start = total_steps - decay
        return 1.0 if step < start else 1 - math.sqrt((step - start) / decay)
    # exponential: gamma^t = 0.01^(t/(T'-1)); a one-step budget has nothing to decay
    return 1.0 if total_steps == 1 else math.pow(EXPONENTIAL_FINAL, t / (n - 1))


def _one_cycle(t: float, n: float) -> float:
    """PyTorch OneCycleLR.get_lr() (defaults, cosine annealing) for step t of n, divided by max_lr."""
    initial = 1.0 / 25
    last = initial / 1e4
    ends = (0.3 * n - 1, n - 1)
    froms, tos = (initial, 1.0), (1.0, last)
    start = 0.0
    for i in range(2):
        if t <= ends[i] or i == 1:
            span = ends[i] - start
            pct = 1.0 if span == 0 else (t - start) / span
            return tos[i] + (froms[i] - tos[i]) / 2 * (math.cos(math.pi * pct) + 1)
        start = ends[i]
    raise AssertionError("unreachable")


def evaluate_baseline(job: JobSchedule, name: str, step: int) -> LrValue:
    """LrEvaluator.evaluate(job, baseline, step): the job's warmup, then lr_min + (lr_max - lr_min)·g(s - W) over
    T - W steps (every group likewise). Source FIXED, phi 0, no curvature; the job's phi policy is not read."""
    budget = job.budget
    phase = budget.phase_of(step)
    w = budget.warmup_steps
    if phase == 0:
        lr, group_lrs, factor = _warmup(job, step)
        source = Source.WARMUP
    else:
        factor = baseline_factor(name, step - w, budget.total_steps - w)
        lr = job.lr_min + (job.lr_max - job.lr_min) * factor
        group_lrs = tuple(g.lr_min + (g.lr_max - g.lr_min) * factor for g in job.groups)
        source = Source.FIXED
    return LrValue(step, lr, group_lrs, factor, 0.0, phase, 0.0, 0.0, 0.0, -1, source, "", 0, math.nan, False)
