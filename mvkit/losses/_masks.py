"""Shared checks and masked reductions for the similarity-matrix losses.

Every contrastive loss in mvkit takes ``sim[i, j]`` (text i vs video j) and a boolean
``pos`` mask; the helpers here validate that pair once and provide masked max /
log-sum-exp reductions that stay finite (no NaN gradients) when a row has no negatives.
"""

from __future__ import annotations

import torch

# A finite stand-in for -inf: masked entries never win a max and add exp(-1e30) = 0 to a sum,
# yet their gradients stay finite where a whole row is masked.
NEG_FILL = -1e30


def check_sim_pos(sim: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``sim`` [Bt, Bv] and ``pos`` [Bt, Bv]; return (float32-or-wider sim, bool pos).

    Losses are computed in at least float32 so that AMP half-precision similarities do not
    overflow in exp(); at least one positive pair is required (otherwise the mean over
    positive pairs is undefined and the batch is almost certainly mis-built).
    """
    if sim.dim() != 2:
        raise ValueError(f"sim must be 2-D [texts, videos], got shape {tuple(sim.shape)}")
    if pos.shape != sim.shape:
        raise ValueError(
            f"pos shape {tuple(pos.shape)} does not match sim shape {tuple(sim.shape)}"
        )
    pos = pos.to(device=sim.device, dtype=torch.bool)
    if not bool(pos.any()):
        raise ValueError("pos has no True entry: every batch needs at least one positive pair")
    return upcast(sim), pos


def upcast(x: torch.Tensor) -> torch.Tensor:
    """Half / bfloat16 -> float32 (exp() in a loss must not overflow); other dtypes unchanged."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def masked_max(x: torch.Tensor, mask: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Max of ``x`` over entries where ``mask`` is True along ``dim``; also return whether any.

    Where no entry is selected the value is ``NEG_FILL`` (callers zero those terms out).
    """
    values = x.masked_fill(~mask, NEG_FILL).amax(dim=dim)
    return values, mask.any(dim=dim)


def masked_logsumexp(x: torch.Tensor, mask: torch.Tensor, dim: int) -> torch.Tensor:
    """log(sum exp(x)) over entries where ``mask`` is True; about ``NEG_FILL`` where none are."""
    return x.masked_fill(~mask, NEG_FILL).logsumexp(dim=dim)
