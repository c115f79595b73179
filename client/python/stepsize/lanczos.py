"""lanczos_probe: m steps of symmetric Lanczos on the loss Hessian of a model, on the trainer.

Hessian-vector products come from double backward (the gradient is built once with
create_graph=True, then each HVP is the gradient of <grad, v>). Only the tridiagonal T_m
(alpha, beta) leaves the trainer (DESIGN.md §1.4); the estimator turns it into Ritz values,
SLQ weights and residual bounds.

Every new vector is reorthogonalized against all previous ones, twice, by classical
Gram-Schmidt, as the Java LanczosDriver does: without it the basis loses orthogonality once a
Ritz value converges and T_m grows spurious copies ("ghosts") that corrupt the SLQ weights and
the residual bounds. The basis is kept in float64 whatever the model's dtype.

A probe starts at the normalized minibatch gradient of its own batch (``start="gradient"``, the
default, DESIGN.md §1.7: the SLQ weights are then the gradient's energy in each Ritz direction and
alpha[0] is the curvature along the step) or at a seeded Rademacher vector (``start="random"``).
For Adam-type optimizers it may run on the preconditioned operator P^{-1/2} H P^{-1/2}
(``operator="preconditioned"``), the curvature Adam's step sees.
"""
import logging
import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import torch

MAX_STEPS = 1000
DEFAULT_BREAKDOWN_TOLERANCE = 1e-10

START_GRADIENT = "gradient"
START_RANDOM = "random"
OPERATOR_HESSIAN = "hessian"
OPERATOR_PRECONDITIONED = "preconditioned"
STARTS = (START_GRADIENT, START_RANDOM)
OPERATORS = (OPERATOR_HESSIAN, OPERATOR_PRECONDITIONED)

log = logging.getLogger(__name__)


@dataclass
class LanczosResult:
    """alpha[0..m-1] is the diagonal of T_m; beta[i] couples i and i+1, beta[m-1] is the residual
    norm beta_m. ``steps`` < m when the Krylov space became invariant (``broke_down``)."""
    alpha: List[float]
    beta: List[float]
    steps: int
    broke_down: bool
    dimension: int = 0
    extra: dict = field(default_factory=dict)
    start: str = START_RANDOM
    """The start vector the run really used: ``"gradient"`` or ``"random"`` (a zero gradient falls back)."""
    operator: str = OPERATOR_HESSIAN
    """``"hessian"`` or ``"preconditioned"`` (P^{-1/2} H P^{-1/2})."""

    def tridiagonal(self) -> torch.Tensor:
        m = self.steps
        t = torch.diag(torch.tensor(self.alpha, dtype=torch.float64))
        if m > 1:
            off = torch.tensor(self.beta[:m - 1], dtype=torch.float64)
            t += torch.diag(off, 1) + torch.diag(off, -1)
        return t

    def ritz_values(self) -> List[float]:
        """Eigenvalues of T_m, ascending (the estimator computes these too; here for checks)."""
        return torch.linalg.eigvalsh(self.tridiagonal()).tolist()


def _flat(tensors, params):
    return torch.cat([(t if t is not None else torch.zeros_like(p)).reshape(-1)
                      for t, p in zip(tensors, params)])


def rademacher(n: int, seed: int, device=None) -> torch.Tensor:
    """The seeded unit start vector with entries ±1/sqrt(n) (E[q q^T] = I/n, as SLQ needs)."""
    g = torch.Generator().manual_seed(int(seed))
    signs = torch.randint(0, 2, (n,), generator=g, dtype=torch.int64).to(torch.float64) * 2 - 1
    return (signs / math.sqrt(n)).to(device)


