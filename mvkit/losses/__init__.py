"""The literature's retrieval losses, one module per family, behind ``create_loss``.

Contract (docs/DESIGN.md): ``sim[i, j]`` is the similarity of text i and video j and
``pos[i, j]`` is True where text i describes video j; the same video twice in a batch is a
positive, never a negative. Losses with other inputs document them on their class.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from torch import nn

from mvkit.losses.c2kd import C2KDLoss
from mvkit.losses.cl2cm import CL2CMLoss
from mvkit.losses.dcot import DCOTLoss
from mvkit.losses.hinge import HingeLoss
from mvkit.losses.infonce import InfoNCE
from mvkit.losses.leccr import LECCRLoss
from mvkit.losses.nrccr import NRCCRLoss
from mvkit.losses.partial_order import PartialOrderLoss, PartialOrderOTLoss
from mvkit.losses.weighted_rank import WeightedRankHinge

# name -> factory; aliases point at the same factory with the paper's variant fixed.
LOSSES: dict[str, Callable[..., nn.Module]] = {
    "infonce": InfoNCE,
    "hinge": HingeLoss,
    "vse": partial(HingeLoss, max_violation=False),
    "vse++": partial(HingeLoss, max_violation=True),
    "weighted_rank": WeightedRankHinge,
    "partial_order": PartialOrderLoss,
    "partial_order_ot": PartialOrderOTLoss,
    "c2kd": C2KDLoss,
    "leccr": LECCRLoss,
    "nrccr": NRCCRLoss,
    "dcot": DCOTLoss,
    "cl2cm": CL2CMLoss,
}


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def create_loss(name: str, **kw: Any) -> nn.Module:
    """Build the loss registered as ``name`` (case/hyphen-insensitive) with keyword overrides.

    Unknown names raise ``ValueError`` listing the registered ones, so a typo in a config
    fails at start-up rather than mid-run.
    """
    key = _normalise(name)
    table = {_normalise(k): v for k, v in LOSSES.items()}
    if key not in table:
        raise ValueError(f"unknown loss {name!r}; registered: {', '.join(sorted(LOSSES))}")
    return table[key](**kw)


__all__ = [
    "LOSSES",
    "C2KDLoss",
    "CL2CMLoss",
    "DCOTLoss",
    "HingeLoss",
    "InfoNCE",
    "LECCRLoss",
    "NRCCRLoss",
    "PartialOrderLoss",
    "PartialOrderOTLoss",
    "WeightedRankHinge",
    "create_loss",
]
