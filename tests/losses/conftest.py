"""Random batches with duplicate videos, shared by the loss tests."""
from __future__ import annotations

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


@pytest.fixture
def make_case():
    return _make_case