def lanczos(hvp: Callable[[torch.Tensor], torch.Tensor], start: torch.Tensor, m: int,
            breakdown_tolerance: float = DEFAULT_BREAKDOWN_TOLERANCE) -> LanczosResult:
    """Lanczos on any symmetric operator given as a float64 matrix-vector product."""
    if not 1 <= m <= MAX_STEPS:
        raise ValueError(f"m: must satisfy 1 <= m <= {MAX_STEPS} (got {m})")
    n = start.numel()
    norm = torch.linalg.vector_norm(start).item()
    if not (norm > 0) or not math.isfinite(norm):
        raise ValueError(f"start vector must be finite and non-zero (norm = {norm})")
    m = min(m, n)  # beyond n steps the Krylov space is the whole space
    basis = torch.zeros((m, n), dtype=torch.float64, device=start.device)
    basis[0] = start.to(torch.float64) / norm
    alpha, beta = [], []
    scale = 0.0  # running lower bound on ||H||: max ||H q_j||
    broke_down = False
    for j in range(m):
        q = basis[j]
        w = hvp(q).to(torch.float64)
        norm_hq = torch.linalg.vector_norm(w).item()
        if not math.isfinite(norm_hq):
            raise ArithmeticError(f"HVP returned a non-finite vector at Lanczos step {j + 1}")
        scale = max(scale, norm_hq)
        a = torch.dot(q, w).item()
        w = w - a * q
        if j > 0:
            w = w - beta[j - 1] * basis[j - 1]
        for _ in range(2):  # classical Gram-Schmidt, twice is enough
            coefficients = basis[:j + 1] @ w
            w = w - basis[:j + 1].T @ coefficients
            # the q_j component corrects the Rayleigh quotient; the others are lost orthogonality
            a += coefficients[j].item()
        alpha.append(a)
        b = torch.linalg.vector_norm(w).item()
        if b <= breakdown_tolerance * scale:
            beta.append(0.0)  # invariant Krylov space: T holds exact eigenvalues
            broke_down = True
            break
        beta.append(b)
        if j + 1 < m:
            basis[j + 1] = w / b
    return LanczosResult(alpha, beta, len(alpha), broke_down, n)


