"""lanczos_probe from the gradient and on Adam's preconditioned operator (DESIGN.md §1.7), against
references computed here with numpy from the matrix itself: its dense eigendecomposition, the
gradient A z + b, and Adam's second moments accumulated from the gradients the optimizer saw.

With m = n the Krylov space of a start vector q is the whole space (when q touches every
eigenvector), so T_n is similar to the operator: its eigenvalues are the operator's, and the
first components s_{1,i} of its eigenvectors are the components of q along the operator's
eigenvectors, s_{1,i}² = (v_iᵀq)². That makes exact references for every number of a probe.
"""
import math

import numpy as np
import pytest
import torch

from stepsize import lanczos_probe
from stepsize.lanczos import adam_preconditioner
from stepsize.publisher import lanczos_report
from stepsize.v1 import stepsize_pb2 as pb

# distinct eigenvalues of both signs (Hessians of networks are indefinite), spread over ~2 decades
SPECTRUM = [-3.0, -1.5, -0.2, 0.1, 0.4, 1.0, 2.0, 3.5, 5.0, 8.0, 13.0, 30.0]
SHAPES = [(4,), (2, 4)]  # two tensors, 12 numbers: the flat order is w1, then w2 row by row


def symmetric(eigenvalues, seed):
    """A = Q diag(λ) Qᵀ for a seeded orthogonal Q (numpy)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((len(eigenvalues), len(eigenvalues))))
    a = q @ np.diag(eigenvalues) @ q.T
    return (a + a.T) / 2


class Quadratic(torch.nn.Module):
    """z ↦ z, z the flat parameters; with ``quadratic_loss`` the loss is ½ zᵀAz + bᵀz: Hessian A, gradient Az + b."""

    def __init__(self, z):
        super().__init__()
        z = torch.as_tensor(z, dtype=torch.float64)
        sizes = [math.prod(s) for s in SHAPES]
        self.w = torch.nn.ParameterList(
            [torch.nn.Parameter(c.reshape(s).clone()) for c, s in zip(torch.split(z, sizes), SHAPES)])

    def forward(self, _batch):
        return torch.cat([p.reshape(-1) for p in self.w])

    def z(self):
        return self.forward(None).detach().numpy().copy()


def quadratic_loss(a, b):
    at = torch.as_tensor(a)
    bt = torch.as_tensor(b)
    return lambda z: 0.5 * z @ at @ z + bt @ z


def tridiagonal(probe):
    t = np.diag(np.array(probe.alpha))
    off = np.array(probe.beta[:probe.steps - 1])
    return t + np.diag(off, 1) + np.diag(off, -1)


def ritz(probe):
    """Ritz values (ascending) and SLQ weights s_{1,i}² of T_m, by numpy."""
    theta, s = np.linalg.eigh(tridiagonal(probe))
    return theta, s[0, :] ** 2


def problem(seed=1):
    rng = np.random.default_rng(seed + 100)
    a = symmetric(SPECTRUM, seed)
    b = rng.standard_normal(len(SPECTRUM))
    z = rng.standard_normal(len(SPECTRUM))
    return a, b, Quadratic(z)


def test_gradient_start_gives_alpha0_the_ritz_values_and_the_gradients_energy_per_eigenvector():
    a, b, model = problem()
    n = len(SPECTRUM)
    g = a @ model.z() + b
    g_hat = g / np.linalg.norm(g)
    eigenvalues, vectors = np.linalg.eigh(a)
    scale = max(abs(eigenvalues[0]), abs(eigenvalues[-1]))

    first = lanczos_probe(model, quadratic_loss(a, b), None, m=1)
    assert first.start == "gradient" and first.operator == "hessian"
    assert abs(first.alpha[0] - g_hat @ a @ g_hat) <= 1e-12 * scale, (first.alpha[0], g_hat @ a @ g_hat)

    probe = lanczos_probe(model, quadratic_loss(a, b), None, m=n)
    assert probe.steps == n and probe.start == "gradient"
    assert probe.alpha[0] == first.alpha[0]
    theta, weights = ritz(probe)
    np.testing.assert_allclose(theta, eigenvalues, rtol=0, atol=1e-10 * scale)
    energy = (vectors.T @ g_hat) ** 2  # the gradient's share along each eigenvector
    np.testing.assert_allclose(weights, energy, rtol=0, atol=1e-10)
    # not the uniform 1/n a random start has in expectation: the check above can tell them apart
    assert max(abs(energy - 1.0 / n)) > 0.05
    # the seed plays no part in a gradient start
    assert lanczos_probe(model, quadratic_loss(a, b), None, m=5, seed=99).alpha == \
        lanczos_probe(model, quadratic_loss(a, b), None, m=5, seed=3).alpha


def test_gradient_start_on_a_float32_network_matches_its_dense_hessian_and_gradient():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    x = torch.randn(16, 3)
    y = torch.randint(0, 2, (16,))
    loss_fn = torch.nn.CrossEntropyLoss()
    params = list(net.parameters())
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    flat = torch.cat([p.detach().reshape(-1) for p in params]).double()

    def loss_of(w):
        ws = [c.reshape(s) for c, s in zip(torch.split(w, sizes), shapes)]
        return loss_fn(torch.tanh(x.double() @ ws[0].T + ws[1]) @ ws[2].T + ws[3], y)

    h = torch.autograd.functional.hessian(loss_of, flat).numpy()
    g = torch.autograd.functional.jacobian(loss_of, flat).numpy()
    g_hat = g / np.linalg.norm(g)
    eigenvalues = np.linalg.eigvalsh(h)
    probe = lanczos_probe(net, loss_fn, (x, y), m=flat.numel())
    scale = max(abs(eigenvalues[0]), abs(eigenvalues[-1]))
    # float32 HVPs and gradient: agreement to float accuracy, not 1e-12
    assert probe.start == "gradient"
    assert abs(probe.alpha[0] - g_hat @ h @ g_hat) <= 1e-5 * scale
    theta, _ = ritz(probe)
    assert abs(theta[-1] - eigenvalues[-1]) <= 1e-4 * scale and abs(theta[0] - eigenvalues[0]) <= 1e-4 * scale


def test_zero_gradient_falls_back_to_the_random_start_and_says_so(caplog):
    a = symmetric(SPECTRUM, 4)
    b = np.zeros(len(SPECTRUM))
    model = Quadratic(np.zeros(len(SPECTRUM)))  # z = 0, b = 0: the gradient is exactly zero
    probe = lanczos_probe(model, quadratic_loss(a, b), None, m=6, seed=17)
    random = lanczos_probe(model, quadratic_loss(a, b), None, m=6, seed=17, start="random")
    assert probe.start == "random" and probe.extra["start_fallback"] == "the gradient is zero"
    assert probe.alpha == random.alpha and probe.beta == random.beta
    assert "gradient of the probe batch is zero" in caplog.text
    assert lanczos_report("j", 3, "w", probe).lanczos.start == pb.START_RANDOM


def test_non_finite_gradient_raises():
    a, b, model = problem()
    with torch.no_grad():
        model.w[0][1] = math.inf  # the HVPs (A v) stay finite; the gradient does not
    with pytest.raises(ArithmeticError, match=r"^start='gradient': the gradient of the probe batch is not finite "
                                              r"\(norm = (inf|nan)\): the weights or the loss have diverged$"):
        lanczos_probe(model, quadratic_loss(a, b), None, m=4)
    lanczos_probe(model, quadratic_loss(a, b), None, m=4, start="random")  # a random start does not need it


def adamw_after_steps(a, b, model, steps):
    """A real AdamW (two groups, one with amsgrad) after ``steps`` full-batch steps on the quadratic,
    and diag(P) rebuilt independently from the gradients it was given (numpy)."""
    groups = [dict(params=[model.w[0]], betas=(0.9, 0.99), eps=1e-3),
              dict(params=[model.w[1]], betas=(0.8, 0.95), eps=1e-2, amsgrad=True)]
    optimizer = torch.optim.AdamW(groups, lr=0.05, weight_decay=0.01)
    loss_fn = quadratic_loss(a, b)
    sizes = [math.prod(s) for s in SHAPES]
    v = np.zeros(len(SPECTRUM))
    v_max = np.zeros(len(SPECTRUM))
    beta2 = np.concatenate([np.full(sizes[0], 0.99), np.full(sizes[1], 0.95)])
    for _ in range(steps):
        g = a @ model.z() + b
        v = beta2 * v + (1 - beta2) * g * g
        v_max = np.maximum(v_max, v)
        optimizer.zero_grad()
        loss_fn(model(None)).backward()
        optimizer.step()
    v_hat = np.concatenate([v[:sizes[0]], v_max[sizes[0]:]]) / (1 - beta2 ** steps)
    eps = np.concatenate([np.full(sizes[0], 1e-3), np.full(sizes[1], 1e-2)])
    return optimizer, np.sqrt(v_hat) + eps


def test_preconditioned_operator_of_a_real_adamw_state_has_the_dense_eigenvalues():
    a, b, model = problem(seed=2)
    n = len(SPECTRUM)
    optimizer, p = adamw_after_steps(a, b, model, steps=5)
    params = list(model.parameters())
    np.testing.assert_allclose(adam_preconditioner(optimizer, params).numpy(), p, rtol=1e-12, atol=0)
    d = 1 / np.sqrt(p)
    m_dense = d[:, None] * a * d[None, :]  # P^{-1/2} A P^{-1/2}
    eigenvalues, vectors = np.linalg.eigh(m_dense)
    scale = max(abs(eigenvalues[0]), abs(eigenvalues[-1]))
    # P is far from a multiple of I, so a probe that ignored it would fail below
    assert np.max(np.abs(eigenvalues / scale - np.linalg.eigvalsh(a) / 30.0)) > 0.05

    for start in ("random", "gradient"):
        probe = lanczos_probe(model, quadratic_loss(a, b), None, m=n, seed=5, start=start,
                              operator="preconditioned", optimizer=optimizer)
        assert probe.steps == n and probe.start == start and probe.operator == "preconditioned"
        theta, weights = ritz(probe)
        np.testing.assert_allclose(theta, eigenvalues, rtol=0, atol=1e-10 * scale)
    # the gradient start is the normalized P^{-1/2} g
    g = d * (a @ model.z() + b)
    g_hat = g / np.linalg.norm(g)
    assert abs(probe.alpha[0] - g_hat @ m_dense @ g_hat) <= 1e-12 * scale
    np.testing.assert_allclose(weights, (vectors.T @ g_hat) ** 2, rtol=0, atol=1e-10)
    report = lanczos_report("job", 7, "w0", probe)
    assert report.lanczos.start == pb.START_GRADIENT and report.lanczos.operator == pb.OPERATOR_PRECONDITIONED


def test_preconditioned_operator_needs_an_adam_state():
    a, b, model = problem()
    loss_fn = quadratic_loss(a, b)
    with pytest.raises(ValueError, match=r"^operator='preconditioned' needs the optimizer"):
        lanczos_probe(model, loss_fn, None, operator="preconditioned")
    adamw = torch.optim.AdamW(model.parameters())
    with pytest.raises(ValueError, match=r"^operator='preconditioned': AdamW has no exp_avg_sq for parameter 0 "
                                         r"\(shape \(4,\)\): take an optimizer step before probing$"):
        lanczos_probe(model, loss_fn, None, operator="preconditioned", optimizer=adamw)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn(model(None)).backward()
    sgd.step()
    with pytest.raises(ValueError, match=r"^operator='preconditioned' needs an Adam-like optimizer \(torch.optim.Adam "
                                         r"or AdamW: param groups with betas and eps\), got SGD$"):
        lanczos_probe(model, loss_fn, None, operator="preconditioned", optimizer=sgd)
    only_first = torch.optim.AdamW([model.w[0]])
    only_first.step()  # the gradients of the SGD step above: w[0] has a state, w[1] is not the optimizer's
    with pytest.raises(ValueError, match=r"^operator='preconditioned': parameter 1 \(shape \(2, 4\)\) is not in the "
                                         r"optimizer's param groups$"):
        lanczos_probe(model, loss_fn, None, operator="preconditioned", optimizer=only_first)
    with pytest.raises(ValueError, match=r"^start: must be one of gradient, random \(got 'rademacher'\)$"):
        lanczos_probe(model, loss_fn, None, start="rademacher")
    with pytest.raises(ValueError, match=r"^operator: must be one of hessian, preconditioned \(got 'fisher'\)$"):
        lanczos_probe(model, loss_fn, None, operator="fisher")


def test_report_carries_start_and_operator():
    a, b, model = problem()
    probe = lanczos_probe(model, quadratic_loss(a, b), None, m=3)
    report = pb.ProbeReport.FromString(lanczos_report("job-1", 40, "w3", probe).SerializeToString())
    assert (report.job_id, report.step, report.worker_id) == ("job-1", 40, "w3")
    assert list(report.lanczos.alpha) == probe.alpha and list(report.lanczos.beta) == probe.beta
    assert report.lanczos.start == pb.START_GRADIENT and report.lanczos.operator == pb.OPERATOR_HESSIAN
    random = lanczos_probe(model, quadratic_loss(a, b), None, m=3, start="random")
    assert lanczos_report("job-1", 40, "w3", random).lanczos.start == pb.START_RANDOM

    class Plain:  # alpha and beta only, as before §1.7: both fields left unspecified
        alpha = [1.0]
        beta = [0.0]

    plain = lanczos_report("job-1", 40, "w3", Plain()).lanczos
    assert plain.start == pb.START_UNSPECIFIED and plain.operator == pb.OPERATOR_UNSPECIFIED
    probe.operator = "fisher"
    with pytest.raises(ValueError, match=r"^operator: must be one of hessian, preconditioned \(got 'fisher'\)$"):
        lanczos_report("job-1", 40, "w3", probe)
