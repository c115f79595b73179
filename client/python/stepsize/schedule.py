"""The local formula: a job's learning rate as a pure function of (job, step, curvature timeline).

A line-by-line port of the Java schedule library (io.stepsize.schedule: Budget, Uba,
CurvatureTimeline, PhiPolicy, LrEvaluator) and of its defaults as io.stepsize.wire.JobSpecs reads
them, so the client's fallback gives the service's answer (to a few ulps: only cos/sin may differ in
the last bit). DESIGN.md §1.1-1.3 is the contract. The Java side writes conformance/schedule-cases.json
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
_OPTIMIZER_ADAMW = 2
_OPTIMIZER_OTHER = 3
_PHI_MODE_LATCHED = 2

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


def _invalid(field, rule, detail):
    return ValueError(f"{field}: {rule} ({detail})")


def _finite_positive(field, v):
    if not (v > 0) or not math.isfinite(v):
        raise _invalid(field, "must be finite and > 0", f"got {v}")


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


def factor_in_phase(phi: float, budget: Budget, step: int, k: int) -> float:
    """f of a step in phase k >= 1, by the half-angle form of Uba.factorInPhase (accurate to ulps
    where 1 + cos(theta) would cancel)."""
    start = budget.phase_start(k)
    length = budget.phase_end(k) - start
    j = step - start + 1
    half = (2 * j - 1) * math.pi / (4.0 * length)
    cos = math.cos(half)
    sin = math.sin(half)
    rising = ((k - 1 + budget.phase_offset) & 1) == 1
    p = sin * sin if rising else cos * cos
    q = cos * cos if rising else sin * sin
    return 2 * p / (phi * q + 2 * p)


class PhiPolicy:
    """kind 'fixed' (phi), 'condition_number' (scale, exponent, phi_min, phi_max, latched) or 'chebyshev'."""

    def __init__(self, kind: str, phi: float = 0.0, scale: float = DEFAULT_SCALE, exponent: float = DEFAULT_EXPONENT,
                 phi_min: float = DEFAULT_PHI_MIN, phi_max: float = DEFAULT_PHI_MAX, latched: bool = False):
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

    def has_condition_number(self) -> bool:
        return (self.lambda_low > 0 and self.lambda_max >= self.lambda_low
                and math.isfinite(self.lambda_max / self.lambda_low))

    def kappa_eff(self) -> float:
        return self.lambda_max / self.lambda_low

    @classmethod
    def from_proto(cls, p) -> "CurvaturePoint":
        """From a proto CurvaturePoint, or from a proto Curvature (its latest estimate)."""
        return cls(int(p.step), int(p.applies_from_step), int(p.phase), p.lambda_min, p.lambda_low,
                   p.lambda_max, p.kappa, p.lambda_max_bound, int(p.probes))


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
                 apply_delay_steps: int = DEFAULT_APPLY_DELAY_STEPS, job_id: str = ""):
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

    @classmethod
    def from_spec(cls, spec) -> "JobSchedule":
        """From a proto JobSpec, as io.stepsize.wire.JobSpecs.toSchedule reads it."""
        if not spec.job_id.strip():
            raise ValueError("job_id: must not be empty")
        budget = Budget(spec.total_steps, spec.warmup_steps, list(spec.phase_boundaries), spec.phase_offset)
        groups = [ParamGroup(g.name or f"group{i}", g.lr_max, g.lr_min) for i, g in enumerate(spec.groups)]
        p = spec.phi_policy
        # unspecified optimizer means SGD (phi 5); AdamW and other 0.5: the paper's defaults
        default_phi = ADAPTIVE_PHI if spec.optimizer in (_OPTIMIZER_ADAMW, _OPTIMIZER_OTHER) else SGD_PHI
        fallback = p.fallback_phi if p.HasField("fallback_phi") else default_phi
        delay = spec.apply_delay_steps if spec.HasField("apply_delay_steps") else DEFAULT_APPLY_DELAY_STEPS
        kind = p.WhichOneof("policy")
        if kind == "fixed":
            policy = PhiPolicy("fixed", phi=p.fixed.phi)
        elif kind == "chebyshev":
            policy = PhiPolicy("chebyshev")
        elif kind in ("condition_number", None):  # unset: following the curvature is the point
            c = p.condition_number
            policy = PhiPolicy(
                "condition_number",
                scale=c.scale if c.HasField("scale") else DEFAULT_SCALE,
                exponent=c.exponent if c.HasField("exponent") else DEFAULT_EXPONENT,
                phi_min=c.phi_min if c.HasField("phi_min") else DEFAULT_PHI_MIN,
                phi_max=c.phi_max if c.HasField("phi_max") else DEFAULT_PHI_MAX,
                latched=c.mode == _PHI_MODE_LATCHED)
        else:  # a policy the proto gained and this port has not: refuse rather than guess
            raise _invalid("phi_policy", "must be fixed, condition_number or chebyshev", f"got {kind}")
        return cls(budget, spec.lr_max, spec.lr_min, policy, fallback, groups, delay, spec.job_id)


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

    @classmethod
    def from_proto(cls, r) -> "LrValue":
        return cls(int(r.step), r.lr, tuple(r.group_lrs), r.factor, r.phi, int(r.phase), r.kappa,
                   r.lambda_low, r.lambda_max, int(r.curvature_step), Source(r.source), r.note)


def evaluate(job: JobSchedule, step: int, timeline: Optional[CurvatureTimeline] = None) -> LrValue:
    """The learning rate of step in [0, total_steps) given the estimates so far (LrEvaluator.evaluate)."""
    budget = job.budget
    phase = budget.phase_of(step)
    estimates = timeline if timeline is not None else CurvatureTimeline.EMPTY
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

    groups = job.groups
    if phase == 0:
        # linear warmup reaching lr_max at the last warmup step s = W - 1
        factor = (step + 1) / budget.warmup_steps
        lr = job.lr_max * factor
        group_lrs = tuple(g.lr_max * factor for g in groups)
        source = Source.WARMUP
    else:
        factor = factor_in_phase(phi, budget, step, phase)
        lr = bottom + (top - bottom) * factor
        if chebyshev_range:
            group_lrs = tuple(lr if job.lr_max == 0 else lr * (g.lr_max / job.lr_max) for g in groups)
        else:
            group_lrs = tuple(g.lr_min + (g.lr_max - g.lr_min) * factor for g in groups)
    return LrValue(step, lr, group_lrs, factor, phi, phase, kappa, lambda_low, lambda_max,
                   curvature_step, source, note)