def adam_preconditioner(optimizer: torch.optim.Optimizer, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """diag(P) = sqrt(v_hat) + eps, flattened in the order of ``params`` (float64), read from the
    state of a torch.optim.Adam/AdamW: v_hat = exp_avg_sq / (1 - beta2^t) with beta2 and eps of each
    parameter's group, t its step count. With ``amsgrad`` the denominator uses max_exp_avg_sq, as
    the optimizer's own step does. This is the P of Adam's update theta -= lr * m_hat / P."""
    group_of = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            group_of[id(p)] = group
    name = type(optimizer).__name__
    diagonal = []
    for index, p in enumerate(params):
        group = group_of.get(id(p))
        if group is None:
            raise ValueError(f"operator='preconditioned': parameter {index} (shape {tuple(p.shape)}) is not "
                             f"in the optimizer's param groups")
        if "betas" not in group or "eps" not in group:
            raise ValueError(f"operator='preconditioned' needs an Adam-like optimizer (torch.optim.Adam or AdamW: "
                             f"param groups with betas and eps), got {name}")
        state = optimizer.state.get(p, {})
        key = "max_exp_avg_sq" if group.get("amsgrad", False) else "exp_avg_sq"
        if key not in state or "step" not in state:
            raise ValueError(f"operator='preconditioned': {name} has no {key} for parameter {index} "
                             f"(shape {tuple(p.shape)}): take an optimizer step before probing")
        t = float(state["step"])  # an int or a tensor, by torch version
        if not t >= 1:
            raise ValueError(f"operator='preconditioned': {name} step count of parameter {index} is {t}, "
                             f"must be >= 1: take an optimizer step before probing")
        beta2 = float(group["betas"][1])
        v_hat = state[key].detach().to(torch.float64) / (1.0 - beta2 ** t)
        diagonal.append((v_hat.sqrt() + float(group["eps"])).reshape(-1))
    return torch.cat(diagonal)


def lanczos_probe(model: torch.nn.Module, loss_fn: Callable, batch, m: int = 20, seed: int = 0, *,
                  start: str = START_GRADIENT, operator: str = OPERATOR_HESSIAN,
                  optimizer: Optional[torch.optim.Optimizer] = None,
                  params: Optional[Sequence[torch.Tensor]] = None,
                  breakdown_tolerance: float = DEFAULT_BREAKDOWN_TOLERANCE) -> LanczosResult:
    """Lanczos on the Hessian of ``loss_fn(model(inputs), targets)`` at the current weights, for
    the fixed ``batch = (inputs, targets)``; a batch that is not a pair means ``loss_fn(model(batch))``.

    ``params`` defaults to the model's parameters that require grad (the probe's dimension is
    their total size). Gradients are taken with torch.autograd.grad, so the parameters' ``.grad``
    fields are not touched. Put the model in the mode you want probed (dropout makes the HVPs
    random: probe in eval mode then).

    ``start="gradient"`` (the default) starts at the normalized gradient ĝ of this same loss, on
    this batch, at these weights (the one backward pass the HVPs need anyway gives it): alpha[0] is
    then ĝᵀHĝ and the SLQ weights are the gradient's energy per Ritz direction (DESIGN.md §1.7).
    A gradient that is exactly zero (a stationary point) has no direction: the probe falls back to
    the random start of ``seed``, says ``start == "random"`` and logs a warning, so the estimator
    reads it as the density probe it is. A gradient that is not finite raises ArithmeticError: the
    weights or the loss have diverged, and no probe of them means anything.
    ``start="random"`` starts at the seeded Rademacher vector (the same seed, the same vector).

    ``operator="preconditioned"`` runs on A = P^{-1/2} H P^{-1/2}, P = diag(sqrt(v_hat) + eps) from
    ``optimizer``'s state (a torch.optim.Adam or AdamW that has taken a step; see
    :func:`adam_preconditioner`). In the coordinates y = P^{1/2} θ the Hessian is A and the gradient
    is P^{-1/2} g, and Adam's step is (up to momentum) plain gradient descent there; so a gradient
    start uses the normalized P^{-1/2} g, not g: alpha[0] is the curvature along the step Adam takes,
    and the weights are that step's energy in A's Ritz directions.
    """
    if start not in STARTS:
        raise ValueError(f"start: must be one of {', '.join(STARTS)} (got {start!r})")
    if operator not in OPERATORS:
        raise ValueError(f"operator: must be one of {', '.join(OPERATORS)} (got {operator!r})")
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
    params = list(params)
    if not params:
        raise ValueError("params: the model has no parameters that require grad")
    scaling = None  # P^{-1/2}, for the preconditioned operator
    if operator == OPERATOR_PRECONDITIONED:
        if optimizer is None:
            raise ValueError("operator='preconditioned' needs the optimizer (torch.optim.Adam or AdamW) whose "
                             "second moments define P")
        scaling = adam_preconditioner(optimizer, params).rsqrt()
    with torch.enable_grad():
        if isinstance(batch, (tuple, list)) and len(batch) == 2:
            inputs, targets = batch
            loss = loss_fn(model(inputs), targets)
        else:
            loss = loss_fn(model(batch))
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        flat_grad = _flat(grads, params)
        dtype = flat_grad.dtype
        n = flat_grad.numel()

        def hessian_vector(v: torch.Tensor) -> torch.Tensor:
            if not flat_grad.requires_grad:  # the loss is linear in the parameters: H = 0
                return torch.zeros(n, dtype=torch.float64, device=v.device)
            hv = torch.autograd.grad(flat_grad, params, grad_outputs=v.to(dtype), retain_graph=True,
                                     allow_unused=True)
            return _flat(hv, params).to(torch.float64)

        if scaling is None:
            hvp = hessian_vector
        else:
            scaling = scaling.to(flat_grad.device)

            def hvp(v: torch.Tensor) -> torch.Tensor:
                return scaling * hessian_vector(scaling * v)

        used = START_RANDOM
        fallback = None
        q0 = None
        if start == START_GRADIENT:
            g = flat_grad.detach().to(torch.float64)
            if scaling is not None:
                g = scaling * g
            norm = torch.linalg.vector_norm(g).item()
            if not math.isfinite(norm):
                raise ArithmeticError(f"start='gradient': the gradient of the probe batch is not finite "
                                      f"(norm = {norm}): the weights or the loss have diverged")
            if norm > 0:
                q0, used = g, START_GRADIENT
            else:
                log.warning("start='gradient': the gradient of the probe batch is zero; probing from the random "
                            "start of seed %d instead (the probe says start='random')", seed)
                fallback = "the gradient is zero"
        if q0 is None:
            q0 = rademacher(n, seed, device=flat_grad.device)
        result = lanczos(hvp, q0, m, breakdown_tolerance)
    result.start = used
    result.operator = operator
    result.extra["loss"] = loss.item()
    if fallback is not None:
        result.extra["start_fallback"] = fallback
    return result
