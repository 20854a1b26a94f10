"""Masked reductions for the similarity-matrix losses.

Masked max / log-sum-exp that stay finite (no NaN gradients) when a row has no negatives.
Input checks live in :mod:`mvkit.losses.base`.
"""

from __future__ import annotations

import torch

# A finite stand-in for -inf: masked entries never win a max and add exp(-1e30) = 0 to a sum,
# yet their gradients stay finite where a whole row is masked.
NEG_FILL = -1e30


def masked_max(x: torch.Tensor, mask: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Max of ``x`` over entries where ``mask`` is True along ``dim``; also return whether any.

    Where no entry is selected the value is ``NEG_FILL`` (callers zero those terms out).
    """
    values = x.masked_fill(~mask, NEG_FILL).amax(dim=dim)
    return values, mask.any(dim=dim)


def masked_logsumexp(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum exp(x)) over entries where ``mask`` is True; about ``NEG_FILL`` where none are."""
    return x.masked_fill(~mask, NEG_FILL).logsumexp(dim=dim)
