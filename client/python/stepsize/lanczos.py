"""lanczos_probe: m steps of symmetric Lanczos on the loss Hessian of a model, on the trainer.

Hessian-vector products come from double backward (the gradient is built once with
create_graph=True, then each HVP is the gradient of <grad, v>). Only the tridiagonal T_m
(alpha, beta) leaves the trainer (DESIGN.md §1.4); the estimator turns it into Ritz values,
SLQ weights and residual bounds.

Every new vector is reorthogonalized against all previous ones, twice, by classical
Gram-Schmidt, as the Java LanczosDriver does: without it the basis loses orthogonality once a
Ritz value converges and T_m grows spurious copies ("ghosts") that corrupt the SLQ weights and
the residual bounds. The basis is kept in float64 whatever the model's dtype.
"""
import math
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import torch

MAX_STEPS = 1000
DEFAULT_BREAKDOWN_TOLERANCE = 1e-10


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


def lanczos_probe(model: torch.nn.Module, loss_fn: Callable, batch, m: int = 20, seed: int = 0, *,
                  params: Optional[Sequence[torch.Tensor]] = None,
                  breakdown_tolerance: float = DEFAULT_BREAKDOWN_TOLERANCE) -> LanczosResult:
    """Lanczos on the Hessian of ``loss_fn(model(inputs), targets)`` at the current weights, for
    the fixed ``batch = (inputs, targets)``; a batch that is not a pair means ``loss_fn(model(batch))``.

    ``params`` defaults to the model's parameters that require grad (the probe's dimension is
    their total size). The same seed gives the same start vector. Gradients are taken with
    torch.autograd.grad, so the parameters' ``.grad`` fields are not touched. Put the model in
    the mode you want probed (dropout makes the HVPs random: probe in eval mode then).
    """
    if params is None:
        params = [p for p in model.parameters() if p.requires_grad]
    params = list(params)
    if not params:
        raise ValueError("params: the model has no parameters that require grad")
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

        def hvp(v: torch.Tensor) -> torch.Tensor:
            if not flat_grad.requires_grad:  # the loss is linear in the parameters: H = 0
                return torch.zeros(n, dtype=torch.float64, device=v.device)
            hv = torch.autograd.grad(flat_grad, params, grad_outputs=v.to(dtype), retain_graph=True,
                                     allow_unused=True)
            return _flat(hv, params).to(torch.float64)

        result = lanczos(hvp, rademacher(n, seed, device=flat_grad.device), m, breakdown_tolerance)
    result.extra["loss"] = loss.item()
    return result
