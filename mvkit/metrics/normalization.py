"""Test-time similarity normalisation: explicit, because it changes the protocol.

Some papers re-weight the test similarity matrix with information from *other test
queries* before ranking (dual softmax, query-bank normalisation). That is not the same
task as ranking each query on its own, so mvkit never does it silently: it is an option
recorded in ``Protocol.normalization`` and reported next to every number it produces.
"""
from __future__ import annotations

from typing import Any

import torch

from mvkit.metrics.ranks import _as_tensor


def dual_softmax(sim: Any, temperature: float = 0.01, query_dim: int = 0) -> torch.Tensor:
    """Dual-softmax inference prior (Cheng et al. 2021, CAMoE, arXiv:2109.04290).

    Returns ``sim * softmax(sim / temperature, dim=query_dim)``: each score is weighted by
    how strongly that gallery item prefers this query over the other queries. For a
    text->video matrix ``[Q_text, V]`` the prior is normalised over the captions
    (``query_dim=0``). It needs every test query at once (a transductive protocol): record
    it as ``Protocol(normalization="dual_softmax")``. For large sets use
    ``text_video_ranks(..., normalization="dual_softmax")``, which streams the same
    computation without building the full matrix.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    s = _as_tensor(sim, "sim").float()
    return s * torch.softmax(s / temperature, dim=query_dim)
