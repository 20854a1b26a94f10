"""Entropic optimal transport (Sinkhorn) in the log domain, pure torch.

Used by the OT-weighted partial-order loss (RUDDER) and DCOT's pair confidences. The
plan is computed without gradients: both losses use it as a weighting, not as a term.
"""

from __future__ import annotations

import math

import torch


@torch.no_grad()
def sinkhorn(
    cost: torch.Tensor,
    a: torch.Tensor | None = None,
    b: torch.Tensor | None = None,
    epsilon: float = 0.05,
    n_iters: int = 100,
    tol: float = 1e-6,
) -> torch.Tensor:
    r"""Transport plan P minimising <P, C> - epsilon H(P) with P 1 = a, P^T 1 = b.

    Log-domain Sinkhorn-Knopp (Cuturi 2013; Peyre & Cuturi, "Computational OT", alg. 4.2 in
    the log domain): with potentials f, g,

        f <- epsilon log a - epsilon logsumexp_j((g_j - C_ij) / epsilon)
        g <- epsilon log b - epsilon logsumexp_i((f_i - C_ij) / epsilon)
        P_ij = exp((f_i + g_j - C_ij) / epsilon)

    which stays finite for small epsilon where the kernel exp(-C / epsilon) underflows.
    Iterates until the row-marginal error (L1) is below ``tol`` or ``n_iters`` is reached.

    Args:
        cost: C [n, m] (any real values; only differences within rows/columns matter).
        a, b: marginals [n], [m], positive, equal sums; uniform 1/n, 1/m by default.
        epsilon: entropic regularisation (larger = smoother plan).
        n_iters: maximum number of (f, g) updates.
        tol: stopping threshold on sum_i |P_i. - a_i|.
    """
    if cost.dim() != 2:
        raise ValueError(f"cost must be 2-D, got shape {tuple(cost.shape)}")
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    c = cost.detach().to(torch.float64 if cost.dtype == torch.float64 else torch.float32)
    n, m = c.shape
    a = torch.full((n,), 1.0 / n, dtype=c.dtype, device=c.device) if a is None else a.to(c)
    b = torch.full((m,), 1.0 / m, dtype=c.dtype, device=c.device) if b is None else b.to(c)
    if (a <= 0).any() or (b <= 0).any():
        raise ValueError("sinkhorn marginals must be strictly positive")
    if not math.isclose(float(a.sum()), float(b.sum()), rel_tol=1e-4):
        raise ValueError(
            f"marginals must have equal mass, got {float(a.sum())} and {float(b.sum())}"
        )
    log_a, log_b = a.log(), b.log()
    f = torch.zeros_like(a)
    g = torch.zeros_like(b)
    for _ in range(n_iters):
        f = epsilon * (log_a - torch.logsumexp((g[None, :] - c) / epsilon, dim=1))
        g = epsilon * (log_b - torch.logsumexp((f[:, None] - c) / epsilon, dim=0))
        # After the g-update columns are exact; check the rows.
        plan = ((f[:, None] + g[None, :] - c) / epsilon).exp()
        if float((plan.sum(dim=1) - a).abs().sum()) < tol:
            break
    return ((f[:, None] + g[None, :] - c) / epsilon).exp().to(cost.dtype)
