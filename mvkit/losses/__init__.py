"""The literature's retrieval losses, one module per family, registered by name.

Contract (docs/DESIGN.md): ``sim[i, j]`` is the similarity of text i and video j and
``pos[i, j]`` is True where text i describes video j; the same video twice in a batch is a
positive, never a negative. Each loss class declares what ``forward`` takes in its
``inputs`` attribute (``("sim", "pos")`` for the contrastive family); see
:mod:`mvkit.losses.base` for the registry and the shared input checks.
"""

from __future__ import annotations

from mvkit.losses.base import (
    LOSSES,
    SIM_POS,
    RetrievalLoss,
    check_same_shape,
    check_sim_pos,
    create_loss,
    get_loss,
    register_loss,
)
from mvkit.losses.c2kd import C2KDLoss
from mvkit.losses.cl2cm import CL2CMLoss
from mvkit.losses.dcot import DCOTLoss
from mvkit.losses.hinge import HingeLoss
from mvkit.losses.infonce import InfoNCE
from mvkit.losses.leccr import LECCRLoss
from mvkit.losses.nrccr import NRCCRLoss
from mvkit.losses.partial_order import PartialOrderLoss, PartialOrderOTLoss
from mvkit.losses.weighted_rank import WeightedRankHinge

__all__ = [
    "LOSSES",
    "SIM_POS",
    "C2KDLoss",
    "CL2CMLoss",
    "DCOTLoss",
    "HingeLoss",
    "InfoNCE",
    "LECCRLoss",
    "NRCCRLoss",
    "PartialOrderLoss",
    "PartialOrderOTLoss",
    "RetrievalLoss",
    "WeightedRankHinge",
    "check_same_shape",
    "check_sim_pos",
    "create_loss",
    "get_loss",
    "register_loss",
]
