"""lanczos_probe from a random start on torch quadratics whose Hessian spectrum is known by construction
(the gradient start and the preconditioned operator: test_lanczos_start.py)."""
import math

import pytest
import torch

from stepsize import lanczos_probe


def least_squares(eigenvalues, seed=0):
    """A linear model w -> X w with loss mean((X w - y)^2): its Hessian is (2/N) X^T X, and
    X = U diag(s) V^T with s_i = sqrt(N λ_i / 2) makes its eigenvalues exactly λ."""
    g = torch.Generator().manual_seed(seed)
    d = len(eigenvalues)
    n = 2 * d
    u, _ = torch.linalg.qr(torch.randn(n, d, generator=g, dtype=torch.float64))
    v, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    s = torch.sqrt(torch.tensor(eigenvalues, dtype=torch.float64) * n / 2)
    x = u @ torch.diag(s) @ v.T
    y = torch.randn(n, 1, generator=g, dtype=torch.float64)
    model = torch.nn.Linear(d, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, d, generator=g, dtype=torch.float64))
    return model, torch.nn.MSELoss(), (x, y)


# isolated extremes around a bulk: 1, [5, 10], 40
SPECTRUM = [1.0] + [5.0 + 5.0 * i / 57 for i in range(58)] + [40.0]


def test_recovers_the_extreme_eigenvalues():
    model, loss_fn, batch = least_squares(SPECTRUM)
    probe = lanczos_probe(model, loss_fn, batch, m=20, seed=7, start="random")
    assert probe.steps == 20 and len(probe.alpha) == 20 and len(probe.beta) == 20
    assert not probe.broke_down
    assert all(b >= 0 for b in probe.beta)
    ritz = probe.ritz_values()
    # DESIGN.md §6: lambda_max relative error <= 1e-6 for an isolated top eigenvalue at m = 20
    assert abs(ritz[-1] - 40.0) / 40.0 <= 1e-6, ritz[-1]
    assert abs(ritz[0] - 1.0) <= 1e-6, ritz[0]
    # Ritz values interlace: every one lies inside the spectrum (up to rounding)
    assert ritz[0] >= 1.0 - 1e-9 and ritz[-1] <= 40.0 + 1e-9


def test_full_reorthogonalization_keeps_the_spectrum_without_ghosts():
    """With m = n the Krylov space is the whole space: T_n has exactly the Hessian's eigenvalues,
    once each. Without reorthogonalization, converged values reappear as copies ("ghosts")."""
    spectrum = [0.5 * (1.7 ** i) for i in range(24)]  # widely spread: 0.5 .. ~1e5
    model, loss_fn, batch = least_squares(spectrum, seed=3)
    probe = lanczos_probe(model, loss_fn, batch, m=24, seed=11, start="random")
    ritz = probe.ritz_values()
    assert len(ritz) == 24
    for got, want in zip(ritz, sorted(spectrum)):
        assert got == pytest.approx(want, rel=1e-8), (got, want)
    assert probe.beta[-1] <= 1e-6 * max(spectrum)  # nothing left outside the space


def test_breakdown_on_an_invariant_subspace():
    # 3 distinct eigenvalues: the Krylov space of any start vector has dimension <= 3
    spectrum = [2.0] * 10 + [3.0] * 10 + [9.0] * 10
    model, loss_fn, batch = least_squares(spectrum, seed=5)
    probe = lanczos_probe(model, loss_fn, batch, m=20, seed=1, start="random")
    assert probe.broke_down and probe.steps == 3 and probe.beta[-1] == 0.0
    assert probe.ritz_values() == pytest.approx([2.0, 3.0, 9.0], rel=1e-9)


def test_seed_decides_the_start_vector():
    model, loss_fn, batch = least_squares(SPECTRUM)
    a = lanczos_probe(model, loss_fn, batch, m=8, seed=42, start="random")
    b = lanczos_probe(model, loss_fn, batch, m=8, seed=42, start="random")
    c = lanczos_probe(model, loss_fn, batch, m=8, seed=43, start="random")
    assert a.alpha == b.alpha and a.beta == b.beta
    assert a.alpha != c.alpha
    assert a.start == "random" and a.operator == "hessian"


def test_float32_network_probe_is_close_to_the_dense_hessian():
    """A float32 network (nonlinear, indefinite Hessian): the HVPs by double backward agree with
    the dense Hessian from torch.autograd.functional, so the extreme Ritz values match its
    extreme eigenvalues."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    x = torch.randn(32, 4)
    y = torch.randint(0, 3, (32,))
    loss_fn = torch.nn.CrossEntropyLoss()
    params = list(net.parameters())
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    flat = torch.cat([p.detach().reshape(-1) for p in params]).double()

    def loss_of(w):
        chunks = torch.split(w, sizes)
        ws = [c.reshape(s) for c, s in zip(chunks, shapes)]
        h = torch.tanh(x.double() @ ws[0].T + ws[1])
        return loss_fn(h @ ws[2].T + ws[3], y)

    dense = torch.autograd.functional.hessian(loss_of, flat)
    eig = torch.linalg.eigvalsh(dense).tolist()
    n = flat.numel()
    probe = lanczos_probe(net, loss_fn, (x, y), m=n, seed=2, start="random")
    ritz = probe.ritz_values()
    scale = max(abs(eig[0]), abs(eig[-1]))
    assert abs(ritz[-1] - eig[-1]) <= 1e-4 * scale
    assert abs(ritz[0] - eig[0]) <= 1e-4 * scale
    assert eig[0] < 0 < eig[-1]  # the probe really saw an indefinite Hessian
    assert all(p.grad is None for p in net.parameters())  # .grad untouched
    assert math.isfinite(probe.extra["loss"])
