"""Random batches with duplicate videos and brute-force helpers shared by the loss tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch


def _make_case(seed: int, n_texts: int = 7, n_cols: int = 6, n_ids: int = 4, dtype=torch.float64):
    """sim [n_texts, n_cols] and pos where columns repeat video ids (duplicates in the batch).

    Each text describes one video id; pos[i, j] = text i's id == column j's id. Ids are
    drawn from a small pool so rows and columns get several positives; every text's id is
    guaranteed to appear among the columns.
    """
    g = torch.Generator().manual_seed(seed)
    col_ids = torch.randint(0, n_ids, (n_cols,), generator=g)
    col_ids[: min(n_ids, n_cols)] = torch.arange(min(n_ids, n_cols))  # every id present
    text_ids = col_ids[torch.randint(0, n_cols, (n_texts,), generator=g)]
    pos = text_ids[:, None] == col_ids[None, :]
    sim = (torch.rand(n_texts, n_cols, generator=g, dtype=dtype) * 2 - 1).requires_grad_(True)
    return sim, pos


def _positive_pairs(sim, pos):
    """Yield (i, j, s_ij, row_negatives, column_negatives) for every positive pair, as floats."""
    s, p = sim.detach().tolist(), pos.tolist()
    for i, row in enumerate(s):
        for j, s_ij in enumerate(row):
            if p[i][j]:
                row_negs = [row[k] for k in range(len(row)) if not p[i][k]]
                col_negs = [s[l][j] for l in range(len(s)) if not p[l][j]]
                yield i, j, s_ij, row_negs, col_negs


def _kernel_sinkhorn(cost, a=None, b=None, eps=0.1, iters=1000):
    """Textbook kernel-domain Sinkhorn in NumPy (fine for moderate eps); uniform marginals by default."""
    n, m = cost.shape
    a = np.full(n, 1 / n) if a is None else a
    b = np.full(m, 1 / m) if b is None else b
    k = np.exp(-cost / eps)
    u = np.ones(n)
    for _ in range(iters):
        v = b / (k.T @ u)
        u = a / (k @ v)
    return u[:, None] * k * v[None, :]


@pytest.fixture
def make_case():
    return _make_case


@pytest.fixture
def positive_pairs():
    return _positive_pairs


@pytest.fixture
def kernel_sinkhorn():
    return _kernel_sinkhorn
