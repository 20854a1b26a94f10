"""Span geometry for grounding, in NumPy (metrics) and torch (losses and matching).

Spans are ``[..., 2]`` arrays. ``(start, end)`` ("se") is how datasets and metrics write
them; models predict ``(centre, width)`` ("cw") normalised by the video's duration, as
Moment-DETR does. Temporal IoU of ``a = [s1, e1]`` and ``b = [s2, e2]`` is
``max(0, min(e1, e2) - max(s1, s2)) / (max(e1, e2) - min(s1, s2))`` (0 when the union is
empty); the generalised IoU (Rezatofighi et al. 2019, in 1-D) subtracts the share of the
enclosing interval that the union leaves empty: ``IoU - (C - U) / C`` with ``C`` the
enclosing length, so disjoint spans still get a gradient toward each other.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def cw_to_se(x: Tensor) -> Tensor:
    """``(centre, width) -> (start, end)`` on the last axis."""
    c, w = x.unbind(-1)
    return torch.stack([c - 0.5 * w, c + 0.5 * w], dim=-1)


def se_to_cw(x: Tensor) -> Tensor:
    """``(start, end) -> (centre, width)`` on the last axis."""
    s, e = x.unbind(-1)
    return torch.stack([0.5 * (s + e), e - s], dim=-1)


def iou_cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Temporal IoU of every span of ``a [..., N, 2]`` with every span of ``b [..., M, 2]`` -> ``[..., N, M]``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    s1, e1 = a[..., :, None, 0], a[..., :, None, 1]
    s2, e2 = b[..., None, :, 0], b[..., None, :, 1]
    inter = np.clip(np.minimum(e1, e2) - np.maximum(s1, s2), 0.0, None)
    union = (e1 - s1) + (e2 - s2) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def iou_paired(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Temporal IoU of ``a[i]`` with ``b[i]``: ``[..., 2] x [..., 2] -> [...]``."""
    return iou_cross(np.asarray(a)[..., None, :], np.asarray(b)[..., None, :])[..., 0, 0]


def torch_iou_giou(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """(IoU, generalised IoU) of every ``a [N, 2]`` with every ``b [M, 2]`` (start, end) -> ``[N, M]`` each."""
    s1, e1 = a[:, None, 0], a[:, None, 1]
    s2, e2 = b[None, :, 0], b[None, :, 1]
    inter = (torch.minimum(e1, e2) - torch.maximum(s1, s2)).clamp(min=0)
    union = (e1 - s1) + (e2 - s2) - inter
    iou = inter / union.clamp(min=1e-8)
    enclose = (torch.maximum(e1, e2) - torch.minimum(s1, s2)).clamp(min=1e-8)
    return iou, iou - (enclose - union) / enclose


def torch_iou_paired(a: Tensor, b: Tensor) -> Tensor:
    """IoU of ``a[i]`` with ``b[i]`` (start, end): ``[N, 2] x [N, 2] -> [N]``."""
    inter = (torch.minimum(a[:, 1], b[:, 1]) - torch.maximum(a[:, 0], b[:, 0])).clamp(min=0)
    union = (a[:, 1] - a[:, 0]) + (b[:, 1] - b[:, 0]) - inter
    return inter / union.clamp(min=1e-8)
